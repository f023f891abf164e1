"""A plan's evidence page: the chain an auditor follows (reviews.evidence), read-only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from plans.selectors import get_plan_for_user

from .evidence import evidence_chain, evidence_plan_queryset
from .models import ReportRequest
from .report_forms import EvidencePackForm, pack_versions, recent_requests

EVIDENCE_PERM = "plans.view_audit"  # the evidence is the audit trail's, read in order


@login_required
@require_GET
def plan_evidence(request, pk):
    """Business impact analysis -> versions -> reviews -> acknowledgements -> issued files -> changes ->
    exercises -> findings, each item timestamped and attributed, long lists cut with "see all".

    404 outside the person's organisation, 403 without `plans.view_audit`. A fixed number of
    queries whatever the plan's history (each step of `reviews.evidence` says how many).
    """
    plan = get_plan_for_user(request.user, pk, perm=EVIDENCE_PERM, queryset=evidence_plan_queryset())
    versions = pack_versions(plan)
    return render(request, "reviews/evidence/plan_evidence.html", {
        "plan": plan, "chain": evidence_chain(plan),
        "pack_form": EvidencePackForm(versions=versions,
                                      initial={"version": plan.approved_version.version_number
                                               if plan.approved_version_id else None}),
        "packs": recent_requests(plan=plan, kind=ReportRequest.Kind.EVIDENCE_PACK),
    })
