"""Issued files (decision 2): stored once, recorded once, never re-rendered or overwritten.

A version's PDF or DOCX is issued in the marking the version has when it is rendered
(`plans.exports.marking`): its bytes are stored at a path that names the marking and the hash,
and one `IssuedFile` row records kind, version, marking, SHA-256, size, path and time. The
unique key (version, kind, marking) makes that once: a second render of the same file (two
workers, a retry) keeps the first row and drops its own copy. A version whose state changed
gets a new file and row; the earlier file is left as it is and still verifies.

The version's `pdf_export_hash`/`docx_export_hash` (and paths) mirror the approved file, the
copy the plan page shows the hashes of.

Reading checks the bytes against the record: a changed file is refused and audited, never
replaced; a missing one is rendered again and stored only if the new bytes are identical.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import IssuedFile, PlanVersion
from ..services import ServiceError, audit_record
from ..storage import delete_files_on_commit
from .marking import version_marking
from .render import DOCX, KIND_LABELS, KINDS, PDF, RENDERERS, export_context

logger = logging.getLogger(__name__)

ISSUED_KIND = {PDF: IssuedFile.Kind.PLAN_PDF, DOCX: IssuedFile.Kind.PLAN_DOCX}
EXPORT_KIND = {value: key for key, value in ISSUED_KIND.items()}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ServiceError(f"Unknown export type {kind!r}.", code="bad_kind")


def issued_storage_path(version: PlanVersion, kind: str, marking: str, digest: str) -> str:
    return f"exports/plan-{version.plan_id}/v{version.version_number}-{marking}-{digest[:16]}.{kind}"


def issued_file_find(*, version: PlanVersion, kind: str, marking: str) -> IssuedFile | None:
    """The issued file of `version` in `kind` ("pdf"/"docx") and `marking`, if any (one query)."""
    return IssuedFile.objects.filter(version=version, kind=ISSUED_KIND[kind], marking=marking).first()


def _store_new(path: str, data: bytes) -> tuple[str, bool]:
    """Store `data` at `path` unless a file with these bytes is there; (stored path, written now).

    An existing file is never overwritten: if `path` holds other bytes, the storage picks a
    free name next to it.
    """
    if default_storage.exists(path):
        if _read_storage(path) == data:
            return path, False
    return default_storage.save(path, ContentFile(data)), True


def _read_storage(path: str) -> bytes | None:
    try:
        with default_storage.open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None
    except Exception:  # noqa: BLE001 - e.g. a missing S3 key: treat as not stored
        logger.warning("stored file %s could not be read", path, exc_info=True)
        return None


def version_file_issue(
    *, version: PlanVersion, kind: str, actor=None, data: bytes | None = None
) -> tuple[IssuedFile, bytes | None]:
    """Issue the `kind` file of `version` in its marking now, once; returns (row, bytes rendered now).

    An issued file of that marking is returned as it is (bytes None: nothing was rendered).
    Otherwise the file is rendered (unless `data` is given), stored and recorded, with an
    `export_created` audit row. If another render recorded it meanwhile, theirs is kept.
    """
    _check_kind(kind)
    marking = version_marking(version)
    existing = issued_file_find(version=version, kind=kind, marking=marking)
    if existing is not None:
        return existing, None
    if data is None:
        data = RENDERERS[kind](version, context=export_context(version, marking=marking))
    digest = sha256_bytes(data)
    path, written = _store_new(issued_storage_path(version, kind, marking, digest), data)
    plan = version.plan
    with transaction.atomic():
        try:
            with transaction.atomic():
                issued = IssuedFile.objects.create(
                    kind=ISSUED_KIND[kind], org_id=plan.org_id, plan=plan, version=version, marking=marking,
                    sha256=digest, storage_path=path, size_bytes=len(data), issued_at_utc=timezone.now(),
                    issued_by_user=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            # Issued meanwhile by another render: the first record stands, our copy goes.
            issued = IssuedFile.objects.select_for_update().get(
                version=version, kind=ISSUED_KIND[kind], marking=marking
            )
            if written and path != issued.storage_path:
                delete_files_on_commit([path])
            return issued, None
        audit_record(plan=plan, actor=actor, action="export_created", details={
            "version": version.version_number, "format": kind, "marking": marking, "sha256": digest, "path": path,
        })
        if marking == IssuedFile.Marking.APPROVED:
            fields = {f"{kind}_export_hash": digest, f"{kind}_export_path": path}
            PlanVersion.objects.filter(pk=version.pk).update(**fields)
            for name, value in fields.items():
                setattr(version, name, value)
    return issued, data


def issued_file_read(*, issued: IssuedFile, version: PlanVersion, actor=None) -> bytes:
    """The bytes of an issued file, checked against its recorded SHA-256.

    Changed bytes are refused (ServiceError code "integrity") and audited as
    `export_integrity_failure`: the file is evidence, so it is never silently replaced. A
    missing file is rendered again and stored back only if the bytes are identical to the
    record (`export_restored`); otherwise it is refused (code "missing").
    """
    kind = EXPORT_KIND[issued.kind]
    data = _read_storage(issued.storage_path)
    if data is not None:
        if sha256_bytes(data) == issued.sha256:
            return data
        audit_record(plan=version.plan, actor=actor, action="export_integrity_failure", details={
            "version": version.version_number, "format": kind, "marking": issued.marking,
            "path": issued.storage_path, "recorded_sha256": issued.sha256, "stored_sha256": sha256_bytes(data),
        })
        raise ServiceError(
            f"The stored {KIND_LABELS[kind]} of version {version.version_number} no longer matches its "
            "recorded SHA-256, so it is not served. An administrator has to check the file store.",
            code="integrity",
        )
    logger.warning("issued file %s is missing; rendering it again", issued.storage_path)
    data = RENDERERS[kind](version, context=export_context(version, marking=issued.marking))
    if sha256_bytes(data) != issued.sha256:
        audit_record(plan=version.plan, actor=actor, action="export_missing", details={
            "version": version.version_number, "format": kind, "marking": issued.marking,
            "path": issued.storage_path, "recorded_sha256": issued.sha256,
        })
        raise ServiceError(
            f"The issued {KIND_LABELS[kind]} of version {version.version_number} is missing from the file store, "
            "and rendering it again does not give the same file. An administrator has to restore it from a backup.",
            code="missing",
        )
    saved = default_storage.save(issued.storage_path, ContentFile(data))
    if saved != issued.storage_path:  # restored by someone else meanwhile: keep theirs
        default_storage.delete(saved)
    audit_record(plan=version.plan, actor=actor, action="export_restored", details={
        "version": version.version_number, "format": kind, "marking": issued.marking,
        "path": issued.storage_path, "sha256": issued.sha256,
    })
    return data


def version_export_store(
    *, version: PlanVersion, kind: str, actor=None, data: bytes | None = None
) -> tuple[bytes, str]:
    """Issue one export of a version now (rendered here unless `data` is given); returns (bytes, hash).

    For commands, fixtures and tests; pages and the approval ask a task to do it
    (`plans.exports.pending`).
    """
    issued, rendered = version_file_issue(version=version, kind=kind, actor=actor, data=data)
    if rendered is None:
        rendered = issued_file_read(issued=issued, version=version, actor=actor)
    return rendered, issued.sha256


def version_exports_store(*, version_id: int) -> None:
    """Issue both exports of a version now, in this process; a failure is logged, never raised."""
    try:
        version = PlanVersion.objects.select_related("plan").get(pk=version_id)
    except PlanVersion.DoesNotExist:
        logger.warning("version %s vanished before its exports were stored", version_id)
        return
    try:
        for kind in KINDS:
            version_file_issue(version=version, kind=kind)
    except Exception:  # noqa: BLE001 - never undo an approval because a file could not be written
        logger.exception("exports of version %s could not be stored", version_id)
