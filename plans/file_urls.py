from django.urls import path

from . import file_views

app_name = "files"

urlpatterns = [
    path("plans/<int:pk>/versions/<int:number>/export.<str:kind>", file_views.version_export, name="version_export"),
    path("plans/<int:pk>/attachments/", file_views.attachment_list, name="attachment_list"),
    path(
        "plans/<int:pk>/attachments/<int:attachment_id>/download/",
        file_views.attachment_download, name="attachment_download",
    ),
    path(
        "plans/<int:pk>/attachments/<int:attachment_id>/delete/",
        file_views.attachment_delete_view, name="attachment_delete",
    ),
    path("exports/verify/", file_views.verify_export, name="verify"),
]
