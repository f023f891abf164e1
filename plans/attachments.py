"""Attachments of a plan: checked uploads, hash-verified downloads, deletion after commit.

Files go through `default_storage` (local folder or S3, see the STORAGES setting) at a
random path `attachments/plan-<id>/<uuid4hex>`; the name the user gave is kept only for
display and download. An upload must be on the allowlist by extension AND by content
(magic bytes, zip structure, UTF-8 text), so an executable renamed `.pdf` is refused.
Office and OpenDocument files with macros are refused, and so are polyglots, files whose
content is two types at once (a PDF with a zip appended); what the bytes hold is found by
`plans.file_content`, and the messages, which name the file, are written here.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.dispatch import Signal
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from . import file_content
from .models import Attachment, IncidentActivation, IssuedFile, Plan
from .services import ServiceError, audit_record, member_check, plan_edit_refusal
from .storage import delete_files_on_commit

logger = logging.getLogger(__name__)

# Sent inside the deleting transaction, before the plans go, with `plan_ids` and `actor`. A hook
# because plans may not import reviews (the apps depend one way): reviews connects to it in its
# AppConfig.ready() to tell the reviewers of pending reviews that the plan is gone.
plan_deleting = Signal()

CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileKind:
    name: str  # what the user is told ("a PDF document")
    check: str  # which content check applies
    content_type: str


PDF_KIND = FileKind("a PDF document", "pdf", "application/pdf")
ALLOWED: dict[str, FileKind] = {
    "pdf": PDF_KIND,
    "docx": FileKind("a Word document", "ooxml:word/",
                     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": FileKind("an Excel workbook", "ooxml:xl/",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": FileKind("a PowerPoint presentation", "ooxml:ppt/",
                     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "doc": FileKind("a Word document", "ole", "application/msword"),
    "xls": FileKind("an Excel workbook", "ole", "application/vnd.ms-excel"),
    "ppt": FileKind("a PowerPoint presentation", "ole", "application/vnd.ms-powerpoint"),
    "odt": FileKind("an OpenDocument text", "odf:application/vnd.oasis.opendocument.text",
                    "application/vnd.oasis.opendocument.text"),
    "ods": FileKind("an OpenDocument spreadsheet", "odf:application/vnd.oasis.opendocument.spreadsheet",
                    "application/vnd.oasis.opendocument.spreadsheet"),
    "odp": FileKind("an OpenDocument presentation", "odf:application/vnd.oasis.opendocument.presentation",
                    "application/vnd.oasis.opendocument.presentation"),
    "png": FileKind("a PNG image", "png", "image/png"),
    "jpg": FileKind("a JPEG image", "jpeg", "image/jpeg"),
    "jpeg": FileKind("a JPEG image", "jpeg", "image/jpeg"),
    "gif": FileKind("a GIF image", "gif", "image/gif"),
    "webp": FileKind("a WebP image", "webp", "image/webp"),
    "txt": FileKind("a text file", "text", "text/plain; charset=utf-8"),
    "csv": FileKind("a CSV file", "text", "text/csv; charset=utf-8"),
}
ALLOWED_DESCRIPTION = "PDF, Word, Excel, PowerPoint (also legacy .doc/.xls/.ppt), OpenDocument, PNG, JPEG, GIF, " \
    "WebP, text or CSV"

OLE_MAGIC = file_content.OLE_MAGIC
ZIP_MAGIC = file_content.ZIP_MAGIC
PDF_HEAD = file_content.PDF_HEAD  # bytes kept from the start of the file: where a PDF header may sit
MACRO_EXTENSIONS = {"docm", "dotm", "xlsm", "xltm", "xlam", "xlsb", "pptm", "potm", "ppsm", "ppam", "sldm"}
HTML_LIKE = re.compile(r"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)\b", re.IGNORECASE)
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def max_bytes() -> int:
    return int(getattr(settings, "BCP_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024))


def sanitize_filename(raw: str) -> str:
    """A display name safe to show and to offer as a download name: no folders, no control characters.

    `../../x.pdf` becomes `x.pdf`; Windows paths are cut at the last backslash too.
    """
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = CONTROL_CHARS.sub("", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def extension_of(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _refuse(message: str, code: str) -> ServiceError:
    return ServiceError(message, code=code)


def _check_zip(file, kind: FileKind, ext: str, *, label: str = "") -> None:
    """Office OOXML: a zip with [Content_Types].xml and the main part folder; ODF: a zip with `mimetype`.

    Either way, without macros (`_macros_in_zip`).
    """
    label = label or f"This .{ext} file"
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            if kind.check.startswith("ooxml:"):
                folder = kind.check.split(":", 1)[1]
                if "[Content_Types].xml" not in names or not any(n.startswith(folder) for n in names):
                    raise _refuse(f"This .{ext} file is not {kind.name}: its content does not match the name.",
                                  "content_mismatch")
            else:
                expected = kind.check.split(":", 1)[1]
                if "mimetype" not in names:
                    raise _refuse(f"This .{ext} file is not {kind.name}: its content does not match the name.",
                                  "content_mismatch")
                mimetype = archive.read("mimetype")[:200].decode("ascii", "replace").strip()
                if mimetype != expected:
                    raise _refuse(f"This .{ext} file is not {kind.name}: its content does not match the name.",
                                  "content_mismatch")
            macros = _macros_in_zip(archive, names, kind, label=label)
            if macros:
                raise _macros_refused(label, macros)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError):
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
        raise _refuse(f"This .{ext} file is damaged or not {kind.name}.", "content_mismatch") from None
    finally:
        file.seek(0)


def _check_head(head: bytes, kind: FileKind, ext: str) -> None:
    """Magic-byte check on the first bytes of the file."""
    ok = {
        "pdf": head.startswith(b"%PDF-"),
        "ole": head.startswith(OLE_MAGIC),
        "png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "jpeg": head.startswith(b"\xff\xd8\xff"),
        "gif": head.startswith((b"GIF87a", b"GIF89a")),
        "webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    }
    check = kind.check.split(":", 1)[0]
    if check in ("ooxml", "odf"):
        if not head.startswith(ZIP_MAGIC):
            raise _refuse(f"This .{ext} file is not {kind.name}: its content does not match the name.",
                          "content_mismatch")
        return
    if check == "text":
        return
    if not ok.get(check, False):
        raise _refuse(f"This .{ext} file is not {kind.name}: its content does not match the name.",
                      "content_mismatch")


def _macros_refused(label: str, what: str) -> ServiceError:
    return _refuse(
        f"{label} contains macros ({what}). Files with macros are not accepted, because macros can run code "
        "on the reader's computer: save a copy without macros (for example as .docx, .xlsx, .pptx or an "
        "OpenDocument file without macros) and upload that.",
        "macros",
    )


def _macros_in_zip(archive, names: set[str], kind: FileKind, *, label: str) -> str:
    try:
        return file_content.macros_in_zip(archive, names, ooxml=kind.check.startswith("ooxml:"))
    except file_content.TooLargeToCheck:
        raise _refuse(f"{label} is too large once unpacked to be checked for macros.", "too_large") from None


def _check_polyglot(file, head: bytes, kind: FileKind, ext: str, *, label: str) -> None:
    """Refuse a file of this kind whose content is also another type (a PDF with a zip inside, ...).

    A file that is not this kind at all is left to `_check_head`, which says so.
    """
    check = kind.check.split(":", 1)[0]
    family = "zip" if check in ("ooxml", "odf") else check
    found = file_content.content_types(file, head, family=family)
    others = sorted(found - {family})
    if others and (family == "text" or family in found):  # text: NUL bytes are refused already, a PDF can hide
        raise _refuse(
            f"{label} is both {kind.name} and {file_content.TYPE_NAMES[others[0]]}. Files that are two types at "
            f"once are not accepted, because each program would see different content in them: save or export "
            f"it again as {kind.name} only and upload that.",
            "polyglot",
        )


@dataclass
class Scan:
    digest: str
    size: int


def scan_upload(uploaded_file, *, kind: FileKind, ext: str, name: str = "") -> Scan:
    """Stream the upload once: SHA-256, size, magic bytes, and for text UTF-8/NUL/HTML checks.

    Then, on the stored bytes: polyglots, zip structure and macros (messages name the file).
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    text_check = kind.check == "text"
    decoder = codecs.getincrementaldecoder("utf-8")() if text_check else None
    text_start = ""
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if len(head) < PDF_HEAD:
            head += chunk[: PDF_HEAD - len(head)]
        if text_check:
            if b"\x00" in chunk:
                raise _refuse(f"This .{ext} file contains binary data (NUL bytes); only plain text is accepted.",
                              "content_mismatch")
            try:
                decoded = decoder.decode(chunk)
            except UnicodeDecodeError:
                raise _refuse(f"This .{ext} file is not valid UTF-8 text.", "content_mismatch") from None
            if len(text_start) < 2048:
                text_start += decoded[: 2048 - len(text_start)]
        if size > max_bytes():
            raise _too_large()
    if text_check:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _refuse(f"This .{ext} file is not valid UTF-8 text.", "content_mismatch") from None
        if HTML_LIKE.search(text_start):
            raise _refuse("HTML, SVG and XML markup is not accepted as a text attachment.", "html_refused")
    if size == 0:
        raise _refuse("The file is empty.", "empty")
    label = f"“{name}”" if name else f"This .{ext} file"
    _check_polyglot(uploaded_file, head, kind, ext, label=label)
    _check_head(head, kind, ext)
    if kind.check.startswith(("ooxml:", "odf:")):
        _check_zip(uploaded_file, kind, ext, label=label)
    elif kind.check == "ole":
        macros = file_content.macros_in_ole(uploaded_file, xls=ext == "xls")
        if macros:
            raise _macros_refused(label, macros)
    uploaded_file.seek(0)
    return Scan(digest=digest.hexdigest(), size=size)


def _too_large() -> ServiceError:
    return _refuse(f"The file is larger than the {filesizeformat(max_bytes())} limit.", "too_large")


def attachment_check(uploaded_file) -> tuple[str, FileKind, Scan]:
    """Validate an upload without storing it: (display name, kind, scan) or ServiceError."""
    if uploaded_file is None:
        raise _refuse("Choose a file to upload.", "required")
    if getattr(uploaded_file, "size", 0) and uploaded_file.size > max_bytes():
        raise _too_large()
    name = sanitize_filename(getattr(uploaded_file, "name", ""))
    ext = extension_of(name)
    if not name or not ext:
        raise _refuse(f"The file needs a name with an extension. Accepted types: {ALLOWED_DESCRIPTION}.",
                      "bad_name")
    if ext in {"svg", "svgz"}:
        raise _refuse("SVG images are not accepted (they can contain scripts). Upload a PNG instead.",
                      "type_refused")
    if ext in {"html", "htm", "xhtml", "shtml", "mht", "mhtml"}:
        raise _refuse("HTML files are not accepted. Upload a PDF instead.", "type_refused")
    if ext in MACRO_EXTENSIONS:
        raise _macros_refused(f"“{name}”", f"a macro-enabled .{ext} file")
    kind = ALLOWED.get(ext)
    if kind is None:
        raise _refuse(f".{ext} files are not accepted. Accepted types: {ALLOWED_DESCRIPTION}.", "type_refused")
    if getattr(uploaded_file, "size", None) == 0:
        raise _refuse("The file is empty.", "empty")
    scan = scan_upload(uploaded_file, kind=kind, ext=ext, name=name)
    return name, kind, scan


def attachment_upload(*, plan: Plan, actor, uploaded_file) -> Attachment:
    """Check, store and record an upload; the stored file is removed again if recording fails."""
    member_check(plan=plan, actor=actor)
    refusal = plan_edit_refusal(plan, attachments=True)
    if refusal is not None:
        raise refusal
    name, kind, scan = attachment_check(uploaded_file)
    path = f"attachments/plan-{plan.pk}/{uuid.uuid4().hex}"
    uploaded_file.seek(0)
    try:
        stored = default_storage.save(path, uploaded_file)
    except Exception as error:  # noqa: BLE001 - the file store (disk, S3) is down or refuses: say so, save nothing
        logger.exception("storing an upload for plan %s failed", plan.pk)
        raise ServiceError(
            f"“{name}” could not be stored: the file store is not available right now. Nothing was saved; "
            "try again in a few minutes, and tell an administrator if it keeps happening.",
            code="storage_unavailable",
        ) from error
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                plan=plan, file_name=name, storage_path=stored, content_type=kind.content_type,
                size_bytes=scan.size, uploaded_by_user=actor if getattr(actor, "is_authenticated", False) else None,
                uploaded_at_utc=timezone.now(), hash=scan.digest,
            )
            audit_record(plan=plan, actor=actor, action="attachment_uploaded", details={
                "attachment": attachment.pk, "file_name": name, "size_bytes": scan.size, "sha256": scan.digest,
            })
    except Exception:
        default_storage.delete(stored)
        raise
    return attachment


def attachment_open(*, attachment: Attachment, actor):
    """A file holding the stored bytes, served only if they match the recorded SHA-256.

    The bytes are read once into a spooled temporary file while hashing, so what is
    checked is exactly what is served. A mismatch or a missing file is refused
    (ServiceError code "integrity") and audited as `attachment_integrity_failure`.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    digest = hashlib.sha256()
    try:
        with default_storage.open(attachment.storage_path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
                spool.write(chunk)
        found = digest.hexdigest()
    except Exception:  # noqa: BLE001 - missing local file, missing S3 key, unreachable store
        logger.warning("attachment %s could not be read from %s", attachment.pk, attachment.storage_path,
                       exc_info=True)
        found = None
    if found != attachment.hash:
        spool.close()
        audit_record(plan=attachment.plan, actor=actor, action="attachment_integrity_failure", details={
            "attachment": attachment.pk, "file_name": attachment.file_name, "path": attachment.storage_path,
            "recorded_sha256": attachment.hash, "stored_sha256": found or "missing",
        })
        raise _refuse(
            f"The stored file “{attachment.file_name}” no longer matches the SHA-256 recorded at upload"
            + (" (the file is missing)" if found is None else "")
            + ", so it is not served. An administrator has to check the file store.",
            "integrity",
        )
    spool.seek(0)
    return spool


def attachment_delete(*, attachment: Attachment, actor) -> None:
    """Delete the record (audited); the stored file goes once the transaction has committed.

    Refused while the plan is in review or archived (the edit lock), as uploads are.
    """
    member_check(plan=attachment.plan, actor=actor)
    refusal = plan_edit_refusal(attachment.plan)
    if refusal is not None:
        raise refusal
    with transaction.atomic():
        plan = attachment.plan
        details = {"attachment": attachment.pk, "file_name": attachment.file_name, "sha256": attachment.hash}
        path = attachment.storage_path
        attachment.delete()
        audit_record(plan=plan, actor=actor, action="attachment_deleted", details=details)
        delete_files_on_commit([path])


def plan_stored_paths(plan_ids) -> list[str]:
    """Storage paths of the attachments and issued files (exports) of these plans (two queries)."""
    paths = list(Attachment.objects.filter(plan_id__in=plan_ids).values_list("storage_path", flat=True))
    paths.extend(IssuedFile.objects.filter(plan_id__in=plan_ids).values_list("storage_path", flat=True).distinct())
    return paths


def plan_delete_refusal(plan_ids) -> ServiceError | None:
    """Why these plans cannot be deleted, or None: a plan an incident activated is evidence of the response,
    so it is archived, never deleted (one query; two when refused)."""
    activated = sorted(set(IncidentActivation.objects.filter(plan_id__in=list(plan_ids))
                           .values_list("plan_id", flat=True)))
    if activated:
        titles = list(Plan.objects.filter(pk__in=activated).order_by("title").values_list("title", flat=True)[:5])
        names = ", ".join(f"“{title}”" for title in titles)
        one = len(activated) == 1
        it, was = ("it", "was") if one else ("they", "were")
        return ServiceError(
            f"{names} {was} activated for an incident, so {it} cannot be deleted: the incident's record points to "
            f"{'it' if one else 'them'}. Archive {'it' if one else 'them'} instead.",
            code="activated_by_incident",
        )
    return None


def _refuse_if_activated(plan_ids) -> None:
    refusal = plan_delete_refusal(plan_ids)
    if refusal is not None:
        raise refusal


def plan_delete(*, plan: Plan, actor) -> None:
    """Delete a plan with everything that hangs off it, then its stored files after commit.

    The plan's audit rows go with it (they cascade, as the data model says), so the deletion
    is recorded in the organisation's audit trail (`plan_deleted`, no plan). A plan an incident
    activated is refused (archive it instead).
    """
    member_check(plan=plan, actor=actor)
    _refuse_if_activated([plan.pk])
    with transaction.atomic():
        paths = plan_stored_paths([plan.pk])
        plan_id, title, org = plan.pk, plan.title, plan.org
        plan_deleting.send(sender=Plan, plan_ids=[plan_id], actor=actor)
        plan.delete()
        audit_record(org=org, actor=actor, action="plan_deleted",
                     details={"plan": plan_id, "title": title, "stored_files": len(paths)})
        delete_files_on_commit(paths)
    logger.info("plan %s (%s) deleted by %s with %d stored files", plan_id, title, actor, len(paths))


def plans_delete(*, queryset, actor) -> int:
    """Delete several plans (admin bulk delete) and their stored files after commit."""
    with transaction.atomic():
        plans = list(queryset.select_related("org").only("title", "org"))
        for plan in plans:
            member_check(plan=plan, actor=actor)
        ids = [plan.pk for plan in plans]
        _refuse_if_activated(ids)
        paths = plan_stored_paths(ids)
        count = len(ids)
        plan_deleting.send(sender=Plan, plan_ids=ids, actor=actor)
        Plan.objects.filter(pk__in=ids).delete()
        for plan in plans:
            audit_record(org=plan.org, actor=actor, action="plan_deleted",
                         details={"plan": plan.pk, "title": plan.title})
        delete_files_on_commit(paths)
    logger.info("%d plans deleted by %s with %d stored files", count, actor, len(paths))
    return count


class SizeLimitUploadHandler(FileUploadHandler):
    """First upload handler of the attachment form: drops a file as soon as it passes the limit.

    Without it Django would write the whole upload to a temporary file before the size
    check could refuse it. `too_large` tells the view to say why the file is missing.
    """

    def __init__(self, request=None, *, limit: int | None = None):
        super().__init__(request)
        self.limit = max_bytes() if limit is None else limit
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_error() -> ServiceError:
    return _too_large()

