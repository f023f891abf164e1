from django.urls import path

from . import file_views

app_name = "files"

urlpatterns = [
    path("plans/<id:pk>/versions/<id:number>/export.<str:kind>", file_views.version_export, name="version_export"),
    path("plans/<id:pk>/attachments/", file_views.attachment_list, name="attachment_list"),
    path(
        "plans/<id:pk>/attachments/<id:attachment_id>/download/",
        file_views.attachment_download, name="attachment_download",
    ),
    path(
        "plans/<id:pk>/attachments/<id:attachment_id>/delete/",
        file_views.attachment_delete_view, name="attachment_delete",
    ),
    path("exports/verify/", file_views.verify_export, name="verify"),
]
