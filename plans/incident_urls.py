from django.urls import path

from . import incident_views as views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/<id:incident_id>/", views.incident_detail, name="incident_detail"),
    path("incidents/<id:incident_id>/activate/", views.incident_activate, name="incident_activate"),
    path("incidents/<id:incident_id>/timeline/", views.incident_timeline, name="incident_timeline"),
    path("incidents/<id:incident_id>/recovery/", views.incident_recovery, name="incident_recovery"),
    path("incidents/<id:incident_id>/stand-down/", views.incident_stand_down, name="incident_stand_down"),
    path("incidents/<id:incident_id>/review/", views.incident_review, name="incident_review"),
    path("incidents/<id:incident_id>/close/", views.incident_close, name="incident_close"),
    path("incidents/<id:incident_id>/findings/new/", views.incident_finding_create, name="incident_finding_create"),
    path("incidents/<id:incident_id>/report.pdf", views.incident_report, name="incident_report"),
    path("plans/<id:pk>/versions/<id:number>/break-glass.html", views.breakglass, {"fmt": "html"},
         name="breakglass_html"),
    path("plans/<id:pk>/versions/<id:number>/break-glass.pdf", views.breakglass, {"fmt": "pdf"},
         name="breakglass_pdf"),
]
