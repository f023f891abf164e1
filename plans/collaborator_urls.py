from django.urls import path

from . import vendor_views as views

app_name = "collaborators"

urlpatterns = [
    path("plans/<id:pk>/collaborators/new/", views.collaborator_add, name="collaborator_add"),
    path("plans/<id:pk>/collaborators/<id:collaborator_id>/edit/", views.collaborator_edit, name="collaborator_edit"),
    path("plans/<id:pk>/collaborators/<id:collaborator_id>/remove/", views.collaborator_remove,
         name="collaborator_remove"),
]
