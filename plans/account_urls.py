"""Password reset by email (plans.accounts), under accounts/ with Django's own URL names."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import accounts

urlpatterns = [
    path("password_reset/", accounts.PasswordResetRequestView.as_view(), name="password_reset"),
    path("password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
