"""Files built on request by a background task: KPI reports and evidence packs (`bc_report_request`).

A person asks (`report_request_create`), the request is recorded and, after the commit, a task is
enqueued (`reviews.tasks.build_report`); nobody waits for a render in a request. The task builds
the file (`reviews.kpi_report.render_kpi_report`, `reviews.evidence_pack.build_evidence_pack`),
stores it, records it as a new issued file (decision 2: every request is a new file with its own
row, and the old ones still verify) and links it to the request. The request's page says "being
prepared" until then, and says so plainly when the task failed or no worker has started it.

Reading a file checks its bytes against the recorded SHA-256, as every issued file does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from plans.exports.issued import _read_storage, _store_new, sha256_bytes
from plans.exports.pending import RENDER_GRACE, WORKER_GRACE
from plans.models import IssuedFile, Organisation, Plan, PlanVersion
from plans.services import ServiceError, audit_record

from .models import ReportRequest

logger = logging.getLogger(__name__)

Kind = ReportRequest.Kind
FILE_KINDS = {Kind.KPI_REPORT: IssuedFile.Kind.KPI_REPORT, Kind.EVIDENCE_PACK: IssuedFile.Kind.EVIDENCE_PACK}
CONTENT_TYPES = {Kind.KPI_REPORT: "application/pdf", Kind.EVIDENCE_PACK: "application/zip"}
MAX_PERIOD_DAYS = 3 * 366  # the snapshots are kept three years


@dataclass(frozen=True)
class RequestState:
    request: ReportRequest

    @property
    def ready(self) -> bool:
        return self.request.issued_file_id is not None

    @property
    def failed(self) -> bool:
        return not self.ready and bool(self.request.error)

    @property
    def stuck(self) -> bool:
        """No worker started within WORKER_GRACE, or the build has run longer than RENDER_GRACE."""
        request, now = self.request, timezone.now()
        if self.ready or self.failed:
            return False
        if request.started_at_utc is not None:
            return now - request.started_at_utc > RENDER_GRACE
        return now - request.requested_at_utc > WORKER_GRACE

    @property
    def can_retry(self) -> bool:
        return self.failed or self.stuck


def as_of_now():
    """Now, to the end of the current second: a file "as of" it includes everything recorded so far."""
    now = timezone.now()
    return now.replace(microsecond=0) + (timedelta(seconds=1) if now.microsecond else timedelta(0))


def report_request_create(*, kind: str, actor, org: Organisation, plan: Plan | None = None,
                          version: PlanVersion | None = None, period_from=None, period_to=None) -> ReportRequest:
    """Record a request and enqueue its build after the commit; audits `<kind>_requested`."""
    now = as_of_now()
    if kind == Kind.KPI_REPORT:
        if period_from is None or period_to is None or period_from > period_to:
            raise ServiceError("Choose a period whose start is on or before its end.", code="bad_period")
        if period_to > timezone.localdate():
            raise ServiceError("A report covers days that have passed: choose an end no later than today.",
                               code="bad_period")
        if (period_to - period_from).days > MAX_PERIOD_DAYS:
            raise ServiceError("A report covers at most three years (the figures are kept that long).",
                               code="bad_period")
    elif version is None or plan is None or version.plan_id != plan.pk:
        raise ServiceError("An evidence pack is of one version of the plan.", code="bad_version")
    with transaction.atomic():
        request = ReportRequest.objects.create(
            kind=kind, org=org, plan=plan, version=version, period_from=period_from, period_to=period_to,
            as_of_utc=now, requested_by_user=actor if getattr(actor, "is_authenticated", False) else None,
            requested_at_utc=now,
        )
        details = {"request": request.pk}
        if kind == Kind.KPI_REPORT:
            details.update({"from": period_from.isoformat(), "until": period_to.isoformat()})
        else:
            details["version"] = version.version_number
        audit_record(plan=plan, org=org, actor=actor, action=f"{kind}_requested", details=details)
        transaction.on_commit(lambda: report_build_enqueue(request_id=request.pk))
    return request


def report_build_enqueue(*, request_id: int, retry: bool = False) -> None:
    """Ask a worker to build the file; never raises (an unreachable queue is recorded on the request)."""
    from .tasks import build_report  # the task module imports this one

    if retry:
        ReportRequest.objects.filter(pk=request_id, issued_file__isnull=True).update(
            requested_at_utc=timezone.now(), started_at_utc=None, error="")
    try:
        build_report.enqueue(request_id=request_id)
    except Exception as error:  # noqa: BLE001 - shown on the page; it can be tried again
        logger.exception("the build of report request %s could not be enqueued", request_id)
        ReportRequest.objects.filter(pk=request_id).update(
            error=f"The background queue could not be reached ({type(error).__name__}).")


def _build(request: ReportRequest) -> tuple[bytes, str]:
    """(bytes, marking) of the request's file."""
    if request.kind == Kind.KPI_REPORT:
        from .kpi_report import render_kpi_report

        return render_kpi_report(request), IssuedFile.Marking.FINAL
    from .evidence_pack import build_evidence_pack, pack_marking

    return build_evidence_pack(request.version, as_of=request.as_of_utc), pack_marking(request.version)


def _storage_path(request: ReportRequest, digest: str) -> str:
    if request.kind == Kind.KPI_REPORT:
        period = f"{request.period_from:%Y%m%d}-{request.period_to:%Y%m%d}"
        return f"reports/org-{request.org_id}/kpi-{period}-{digest[:16]}.pdf"
    return f"exports/plan-{request.plan_id}/v{request.version.version_number}-evidence-{digest[:16]}.zip"


def _issue(request: ReportRequest, *, marking: str, digest: str, path: str, size: int) -> IssuedFile:
    """The request's issued-file row; an evidence pack is the next edition of its version's packs."""
    kind = FILE_KINDS[request.kind]
    edition = 1
    if request.kind == Kind.EVIDENCE_PACK:
        PlanVersion.objects.select_for_update().filter(pk=request.version_id).first()  # editions one at a time
        latest = (IssuedFile.objects.filter(version_id=request.version_id, kind=kind, marking=marking)
                  .order_by("-edition").values_list("edition", flat=True).first())
        edition = (latest or 0) + 1
    return IssuedFile.objects.create(
        kind=kind, org_id=request.org_id, plan_id=request.plan_id, version_id=request.version_id, marking=marking,
        edition=edition, sha256=digest, storage_path=path, size_bytes=size, issued_at_utc=timezone.now(),
        issued_by_user_id=request.requested_by_user_id,
    )


def report_build_run(*, request_id: int) -> str:
    """The task's work: build, store and record the file once; returns its SHA-256 ("" if the request is gone).

    A request already built is left as it is. A failure is recorded on the request and raised to the
    task backend.
    """
    request = ReportRequest.objects.select_related("org", "plan", "version").filter(pk=request_id).first()
    if request is None:
        return ""
    if request.issued_file_id is not None:
        return IssuedFile.objects.get(pk=request.issued_file_id).sha256
    ReportRequest.objects.filter(pk=request_id).update(started_at_utc=timezone.now(), error="")
    try:
        data, marking = _build(request)
        digest = sha256_bytes(data)
        path, _written = _store_new(_storage_path(request, digest), data)
        with transaction.atomic():
            locked = ReportRequest.objects.select_for_update().get(pk=request_id)
            if locked.issued_file_id is not None:  # built meanwhile by a duplicate task: theirs stands
                return IssuedFile.objects.get(pk=locked.issued_file_id).sha256
            issued = _issue(request, marking=marking, digest=digest, path=path, size=len(data))
            locked.issued_file = issued
            locked.error = ""
            locked.save(update_fields=["issued_file", "error"])
            audit_record(plan=request.plan, org=request.org, actor=None, action="export_created", details={
                "file": request.get_kind_display(), "request": request.pk, "sha256": digest, "path": path,
                **({"version": request.version.version_number} if request.version_id else {}),
            })
    except Exception as error:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        ReportRequest.objects.filter(pk=request_id).update(error=str(message)[:1000])
        raise
    return digest


def report_request_read(*, request: ReportRequest, actor=None) -> bytes:
    """The built file's bytes, checked against the recorded SHA-256; a changed or missing file is
    refused (ServiceError "integrity" / "missing") and audited: evidence is never replaced."""
    issued = request.issued_file
    data = _read_storage(issued.storage_path)
    if data is not None and sha256_bytes(data) == issued.sha256:
        return data
    action, code = ("export_integrity_failure", "integrity") if data is not None else ("export_missing", "missing")
    audit_record(plan=request.plan, org=request.org, actor=actor, action=action, details={
        "file": request.get_kind_display(), "path": issued.storage_path, "recorded_sha256": issued.sha256,
    })
    what = "no longer matches its recorded SHA-256" if data is not None else "is missing from the file store"
    raise ServiceError(f"The stored file {what}, so it is not served. Ask for a new one; an administrator "
                       "has to check the file store.", code=code)


def report_filename(request: ReportRequest) -> str:
    if request.kind == Kind.KPI_REPORT:
        return f"KPI report {request.period_from:%Y-%m-%d} to {request.period_to:%Y-%m-%d}.pdf"
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in request.plan.title).strip(" .") or "plan"
    return f"{safe[:80]} v{request.version.version_number} evidence pack {request.as_of_utc:%Y%m%dT%H%M%SZ}.zip"
