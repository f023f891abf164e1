from django.urls import path

from . import vendor_views as views

app_name = "vendors"

urlpatterns = [
    path("vendors/", views.vendor_list, name="vendor_list"),
    path("vendors/new/", views.vendor_create, name="vendor_create"),
    path("vendors/<id:vendor_id>/", views.vendor_detail, name="vendor_detail"),
    path("vendors/<id:vendor_id>/edit/", views.vendor_edit, name="vendor_edit"),
    path("vendors/<id:vendor_id>/remove/", views.vendor_delete, name="vendor_delete"),
]
