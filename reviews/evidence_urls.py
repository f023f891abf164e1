"""A plan's evidence for auditors (reviews.evidence_views)."""

from django.urls import path

from . import evidence_views, report_views

app_name = "evidence"

urlpatterns = [
    path("plans/<id:pk>/evidence/", evidence_views.plan_evidence, name="plan_evidence"),
    path("plans/<id:pk>/evidence/packs/", report_views.evidence_pack_request, name="pack_request"),
    path("plans/<id:pk>/evidence/packs/<id:request_id>/", report_views.evidence_pack, name="pack"),
    path("plans/<id:pk>/evidence/packs/<id:request_id>/retry/", report_views.evidence_pack_retry, name="pack_retry"),
    path("plans/<id:pk>/evidence/packs/<id:request_id>/download", report_views.evidence_pack_download,
         name="pack_download"),
]
