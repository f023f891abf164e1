from django.urls import path

from . import person_search, views

app_name = "plans"

urlpatterns = [
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("search/", views.search, name="search"),
    path("people/search/", person_search.person_search, name="person_search"),
    path("plans/<id:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<id:pk>/sections/<slug:section_key>/edit/", views.section_edit, name="section_edit"),
    path("plans/<id:pk>/contacts/new/", views.row_edit, {"kind": "contact"}, name="contact_add"),
    path("plans/<id:pk>/contacts/<id:row_id>/edit/", views.row_edit, {"kind": "contact"}, name="contact_edit"),
    path("plans/<id:pk>/contacts/<id:row_id>/remove/", views.row_delete, {"kind": "contact"},
         name="contact_delete"),
    path("plans/<id:pk>/processes/new/", views.row_edit, {"kind": "process"}, name="process_add"),
    path("plans/<id:pk>/processes/<id:row_id>/edit/", views.row_edit, {"kind": "process"}, name="process_edit"),
    path("plans/<id:pk>/processes/<id:row_id>/remove/", views.row_delete, {"kind": "process"},
         name="process_delete"),
    path("plans/<id:pk>/risks/new/", views.row_edit, {"kind": "risk"}, name="risk_add"),
    path("plans/<id:pk>/risks/<id:row_id>/edit/", views.row_edit, {"kind": "risk"}, name="risk_edit"),
    path("plans/<id:pk>/risks/<id:row_id>/remove/", views.row_delete, {"kind": "risk"}, name="risk_delete"),
    path("plans/<id:pk>/resources/new/", views.row_edit, {"kind": "resource"}, name="resource_add"),
    path("plans/<id:pk>/resources/<id:row_id>/edit/", views.row_edit, {"kind": "resource"}, name="resource_edit"),
    path("plans/<id:pk>/resources/<id:row_id>/remove/", views.row_delete, {"kind": "resource"},
         name="resource_delete"),
    path("plans/<id:pk>/template/", views.template_change, name="template_change"),
    path("plans/<id:pk>/versions/", views.version_list, name="version_list"),
    path("plans/<id:pk>/versions/new/", views.version_create, name="version_create"),
    path("plans/<id:pk>/versions/compare/", views.version_compare, name="version_compare"),
    path("plans/<id:pk>/versions/<id:number>/", views.version_detail, name="version_detail"),
]
