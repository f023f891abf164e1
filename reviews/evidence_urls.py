"""A plan's evidence for auditors (reviews.evidence_views)."""

from django.urls import path

from . import evidence_views

app_name = "evidence"

urlpatterns = [
    path("plans/<id:pk>/evidence/", evidence_views.plan_evidence, name="plan_evidence"),
]
