"""Pages of the files built on request: KPI reports (the dashboard) and evidence packs (the evidence page).

Each request has a page that says "being prepared" (and refreshes itself) until its task has built
the file, then offers the download with its SHA-256; a failed or stuck build can be tried again.
KPI reports need `reviews.view_kpi`, evidence packs `plans.view_audit`, and both belong to the
person's organisation: a request of another organisation (or plan) is a 404.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from plans.exports.pending import WORKER_GRACE
from plans.selectors import get_plan_for_user
from plans.services import ServiceError, audit_record

from .evidence_views import EVIDENCE_PERM
from .kpi_views import _organisation
from .models import ReportRequest
from .report_forms import EvidencePackForm, KpiReportForm, pack_versions
from .report_requests import (
    CONTENT_TYPES,
    RequestState,
    report_build_enqueue,
    report_filename,
    report_request_create,
    report_request_read,
)

Kind = ReportRequest.Kind
PREPARING_REFRESH_SECONDS, STUCK_REFRESH_SECONDS = 3, 15


def _status_page(request, report: ReportRequest, *, back_url: str, back_label: str, download_url: str):
    state = RequestState(report)
    if state.ready:
        return render(request, "reviews/report_ready.html", {
            "report": report, "download_url": download_url, "back_url": back_url, "back_label": back_label,
            "filename": report_filename(report),
        })
    refresh = None if state.failed else STUCK_REFRESH_SECONDS if state.stuck else PREPARING_REFRESH_SECONDS
    response = render(request, "reviews/report_preparing.html", {
        "report": report, "state": state, "refresh": refresh, "back_url": back_url, "back_label": back_label,
        "worker_grace_seconds": int(WORKER_GRACE.total_seconds()),
    }, status=202)
    response["Cache-Control"] = "no-store"
    return response


def _retry(request, report: ReportRequest):
    if RequestState(report).can_retry:
        report_build_enqueue(request_id=report.pk, retry=True)
    return redirect(request.path.rsplit("retry/", 1)[0])


def _download(request, report: ReportRequest):
    if report.issued_file_id is None:
        raise Http404("This file is not ready yet.")
    try:
        data = report_request_read(request=report, actor=request.user)
    except ServiceError as error:
        return render(request, "error.html", {"status": 409, "title": "This file cannot be served",
                                              "message": error.message}, status=409)
    audit_record(plan=report.plan, org=report.org, actor=request.user, action="report_downloaded",
                 details={"file": report.get_kind_display(), "request": report.pk, "sha256": report.issued_file.sha256})
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=report_filename(report),
                            content_type=CONTENT_TYPES[report.kind])
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{report.issued_file.sha256}"'
    response["Cache-Control"] = "private, no-cache"
    return response


# --- KPI reports ------------------------------------------------------------------------------------


def _kpi_report(request, request_id) -> ReportRequest:
    org = _organisation(request)
    return get_object_or_404(ReportRequest.objects.select_related("org", "issued_file"),
                             pk=request_id, org=org, kind=Kind.KPI_REPORT)


@login_required
@require_POST
def kpi_report_request(request):
    org = _organisation(request)
    form = KpiReportForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(error for field_errors in form.errors.values() for error in field_errors)
        messages.error(request, f"No report was asked for: {errors}")
        return redirect("kpi:dashboard")
    try:
        report = report_request_create(kind=Kind.KPI_REPORT, actor=request.user, org=org,
                                       period_from=form.cleaned_data["period_from"],
                                       period_to=form.cleaned_data["period_to"])
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("kpi:dashboard")
    return redirect("kpi:report", request_id=report.pk)


@login_required
@require_GET
def kpi_report(request, request_id):
    report = _kpi_report(request, request_id)
    return _status_page(request, report, back_url=reverse("kpi:dashboard"), back_label="Back to the dashboard",
                        download_url=reverse("kpi:report_download", args=[report.pk]))


@login_required
@require_POST
def kpi_report_retry(request, request_id):
    return _retry(request, _kpi_report(request, request_id))


@login_required
@require_GET
def kpi_report_download(request, request_id):
    return _download(request, _kpi_report(request, request_id))


# --- evidence packs ---------------------------------------------------------------------------------


def _pack(request, pk, request_id) -> ReportRequest:
    plan = get_plan_for_user(request.user, pk, perm=EVIDENCE_PERM)
    return get_object_or_404(ReportRequest.objects.select_related("org", "plan", "version", "issued_file"),
                             pk=request_id, plan=plan, kind=Kind.EVIDENCE_PACK)


@login_required
@require_http_methods(["POST"])
def evidence_pack_request(request, pk):
    plan = get_plan_for_user(request.user, pk, perm=EVIDENCE_PERM)
    versions = pack_versions(plan)
    form = EvidencePackForm(request.POST, versions=versions)
    if not form.is_valid():
        messages.error(request, "Choose a version of this plan for the evidence pack.")
        return redirect("evidence:plan_evidence", pk=plan.pk)
    version = next(v for v in versions if v.version_number == form.cleaned_data["version"])
    version.plan = plan
    report = report_request_create(kind=Kind.EVIDENCE_PACK, actor=request.user, org=plan.org, plan=plan,
                                   version=version)
    return redirect("evidence:pack", pk=plan.pk, request_id=report.pk)


@login_required
@require_GET
def evidence_pack(request, pk, request_id):
    report = _pack(request, pk, request_id)
    return _status_page(request, report, back_url=reverse("evidence:plan_evidence", args=[pk]),
                        back_label="Back to the evidence",
                        download_url=reverse("evidence:pack_download", args=[pk, report.pk]))


@login_required
@require_POST
def evidence_pack_retry(request, pk, request_id):
    return _retry(request, _pack(request, pk, request_id))


@login_required
@require_GET
def evidence_pack_download(request, pk, request_id):
    return _download(request, _pack(request, pk, request_id))
