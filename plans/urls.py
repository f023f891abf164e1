from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/sections/<slug:section_key>/edit/", views.section_edit, name="section_edit"),
    path("plans/<int:pk>/contacts/new/", views.row_edit, {"kind": "contact"}, name="contact_add"),
    path("plans/<int:pk>/contacts/<int:row_id>/edit/", views.row_edit, {"kind": "contact"}, name="contact_edit"),
    path("plans/<int:pk>/contacts/<int:row_id>/remove/", views.row_delete, {"kind": "contact"},
         name="contact_delete"),
    path("plans/<int:pk>/processes/new/", views.row_edit, {"kind": "process"}, name="process_add"),
    path("plans/<int:pk>/processes/<int:row_id>/edit/", views.row_edit, {"kind": "process"}, name="process_edit"),
    path("plans/<int:pk>/processes/<int:row_id>/remove/", views.row_delete, {"kind": "process"},
         name="process_delete"),
    path("plans/<int:pk>/risks/new/", views.row_edit, {"kind": "risk"}, name="risk_add"),
    path("plans/<int:pk>/risks/<int:row_id>/edit/", views.row_edit, {"kind": "risk"}, name="risk_edit"),
    path("plans/<int:pk>/risks/<int:row_id>/remove/", views.row_delete, {"kind": "risk"}, name="risk_delete"),
    path("plans/<int:pk>/versions/", views.version_list, name="version_list"),
    path("plans/<int:pk>/versions/new/", views.version_create, name="version_create"),
    path("plans/<int:pk>/versions/compare/", views.version_compare, name="version_compare"),
    path("plans/<int:pk>/versions/<int:number>/", views.version_detail, name="version_detail"),
]
