from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.review_detail, name="review_detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/request-changes/", views.request_changes, name="request_changes"),
    path("plans/<int:pk>/submit/", views.submit, name="submit"),
    path("plans/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("plans/<int:pk>/archive/", views.archive, name="archive"),
    path("plans/<int:pk>/restore/", views.restore, name="restore"),
]
