"""An incident's post-incident report: a PDF issued once when the incident closes, recorded in bc_issued_file
and verifiable like the exports (kind `incident_report`, marking `final`, the organisation's file: no plan).

Closing the incident (`plans.incidents.incident_close`) asks a background task to render it after the
commit (`incident_report_enqueue`). The task renders the incident as recorded (the plans activated and
their versions, the recovery of each affected process against the activated version's snapshot, the
timeline, the review and its findings), stores it and writes one `IssuedFile` row, once: the unique
key (incident, kind) keeps the first of two renders. The download page says "being prepared" until
then, and plainly when the task failed or no worker picked it up. The same incident gives the same
bytes: dates come from the incident, nothing depends on the clock or the machine.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bcp_site.text import display_name

from ..incident_display import Process, process_statuses
from ..models import Finding, Incident, IncidentActivation, IncidentRecovery, IssuedFile
from ..recovery import int_or_none, minutes_text
from ..services import ServiceError, audit_record
from ..storage import delete_files_on_commit
from .issued import _read_storage, _store_new, sha256_bytes
from .render import (
    _css_string,
    format_utc,
    pdf_from_template,
)
from .report import ReportState

logger = logging.getLogger(__name__)

KIND = IssuedFile.Kind.INCIDENT_REPORT
MARKING = IssuedFile.Marking.FINAL


def incident_report_filename(incident: Incident) -> str:
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in incident.title).strip(" .") or "incident"
    return f"{safe[:80]} post-incident report.pdf"


def _processes(activation: IncidentActivation) -> list[Process]:
    rows = []
    for raw in (activation.version.content_json or {}).get("processes") or []:
        if isinstance(raw, dict):
            rows.append(Process(
                ref=int_or_none(raw.get("id")), name=str(raw.get("name") or ""), description="", impact="",
                rto_minutes=int_or_none(raw.get("rto_minutes")), rpo_minutes=int_or_none(raw.get("rpo_minutes")),
                mtpd_minutes=int_or_none(raw.get("mtpd_minutes")),
            ))
    return rows


def incident_report_context(incident: Incident) -> dict[str, Any]:
    """What the report shows, as plain data (a handful of queries, none per row)."""
    incident = Incident.objects.select_related("org", "declared_by_user", "stood_down_by_user",
                                               "closed_by_user").get(pk=incident.pk)
    closed = incident.closed_at_utc or incident.declared_at_utc
    activations = list(incident.activations.select_related("plan", "version", "activated_by_user")
                       .defer("plan__draft_content_json").order_by("activated_at_utc", "id"))
    recoveries: dict[int, list[IncidentRecovery]] = {}
    for row in IncidentRecovery.objects.filter(activation__incident=incident).order_by("disrupted_at_utc", "id"):
        recoveries.setdefault(row.activation_id, []).append(row)
    plans = []
    for activation in activations:
        statuses = [s for s in process_statuses(_processes(activation), recoveries.get(activation.pk, []), now=closed)
                    if s.recovery is not None]
        plans.append({
            "title": activation.plan.title, "version_number": activation.version.version_number,
            "approved": activation.version_approved, "activated": format_utc(activation.activated_at_utc),
            "activated_by": display_name(activation.activated_by_user),
            "recoveries": [{
                "name": s.process.name, "rto": s.process.rto, "mtpd": s.process.mtpd,
                "disrupted": format_utc(s.recovery.disrupted_at_utc),
                "recovered": format_utc(s.recovery.recovered_at_utc) if s.recovery.recovered_at_utc else "",
                "achieved": minutes_text(s.minutes) if s.recovery.recovered_at_utc else "",
                "outcome": s.outcome if s.recovery.recovered_at_utc else "",
                "outcome_label": s.outcome_label if s.recovery.recovered_at_utc else "Not recorded as recovered",
                "notes": s.recovery.notes,
            } for s in statuses],
        })
    events = [{"at": format_utc(e.at_utc).removesuffix(" UTC"), "kind": e.get_kind_display(),
               "by": display_name(e.author_user),
               "text": e.text}
              for e in incident.events.select_related("author_user").order_by("at_utc", "id")]
    findings = [{"description": f.description, "plan": f.plan.title, "severity": f.get_severity_display(),
                 "owner": display_name(f.owner_user), "due_on": f.due_on.isoformat()}
                for f in Finding.objects.filter(incident=incident).select_related("plan", "owner_user")
                .defer("plan__draft_content_json").order_by("id")]
    return {
        "title": f"{incident.title}: post-incident report",
        "incident": incident,
        "organisation": incident.org.name,
        "severity": incident.get_severity_display(),
        "declared": format_utc(incident.declared_at_utc),
        "declared_by": display_name(incident.declared_by_user),
        "stood_down": format_utc(incident.stood_down_at_utc),
        "stood_down_by": display_name(incident.stood_down_by_user),
        "closed": format_utc(incident.closed_at_utc),
        "closed_by": display_name(incident.closed_by_user),
        "plans": plans,
        "events": events,
        "findings": findings,
        "css_running_title": _css_string(f"{incident.org.name} · {incident.title}"),
        "created_iso": closed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def render_incident_report(incident: Incident) -> bytes:
    """The report's PDF (the same incident, the same bytes). Raises ServiceError "renderer_unavailable"
    when WeasyPrint cannot load its libraries."""
    with timezone.override(UTC):
        context = incident_report_context(incident)
    return pdf_from_template("plans/incidents/print/report.html", context, identifier=f"bcp-incident-{incident.pk}")


# --- issuing and reading -------------------------------------------------------------------------------


def incident_report_find(incident: Incident) -> IssuedFile | None:
    """The incident's issued report, if any (one query)."""
    return IssuedFile.objects.filter(incident_id=incident.pk, kind=KIND).first()


def incident_report_store(*, incident: Incident, actor=None) -> tuple[IssuedFile, bool]:
    """Render, store and record the report of a closed incident, once; (row, issued now). Audits
    `export_created` in the organisation's trail."""
    existing = incident_report_find(incident)
    if existing is not None:
        return existing, False
    if incident.status != Incident.Status.CLOSED:
        raise ServiceError("The post-incident report is issued once the incident is closed.", code="not_closed")
    data = render_incident_report(incident)
    digest = sha256_bytes(data)
    path, written = _store_new(f"exports/org-{incident.org_id}/incident-{incident.pk}-report-{digest[:16]}.pdf", data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                issued = IssuedFile.objects.create(
                    kind=KIND, org_id=incident.org_id, plan=None, incident=incident, marking=MARKING, sha256=digest,
                    storage_path=path, size_bytes=len(data), issued_at_utc=timezone.now(),
                    issued_by_user=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            issued = IssuedFile.objects.get(incident_id=incident.pk, kind=KIND)
            if written and path != issued.storage_path:
                delete_files_on_commit([path])
            return issued, False
        audit_record(org=incident.org, actor=actor, action="export_created", details={
            "incident": incident.title, "id": incident.pk, "format": "pdf", "marking": MARKING, "sha256": digest,
            "path": path,
        })
    return issued, True


def incident_report_read(*, issued: IssuedFile, incident: Incident, actor=None) -> bytes:
    """The report's bytes, checked against the recorded SHA-256; a changed or missing file is refused
    (ServiceError "integrity" / "missing") and audited: evidence is never replaced."""
    data = _read_storage(issued.storage_path)
    if data is not None and sha256_bytes(data) == issued.sha256:
        return data
    action, code = ("export_integrity_failure", "integrity") if data is not None else ("export_missing", "missing")
    audit_record(org=incident.org, actor=actor, action=action, details={
        "incident": incident.title, "id": incident.pk, "format": "pdf", "path": issued.storage_path,
        "recorded_sha256": issued.sha256,
    })
    what = "no longer matches its recorded SHA-256" if data is not None else "is missing from the file store"
    raise ServiceError(f"The stored report of “{incident.title}” {what}, so it is not served. An administrator "
                       "has to restore it from a backup.", code=code)


def incident_report_state(incident: Incident) -> ReportState:
    """The report's state (one query, and the incident's own fields)."""
    return ReportState(issued=incident_report_find(incident), requested_at_utc=incident.report_requested_at_utc,
                       error=incident.report_error)


def incident_report_enqueue(*, incident_id: int, retry: bool = False) -> None:
    """Ask a worker to render the report (after the incident closed); never raises."""
    from .tasks import issue_incident_report  # the task module imports this one

    if retry:
        Incident.objects.filter(pk=incident_id).update(report_requested_at_utc=timezone.now(), report_error="")
    try:
        issue_incident_report.enqueue(incident_id=incident_id)
    except Exception as error:  # noqa: BLE001 - shown on the page; it can be tried again
        logger.exception("the report task of incident %s could not be enqueued", incident_id)
        Incident.objects.filter(pk=incident_id).update(
            report_error=f"The background queue could not be reached ({type(error).__name__}).")


def incident_report_task_run(*, incident_id: int) -> str:
    """The task's work: issue the report now; on failure the error is recorded on the incident and raised."""
    incident = Incident.objects.select_related("org").filter(pk=incident_id).first()
    if incident is None:
        return ""
    try:
        issued, _new = incident_report_store(incident=incident)
    except Exception as error:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        Incident.objects.filter(pk=incident_id).update(report_error=str(message)[:1000])
        raise
    Incident.objects.filter(pk=incident_id).update(report_error="")
    return issued.sha256
