"""The break-glass pack of an approved version: what to do when the service itself is out of reach.

Two files per version, issued like the exports (decision 2): an offline HTML file that needs nothing
else (inline CSS, no script, no external address: it opens from a USB stick or a phone's files) and a
short PDF. Both hold the key contacts and the call tree (with `tel:` and `mailto:` links), every
contact, the critical processes in RTO order with RTO, MTPD, recovery strategies and dependencies, and
the incident-response section, read from the version's snapshot and its template's roles
(`plans.incident_display`).

The approval asks a worker for both after its commit (`breakglass_enqueue`, called with the exports'
request); a download of a pack not issued yet asks the same way and says "being prepared"
(`breakglass_request`, one `IssuedFileRequest` per version, kind and marking). Each is stored once and
recorded in `bc_issued_file` (kinds `breakglass_html` and `breakglass_pdf`, the version's marking),
so the same bytes are served to everyone and verify on the verify page and with `verify_export`.
The same version and marking give the same bytes: nothing depends on the clock or the machine.
Every download is audited (`breakglass_downloaded`): the pack carries personal phone numbers.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from templates_app.schema import template_sections

from ..incident_display import people_named, version_response, version_user_ids
from ..models import IssuedFile, IssuedFileRequest, Plan, PlanVersion
from ..services import ServiceError, audit_record
from ..storage import delete_files_on_commit
from .issued import _read_storage, _store_new, sha256_bytes
from .marking import markings_up_to, version_marking
from .pending import FileState
from .render import (
    MARKING_TEXT,
    _css_string,
    format_utc,
    pdf_from_template,
    version_approval,
)

logger = logging.getLogger(__name__)

HTML = "html"
PDF = "pdf"
FORMATS = (HTML, PDF)
KIND = {HTML: IssuedFile.Kind.BREAKGLASS_HTML, PDF: IssuedFile.Kind.BREAKGLASS_PDF}
FORMAT_OF = {kind: fmt for fmt, kind in KIND.items()}
CONTENT_TYPES = {HTML: "text/html; charset=utf-8", PDF: "application/pdf"}
LABELS = {HTML: "offline HTML", PDF: "PDF"}
Marking = IssuedFile.Marking


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ServiceError(f"Unknown break-glass format {fmt!r}.", code="bad_kind")


def breakglass_refusal(version: PlanVersion) -> ServiceError | None:
    """Why `version` has no break-glass pack, or None: only a version that was approved has one (no query)."""
    if version.approved_at_utc is None:
        return ServiceError(f"Version {version.version_number} was never approved: break-glass packs are made for "
                            "approved versions only.", code="not_approved")
    return None


def breakglass_filename(version: PlanVersion, fmt: str, *, plan_title: str | None = None) -> str:
    title = plan_title if plan_title is not None else version.plan.title
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in title).strip(" .") or "plan"
    return f"{safe[:80]} v{version.version_number} break-glass.{fmt}"


# --- what the pack shows -----------------------------------------------------------------------------


def breakglass_context(version: PlanVersion, *, marking: str) -> dict[str, Any]:
    """What the pack shows, as plain data: a few queries (plan, section rows, people, approvers), none per row.

    Dates are rendered in UTC, whatever the display time zone, so the bytes do not depend on it.
    """
    with timezone.override(UTC):
        plan = Plan.objects.select_related("org").defer("draft_content_json").get(pk=version.plan_id)
        sections = template_sections(version.template)
        people = people_named(plan.org_id, version_user_ids(version, sections))
        response = version_response(version, sections=sections, people=people)
        approval = version_approval(version)
        marking = Marking(marking)
        text = MARKING_TEXT[marking]
        made = version.approved_at_utc or version.authored_at_utc
        return {
            "plan_title": plan.title,
            "organisation": plan.org.name if plan.org else "",
            "version_number": version.version_number,
            "marking": marking.value,
            "stamp": text.stamp,
            "marking_warning": text.warning,
            "footer_mark": text.footer,
            "approved_on": format_utc(approval.at_utc) if approval.approved else "",
            "approvers": list(approval.approvers),
            "response": response,
            "title": f"Break-glass pack: {plan.title}, version {version.version_number}",
            "css_running_title": _css_string(f"{plan.title} · version {version.version_number} · break-glass"),
            "css_stamp": _css_string(text.stamp),
            "created_iso": made.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def render_breakglass_html(version: PlanVersion, *, context: dict[str, Any] | None = None) -> bytes:
    """The offline HTML file (one file, inline CSS, no script, no external address)."""
    context = context or breakglass_context(version, marking=version_marking(version))
    return render_to_string("plans/incidents/breakglass/pack.html", context).encode("utf-8")


def render_breakglass_pdf(version: PlanVersion, *, context: dict[str, Any] | None = None) -> bytes:
    """The short PDF (WeasyPrint, the shipped fonts only). Raises ServiceError "renderer_unavailable"
    when WeasyPrint cannot load its libraries (see `plans.exports.render.render_pdf`)."""
    context = context or breakglass_context(version, marking=version_marking(version))
    return pdf_from_template("plans/incidents/breakglass/print.html", context,
                             identifier=f"bcp-breakglass-{version.plan_id}-v{version.version_number}")


RENDERERS = {HTML: render_breakglass_html, PDF: render_breakglass_pdf}


# --- issuing and reading ------------------------------------------------------------------------------


def breakglass_find(*, version: PlanVersion, fmt: str, marking: str) -> IssuedFile | None:
    """The issued pack of `version` in `fmt` and `marking`, if any (one query)."""
    return IssuedFile.objects.filter(version=version, kind=KIND[fmt], marking=marking).first()


def breakglass_issue(*, version: PlanVersion, fmt: str, actor=None, data: bytes | None = None,
                     ) -> tuple[IssuedFile, bytes | None]:
    """Issue the `fmt` pack of an approved `version` in its marking now, once; (row, bytes rendered now).

    An issued pack is returned as it is (bytes None). If another render recorded it meanwhile, theirs
    stands and this copy is dropped. Audits `export_created`.
    """
    _check_format(fmt)
    refusal = breakglass_refusal(version)
    if refusal is not None:
        raise refusal
    marking = version_marking(version)
    existing = breakglass_find(version=version, fmt=fmt, marking=marking)
    if existing is not None:
        return existing, None
    if data is None:
        data = RENDERERS[fmt](version, context=breakglass_context(version, marking=marking))
    digest = sha256_bytes(data)
    path, written = _store_new(
        f"exports/plan-{version.plan_id}/v{version.version_number}-breakglass-{marking}-{digest[:16]}.{fmt}", data)
    plan = Plan.objects.defer("draft_content_json").get(pk=version.plan_id)
    with transaction.atomic():
        try:
            with transaction.atomic():
                issued = IssuedFile.objects.create(
                    kind=KIND[fmt], org_id=plan.org_id, plan=plan, version=version, marking=marking, sha256=digest,
                    storage_path=path, size_bytes=len(data), issued_at_utc=timezone.now(),
                    issued_by_user=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            issued = IssuedFile.objects.get(version=version, kind=KIND[fmt], marking=marking)
            if written and path != issued.storage_path:
                delete_files_on_commit([path])
            return issued, None
        audit_record(plan=plan, actor=actor, action="export_created", details={
            "version": version.version_number, "format": KIND[fmt].value, "marking": marking, "sha256": digest,
            "path": path,
        })
    return issued, data


def breakglass_read(*, issued: IssuedFile, version: PlanVersion, actor=None) -> bytes:
    """The pack's bytes, checked against the recorded SHA-256. Changed bytes are refused and audited
    (`export_integrity_failure`); a missing file is rendered again and stored back only if identical
    (`export_restored`), else refused (`export_missing`): evidence is never replaced."""
    fmt = FORMAT_OF[issued.kind]
    details = {"version": version.version_number, "format": issued.kind, "marking": issued.marking,
               "path": issued.storage_path, "recorded_sha256": issued.sha256}
    data = _read_storage(issued.storage_path)
    if data is not None:
        if sha256_bytes(data) == issued.sha256:
            return data
        audit_record(plan=version.plan, actor=actor, action="export_integrity_failure", details=details)
        raise ServiceError(f"The stored break-glass pack ({LABELS[fmt]}) of version {version.version_number} no "
                           "longer matches its recorded SHA-256, so it is not served. An administrator has to check "
                           "the file store.", code="integrity")
    data = RENDERERS[fmt](version, context=breakglass_context(version, marking=issued.marking))
    if sha256_bytes(data) != issued.sha256:
        audit_record(plan=version.plan, actor=actor, action="export_missing", details=details)
        raise ServiceError(f"The break-glass pack ({LABELS[fmt]}) of version {version.version_number} is missing "
                           "from the file store, and rendering it again does not give the same file. An "
                           "administrator has to restore it from a backup.", code="missing")
    saved = default_storage.save(issued.storage_path, ContentFile(data))
    if saved != issued.storage_path:  # restored by someone else meanwhile: keep theirs
        default_storage.delete(saved)
    audit_record(plan=version.plan, actor=actor, action="export_restored", details=details)
    return data


def breakglass_download(*, issued: IssuedFile, version: PlanVersion, actor) -> bytes:
    """The pack's bytes for a member who downloads it, audited `breakglass_downloaded` (it carries personal
    phone numbers): who took which copy, when."""
    data = breakglass_read(issued=issued, version=version, actor=actor)
    audit_record(plan=version.plan, actor=actor, action="breakglass_downloaded", details={
        "version": version.version_number, "format": issued.kind, "marking": issued.marking,
        "sha256": issued.sha256,
    })
    return data


def breakglass_store(*, version: PlanVersion, actor=None) -> list[IssuedFile]:
    """Issue both packs of an approved version now, in this process (commands, fixtures, tests)."""
    return [breakglass_issue(version=version, fmt=fmt, actor=actor)[0] for fmt in FORMATS]


# --- background tasks and the "being prepared" page ------------------------------------------------


def _enqueue(request: IssuedFileRequest, fmt: str) -> None:
    from .tasks import issue_breakglass_file  # the task module imports this one

    try:
        result = issue_breakglass_file.enqueue(version_id=request.version_id, fmt=fmt)
    except Exception as error:  # noqa: BLE001 - shown on the page; the download can be tried again
        logger.exception("the break-glass task of version %s (%s) could not be enqueued", request.version_id, fmt)
        IssuedFileRequest.objects.filter(pk=request.pk).update(
            failed_at_utc=timezone.now(), error=f"The background queue could not be reached ({type(error).__name__}).")
        return
    IssuedFileRequest.objects.filter(pk=request.pk).update(task_id=str(result.id)[:64])


def breakglass_request(*, version: PlanVersion, fmt: str, actor=None, retry: bool = False) -> FileState:
    """The `fmt` pack of an approved `version` in its marking now: issued, or asked of a worker (once).

    The first request records an `IssuedFileRequest` and enqueues the task; later ones find the row.
    `retry` enqueues a new task for a request that failed or is stuck.
    """
    _check_format(fmt)
    refusal = breakglass_refusal(version)
    if refusal is not None:
        raise refusal
    marking = version_marking(version)
    issued = breakglass_find(version=version, fmt=fmt, marking=marking)
    if issued is not None:
        return FileState(issued=issued)
    user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            request, created = IssuedFileRequest.objects.get_or_create(
                version=version, kind=KIND[fmt], marking=marking,
                defaults={"requested_at_utc": timezone.now(), "requested_by_user": user},
            )
    except IntegrityError:
        request = IssuedFileRequest.objects.get(version=version, kind=KIND[fmt], marking=marking)
        created = False
    if not created and retry and FileState(request=request).can_retry:
        IssuedFileRequest.objects.filter(pk=request.pk).update(
            requested_at_utc=timezone.now(), requested_by_user=user, started_at_utc=None, failed_at_utc=None,
            error="", task_id="")
        created = True
    if created:
        _enqueue(request, fmt)
    issued = breakglass_find(version=version, fmt=fmt, marking=marking)
    if issued is not None:
        return FileState(issued=issued)
    request = IssuedFileRequest.objects.filter(pk=request.pk).first()
    if request is None:
        return FileState(issued=breakglass_find(version=version, fmt=fmt, marking=marking))
    return FileState(request=request)


def breakglass_enqueue(*, version_id: int) -> None:
    """Ask a worker for both packs of a version just approved (with its exports); never raises."""
    version = PlanVersion.objects.select_related("plan").defer("content_json").filter(pk=version_id).first()
    if version is None:
        return
    for fmt in FORMATS:
        try:
            breakglass_request(version=version, fmt=fmt)
        except Exception:  # noqa: BLE001 - never undo an approval because a file could not be requested
            logger.exception("the break-glass %s of version %s could not be requested", fmt, version_id)


def breakglass_task_run(*, version_id: int, fmt: str) -> str:
    """The task's work: issue the pack in the version's marking now and settle the requests; on failure the
    requests record the error and the exception goes to the task backend. Returns the file's SHA-256."""
    version = PlanVersion.objects.select_related("plan").filter(pk=version_id).first()
    if version is None:
        return ""
    marking = version_marking(version, plan=version.plan)
    requests = IssuedFileRequest.objects.filter(version_id=version_id, kind=KIND[fmt],
                                                marking__in=markings_up_to(marking))
    requests.filter(started_at_utc=None).update(started_at_utc=timezone.now())
    requester_id = (requests.exclude(requested_by_user=None).order_by("requested_at_utc")
                    .values_list("requested_by_user", flat=True).first())
    actor = get_user_model().objects.filter(pk=requester_id).first() if requester_id else None
    try:
        issued, _data = breakglass_issue(version=version, fmt=fmt, actor=actor)
    except Exception as error:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        requests.update(failed_at_utc=timezone.now(), error=str(message)[:1000])
        raise
    requests.delete()
    return issued.sha256
