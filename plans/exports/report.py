"""An exercise's after-action report: a PDF issued once, recorded in bc_issued_file, verifiable like exports.

Issuing the report (`plans.exercises.exercise_report_issue`) marks the exercise reported and, after
the commit, asks a background task to render it (`exercise_report_enqueue`); nobody waits for
WeasyPrint in a request. The task renders the PDF from the exercise as recorded (its objectives and
results, the recovery times against the exercised version's snapshot, its findings), stores it,
and writes one `IssuedFile` row (kind `exercise_report`, marking `final`), once: the unique key
(exercise, kind) keeps the first of two renders. The download page says "being prepared" until
the row exists, and says so plainly when the task failed or no worker picked it up (the
exercise's `report_requested_at_utc` and `report_error`).

The same exercise gives the same bytes: dates come from the exercise (`reported_at_utc`), the
fonts are the shipped ones, nothing depends on the clock or the machine. Reading a report checks
its bytes against the recorded SHA-256; a changed or missing file is refused, never replaced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bcp_site.text import display_name

from ..exercises import exercise_recoveries
from ..models import Exercise, IssuedFile
from ..services import ServiceError, audit_record
from ..storage import delete_files_on_commit
from .issued import _read_storage, _store_new, sha256_bytes
from .pending import WORKER_GRACE
from .render import (
    _css_string,
    format_utc,
    pdf_from_template,
)

logger = logging.getLogger(__name__)

KIND = IssuedFile.Kind.EXERCISE_REPORT
MARKING = IssuedFile.Marking.FINAL
CONTENT_TYPE = "application/pdf"


def report_filename(exercise: Exercise) -> str:
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in exercise.title).strip(" .") or "exercise"
    return f"{safe[:80]} after-action report.pdf"


def exercise_report_context(exercise: Exercise) -> dict[str, Any]:
    """What the report shows, as plain data (a handful of queries, none per row)."""
    exercise = (Exercise.objects.select_related("plan__org", "version", "facilitator_user")
                .get(pk=exercise.pk))
    plan = exercise.plan
    reported = exercise.reported_at_utc or exercise.created_at_utc
    participants = [display_name(row.user) for row in
                    exercise.participant_rows.select_related("user").order_by("user__first_name",
                                                                                "user__last_name", "user__username")]
    outsiders = [line for line in exercise.external_participants.splitlines() if line.strip()]
    findings = [{
        "description": finding.description, "severity": finding.get_severity_display(),
        "owner": display_name(finding.owner_user), "due_on": finding.due_on.isoformat(),
    } for finding in exercise.findings.select_related("owner_user").order_by("id")]
    title = f"{exercise.title}: after-action report"
    return {
        "title": title,
        "exercise": exercise,
        "plan_title": plan.title,
        "organisation": plan.org.name if plan.org else "",
        "version_number": exercise.version.version_number,
        "type": exercise.get_exercise_type_display(),
        "scheduled_on": exercise.scheduled_on.isoformat(),
        "held_on": exercise.held_on.isoformat() if exercise.held_on else "",
        "reported": format_utc(reported),
        "facilitator": display_name(exercise.facilitator_user),
        "participants": participants + outsiders,
        "objectives": list(exercise.objectives.order_by("position")),
        "recoveries": [row for row in exercise_recoveries(exercise) if row.achieved_minutes is not None],
        "findings": findings,
        "css_running_title": _css_string(f"{plan.title} · {exercise.title}"),
        "created_iso": reported.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def render_exercise_report(exercise: Exercise) -> bytes:
    """The report's PDF (the same exercise, the same bytes). Raises ServiceError "renderer_unavailable"
    when WeasyPrint cannot load its libraries (see `plans.exports.render.render_pdf`)."""
    with timezone.override(UTC):
        context = exercise_report_context(exercise)
    return pdf_from_template("plans/exercises/print/report.html", context, identifier=f"bcp-exercise-{exercise.pk}")


# --- issuing and reading ----------------------------------------------------------------------------


def exercise_report_find(exercise: Exercise) -> IssuedFile | None:
    """The exercise's issued report, if any (one query)."""
    return IssuedFile.objects.filter(exercise_id=exercise.pk, kind=KIND).first()


def exercise_report_store(*, exercise: Exercise, actor=None) -> tuple[IssuedFile, bool]:
    """Render, store and record the report of a reported (or closed) exercise, once; (row, issued now).

    An issued report is returned as it is. If another render recorded it meanwhile, theirs stands
    and this copy is dropped. Audits `export_created` with the exercise.
    """
    existing = exercise_report_find(exercise)
    if existing is not None:
        return existing, False
    if exercise.status not in (Exercise.Status.REPORTED, Exercise.Status.CLOSED):
        raise ServiceError("The report of an exercise is issued once it is reported.", code="not_reported")
    data = render_exercise_report(exercise)
    digest = sha256_bytes(data)
    path, written = _store_new(f"exports/plan-{exercise.plan_id}/exercise-{exercise.pk}-report-{digest[:16]}.pdf",
                               data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                issued = IssuedFile.objects.create(
                    kind=KIND, org_id=exercise.plan.org_id, plan_id=exercise.plan_id, exercise=exercise,
                    marking=MARKING, sha256=digest, storage_path=path, size_bytes=len(data),
                    issued_at_utc=timezone.now(),
                    issued_by_user=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            issued = IssuedFile.objects.get(exercise_id=exercise.pk, kind=KIND)
            if written and path != issued.storage_path:
                delete_files_on_commit([path])
            return issued, False
        audit_record(plan=exercise.plan, actor=actor, action="export_created", details={
            "exercise": exercise.title, "format": "pdf", "marking": MARKING, "sha256": digest, "path": path,
        })
    return issued, True


def exercise_report_read(*, issued: IssuedFile, exercise: Exercise, actor=None) -> bytes:
    """The report's bytes, checked against the recorded SHA-256; a changed or missing file is refused
    (ServiceError "integrity" / "missing") and audited: evidence is never replaced."""
    data = _read_storage(issued.storage_path)
    if data is not None and sha256_bytes(data) == issued.sha256:
        return data
    action, code = ("export_integrity_failure", "integrity") if data is not None else ("export_missing", "missing")
    audit_record(plan=exercise.plan, actor=actor, action=action, details={
        "exercise": exercise.title, "format": "pdf", "path": issued.storage_path, "recorded_sha256": issued.sha256,
    })
    what = "no longer matches its recorded SHA-256" if data is not None else "is missing from the file store"
    raise ServiceError(f"The stored report of “{exercise.title}” {what}, so it is not served. An administrator "
                       "has to restore it from a backup.", code=code)


# --- the background task and the "being prepared" page ------------------------------------------------


@dataclass(frozen=True)
class ReportState:
    """Where an exercise's report is: issued, being prepared, failed, or waiting for a worker."""

    issued: IssuedFile | None = None
    requested_at_utc: object = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.issued is None and bool(self.error)

    @property
    def stuck(self) -> bool:
        """No report after WORKER_GRACE: is a worker running?"""
        return (self.issued is None and not self.error and self.requested_at_utc is not None
                and timezone.now() - self.requested_at_utc > WORKER_GRACE)

    @property
    def can_retry(self) -> bool:
        return self.failed or self.stuck


def exercise_report_state(exercise: Exercise) -> ReportState:
    """The report's state (one query, and the exercise's own fields)."""
    issued = exercise_report_find(exercise)
    return ReportState(issued=issued, requested_at_utc=exercise.report_requested_at_utc, error=exercise.report_error)


def exercise_report_enqueue(*, exercise_id: int, retry: bool = False) -> None:
    """Ask a worker to render the report (after the exercise was reported); never raises.

    A queue that cannot be reached is recorded on the exercise, so the page says so.
    """
    from .tasks import issue_exercise_report  # the task module imports this one

    if retry:
        Exercise.objects.filter(pk=exercise_id).update(report_requested_at_utc=timezone.now(), report_error="")
    try:
        issue_exercise_report.enqueue(exercise_id=exercise_id)
    except Exception as error:  # noqa: BLE001 - shown on the page; it can be tried again
        logger.exception("the report task of exercise %s could not be enqueued", exercise_id)
        Exercise.objects.filter(pk=exercise_id).update(
            report_error=f"The background queue could not be reached ({type(error).__name__}).")


def exercise_report_task_run(*, exercise_id: int) -> str:
    """The task's work: issue the report now; on failure the error is recorded on the exercise and raised
    to the task backend. Returns the file's SHA-256 ("" if the exercise is gone)."""
    exercise = Exercise.objects.select_related("plan").filter(pk=exercise_id).first()
    if exercise is None:
        return ""
    try:
        issued, _new = exercise_report_store(exercise=exercise)
    except Exception as error:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        Exercise.objects.filter(pk=exercise_id).update(report_error=str(message)[:1000])
        raise
    Exercise.objects.filter(pk=exercise_id).update(report_error="")
    return issued.sha256
