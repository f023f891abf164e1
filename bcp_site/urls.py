from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("plans.urls")),
    path("reviews/", include("reviews.urls")),
]

handler400 = "bcp_site.views.bad_request"
handler403 = "bcp_site.views.permission_denied"
handler404 = "bcp_site.views.page_not_found"
handler500 = "bcp_site.views.server_error"
