"""PDF and DOCX exports of plan versions (evidence: same version, same bytes, hash recorded).

An export renders only from the version's `content_json` snapshot (section values plus
the contacts, processes and risks frozen when the revision was saved), the plan's
template structure, and the version's approval (its `approved_at_utc` and the approvers
of its `approval_round`, read through plans.approvals), so an old version exports as it
was. Nothing in the output depends on the clock: PDF metadata dates and the DOCX core
properties and zip entry dates all come from the version's `authored_at_utc`.

Files are stored through `default_storage` at `exports/plan-<id>/v<n>-<hash8>.<ext>` and
their SHA-256 is recorded on the version (`pdf_export_hash`, `docx_export_hash`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from templates_app.schema import template_sections
from templates_app.values import display_value, format_minutes, reference_names, table_display

from .approvals import version_approvers
from .charts import risk_heatmap
from .models import Plan, PlanVersion, Risk
from .services import ServiceError, audit_record
from .storage import delete_files_on_commit

logger = logging.getLogger(__name__)
# WeasyPrint reports every layout step at INFO; keep the application log readable.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

PDF = "pdf"
DOCX = "docx"
KINDS = (PDF, DOCX)
CONTENT_TYPES = {
    PDF: "application/pdf",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
KIND_LABELS = {PDF: "PDF", DOCX: "DOCX"}
CONTROLLED_COPY = "Controlled copy"

LIKELIHOOD_LABELS = dict(Risk.Likelihood.choices)
IMPACT_LABELS = dict(Risk.Impact.choices)
RATING_LABELS = dict(Risk.Rating.choices)
PROCESS_IMPACT_LABELS = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


# --------------------------------------------------------------------------------------
# Approval of a version (the version's own fields; the approvers through plans.approvals)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """Whether a version was approved, when, and by whom (names, in decision order)."""

    approved: bool
    at_utc: datetime | None = None
    approvers: tuple[str, ...] = ()


NOT_APPROVED = Approval(approved=False)


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def version_approval(version: PlanVersion) -> Approval:
    """The Approval of one version: its first approval (a re-confirmation does not change what the
    version's exports say). One query for the approvers when approved, none otherwise."""
    if version.approved_at_utc is None:
        return NOT_APPROVED
    return Approval(
        approved=True, at_utc=version.approved_at_utc,
        approvers=tuple(approver.name for approver in version_approvers(version)),
    )


# --------------------------------------------------------------------------------------
# What an export shows (plain data, shared by the PDF and the DOCX)
# --------------------------------------------------------------------------------------


def format_utc(value: datetime | None, *, with_time: bool = True) -> str:
    """A fixed, locale-free UTC rendering (exports must not change with settings.TIME_ZONE)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC") if with_time else value.strftime("%Y-%m-%d")


def _minutes(value) -> str:
    return "—" if value is None or value == "" else format_minutes(value)


@dataclass
class FieldItem:
    label: str
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    is_table: bool = False


@dataclass
class SectionItem:
    key: str
    title: str
    help: str
    fields: list[FieldItem]


def _field_item(spec: dict[str, Any], value: Any, *, contacts, users) -> FieldItem:
    label = spec.get("label") or spec.get("key", "")
    if spec.get("type") == "table":
        headers, rows = table_display(spec, value, contacts=contacts, users=users)
        return FieldItem(label=label, is_table=True, headers=headers, rows=rows)
    return FieldItem(label=label, text=display_value(spec, value, contacts=contacts, users=users))


def export_context(version: PlanVersion) -> dict[str, Any]:
    """Everything an export of `version` shows, as plain data (a handful of queries, none per row).

    Dates are rendered in UTC whatever the display time zone, so the bytes do not depend on it.
    """
    with timezone.override(UTC):
        return _export_context(version)


def _export_context(version: PlanVersion) -> dict[str, Any]:
    plan = Plan.objects.select_related("org").get(pk=version.plan_id)
    template = version.template  # the layout the version was written with (decision 8)
    content = version.content_json or {}
    sections = template_sections(template)
    contacts = list(content.get("contacts") or [])
    processes = list(content.get("processes") or [])
    risks = list(content.get("risks") or [])
    contact_names, user_names = reference_names(template, content, plan=plan, sections=sections)

    section_items = []
    for section in sections:
        values = content.get(section["key"]) or {}
        section_items.append(SectionItem(
            key=section["key"], title=section["title"], help=section.get("help") or "",
            fields=[_field_item(spec, values.get(spec["key"]), contacts=contact_names, users=user_names)
                    for spec in section["fields"]],
        ))

    history = []
    for row in (plan.versions.filter(version_number__lte=version.version_number)
                .select_related("authored_by_user").defer("content_json").order_by("version_number")):
        history.append({
            "number": row.version_number,
            "authored": format_utc(row.authored_at_utc),
            "author": _user_name(row.authored_by_user),
            "note": row.summary_change_note or "",
            "approved": format_utc(row.approved_at_utc, with_time=False),
        })
    approval = version_approval(version)

    process_rows = [{
        "name": p.get("name", ""),
        "description": p.get("description", ""),
        "impact": PROCESS_IMPACT_LABELS.get(p.get("impact_rating") or "", p.get("impact_rating") or "—"),
        "rto": _minutes(p.get("rto_minutes")),
        "rpo": _minutes(p.get("rpo_minutes")),
        "mtpd": _minutes(p.get("mtpd_minutes")),
        "dependencies": ", ".join(str(d) for d in p.get("dependencies") or []),
    } for p in processes]
    risk_rows = [{
        "threat": r.get("threat", ""),
        "likelihood": LIKELIHOOD_LABELS.get(r.get("likelihood"), r.get("likelihood") or ""),
        "impact": IMPACT_LABELS.get(r.get("impact"), r.get("impact") or ""),
        "rating": r.get("rating") or "",
        "rating_label": RATING_LABELS.get(r.get("rating"), r.get("rating") or ""),
        "owner": r.get("owner") or "",
        "mitigation": r.get("mitigation") or "",
    } for r in risks]

    return {
        "plan_title": plan.title,
        "plan_id": plan.pk,
        "organisation": plan.org.name if plan.org else "",
        "template_name": str(template),
        "version_number": version.version_number,
        "authored": format_utc(version.authored_at_utc),
        "author": _user_name(version.authored_by_user),
        "change_note": version.summary_change_note or "",
        "approval": approval,
        "approval_status": "Approved" if approval.approved else "Not approved",
        "approved_on": format_utc(approval.at_utc) if approval.approved else "",
        "approvers": list(approval.approvers),
        "sections": section_items,
        "contacts": contacts,
        "processes": process_rows,
        "risks": risk_rows,
        "risk_snapshots": risks,
        "process_snapshots": processes,
        "heatmap": risk_heatmap(risks),
        "history": history,
        "running_title": f"{plan.title} · version {version.version_number} · {CONTROLLED_COPY}",
        "created_iso": version.authored_at_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --------------------------------------------------------------------------------------
# PDF (WeasyPrint)
# --------------------------------------------------------------------------------------


def render_pdf(version: PlanVersion, *, context: dict[str, Any] | None = None) -> bytes:
    """The PDF of a version (deterministic: same version, same bytes)."""
    from weasyprint import HTML

    context = context or export_context(version)
    html = render_to_string("plans/print/version.html", context)
    # No base URL: the print template is self-contained (inline CSS, no images to fetch).
    document = HTML(string=html, base_url=None).render()
    identifier = f"bcp-plan-{context['plan_id']}-v{context['version_number']}".encode()
    return document.write_pdf(pdf_identifier=identifier)


# --------------------------------------------------------------------------------------
# DOCX (python-docx)
# --------------------------------------------------------------------------------------


def _docx_field(paragraph, instruction: str, placeholder: str = "") -> None:
    """Insert a complex field (PAGE, NUMPAGES, TOC ...) into a paragraph."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld_char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            element.set(qn("w:dirty"), "true")
        run._r.append(element)

    fld_char("begin")
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    fld_char("separate")
    paragraph.add_run(placeholder)
    fld_char("end")


def _docx_table(document, headers: list[str], rows: list[list[str]]):
    """A grid table whose first row is a header row repeated on every page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    table = document.add_table(rows=1, cols=max(1, len(headers)))
    table.style = "Table Grid"
    header = table.rows[0]
    for cell, text in zip(header.cells, headers, strict=False):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=False):
            cell.text = str(text)
    return table


def _shade(cell, hex_colour: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), hex_colour)
    cell._tc.get_or_add_tcPr().append(shading)


RATING_FILLS = {"low": "CFE8D5", "medium": "FDF0C2", "high": "F9D2A7", "extreme": "F4B4AE"}


def _build_docx(context: dict[str, Any]):
    import docx
    from docx.enum.text import WD_BREAK
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    document = docx.Document()
    package = document.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:  # the default template's thumbnail is not this document
            del package.rels[r_id]

    section = document.sections[0]
    section.header.paragraphs[0].text = context["running_title"]
    footer = section.footer.paragraphs[0]
    footer.add_run(f"{context['plan_title']} · version {context['version_number']} · {CONTROLLED_COPY} · Page ")
    _docx_field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _docx_field(footer, "NUMPAGES", "1")

    # Cover
    document.add_paragraph(context["plan_title"], style="Title")
    document.add_paragraph(CONTROLLED_COPY, style="Subtitle")
    cover = [
        ("Organisation", context["organisation"]),
        ("Version", str(context["version_number"])),
        ("Status", context["approval_status"]),
        ("Approved on", context["approved_on"] or "—"),
        ("Approved by", ", ".join(context["approvers"]) or "—"),
        ("Authored", f"{context['authored']} by {context['author']}"),
        ("Template", context["template_name"]),
    ]
    for label, value in cover:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # Table of contents: a TOC field (Word refreshes it) whose stored result lists the headings.
    document.add_paragraph("Contents", style="TOC Heading")
    headings = [s.title for s in context["sections"]] + [
        "Contacts", "Critical processes", "Risk register", "Revision history",
    ]
    toc = document.add_paragraph()
    _docx_field(toc, 'TOC \\o "1-2" \\h \\z \\u', "\n".join(headings))
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    for item in context["sections"]:
        document.add_heading(item.title, level=1)
        for entry in item.fields:
            document.add_heading(entry.label, level=2)
            if entry.is_table:
                if entry.rows:
                    _docx_table(document, entry.headers, entry.rows)
                else:
                    document.add_paragraph("—")
            else:
                document.add_paragraph(entry.text)

    document.add_heading("Contacts", level=1)
    if context["contacts"]:
        _docx_table(document, ["Name", "Role", "Phone", "Email", "Notes"], [
            [c.get("name", ""), c.get("role", ""), c.get("phone", ""), c.get("email", ""), c.get("notes", "")]
            for c in context["contacts"]
        ])
    else:
        document.add_paragraph("No contacts.")

    document.add_heading("Critical processes", level=1)
    if context["processes"]:
        _docx_table(document, ["Process", "Impact", "RTO", "RPO", "MTPD", "Dependencies"], [
            [p["name"], p["impact"], p["rto"], p["rpo"], p["mtpd"], p["dependencies"]] for p in context["processes"]
        ])
    else:
        document.add_paragraph("No critical processes.")

    document.add_heading("Risk register", level=1)
    document.add_heading("Heat map", level=2)
    grid = document.add_table(rows=1, cols=6)
    grid.style = "Table Grid"
    grid.rows[0].cells[0].text = "Likelihood \\ Impact"
    for cell, impact in zip(grid.rows[0].cells[1:], context["heatmap"]["impacts"], strict=True):
        cell.text = impact["label"]
    for row in context["heatmap"]["rows"]:
        cells = grid.add_row().cells
        cells[0].text = row["label"]
        for cell, data in zip(cells[1:], row["cells"], strict=True):
            cell.text = str(data["count"]) if data["count"] else ""
            _shade(cell, RATING_FILLS.get(data["band"], "FFFFFF"))
    document.add_heading("Risks", level=2)
    if context["risks"]:
        _docx_table(document, ["Threat", "Likelihood", "Impact", "Rating", "Owner", "Mitigation"], [
            [r["threat"], r["likelihood"], r["impact"], r["rating_label"], r["owner"], r["mitigation"]]
            for r in context["risks"]
        ])
    else:
        document.add_paragraph("No risks.")

    document.add_heading("Revision history", level=1)
    _docx_table(document, ["Version", "Authored", "Author", "Change note", "Approved"], [
        [str(h["number"]), h["authored"], h["author"], h["note"], h["approved"] or "—"] for h in context["history"]
    ])
    return document


def _docx_fixed_date(context: dict[str, Any]) -> datetime:
    return datetime.strptime(context["created_iso"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _normalised_zip(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """Rewrite a zip with fixed entry dates and attributes, [Content_Types].xml first, then sorted."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name), compresslevel=6)
    return out.getvalue()


def render_docx(version: PlanVersion, *, context: dict[str, Any] | None = None) -> bytes:
    """The DOCX of a version (deterministic: fixed core properties and zip entry dates)."""
    context = context or export_context(version)
    document = _build_docx(context)
    fixed = _docx_fixed_date(context).replace(tzinfo=None)
    props = document.core_properties
    props.title = f"{context['plan_title']} (version {context['version_number']})"
    props.subject = "Business continuity plan"
    props.author = context["author"]
    props.last_modified_by = context["author"]
    props.comments = f"{CONTROLLED_COPY}. {context['approval_status']}."
    props.keywords = "business continuity plan"
    props.category = CONTROLLED_COPY
    props.revision = context["version_number"]
    props.created = fixed
    props.modified = fixed
    props.last_printed = fixed
    buffer = io.BytesIO()
    document.save(buffer)
    zip_date = max(fixed, datetime(1980, 1, 1))
    return _normalised_zip(buffer.getvalue(), zip_date.timetuple()[:6])


RENDERERS = {PDF: render_pdf, DOCX: render_docx}


# --------------------------------------------------------------------------------------
# Storing, recording and serving
# --------------------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_storage_path(version: PlanVersion, kind: str, digest: str) -> str:
    return f"exports/plan-{version.plan_id}/v{version.version_number}-{digest[:8]}.{kind}"


def export_filename(context_or_version, kind: str) -> str:
    """The download name: `<plan title> v<n>.<ext>` (the browser sanitises further)."""
    if isinstance(context_or_version, PlanVersion):
        title, number = context_or_version.plan.title, context_or_version.version_number
    else:
        title, number = context_or_version["plan_title"], context_or_version["version_number"]
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in title).strip(" .") or "plan"
    return f"{safe[:80]} v{number}.{kind}"


def _hash_field(kind: str) -> str:
    return f"{kind}_export_hash"


def _path_field(kind: str) -> str:
    return f"{kind}_export_path"


def _write_storage(path: str, data: bytes) -> str:
    if default_storage.exists(path):
        return path  # the name holds the hash: a file there already has these bytes (checked on read)
    return default_storage.save(path, ContentFile(data))


def version_export_store(
    *, version: PlanVersion, kind: str, actor=None, data: bytes | None = None
) -> tuple[bytes, str]:
    """Render (unless `data` is given), store and record one export of a version; returns (bytes, hash).

    The version row is locked while recording, so two concurrent first downloads record
    one file. A previously recorded file with another hash (the version was approved
    since: its cover changed) is replaced and removed after commit.
    """
    if kind not in KINDS:
        raise ServiceError(f"Unknown export type {kind!r}.", code="bad_kind")
    if data is None:
        data = RENDERERS[kind](version)
    digest = sha256_bytes(data)
    path = _write_storage(export_storage_path(version, kind, digest), data)
    with transaction.atomic():
        locked = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
        old_hash, old_path = getattr(locked, _hash_field(kind)), getattr(locked, _path_field(kind))
        if old_hash == digest and old_path and old_path != path:
            # Someone recorded the same bytes meanwhile: keep theirs, drop our second copy.
            delete_files_on_commit([path])
            path = old_path
        elif old_hash != digest or old_path != path:
            setattr(locked, _hash_field(kind), digest)
            setattr(locked, _path_field(kind), path)
            locked.save(update_fields=[_hash_field(kind), _path_field(kind)])
            audit_record(plan=locked.plan, actor=actor, action="export_created", details={
                "version": locked.version_number, "format": kind, "sha256": digest, "path": path,
                **({"replaces_sha256": old_hash} if old_hash else {}),
            })
            if old_path and old_path != path:
                delete_files_on_commit([old_path])
        setattr(version, _hash_field(kind), digest)
        setattr(version, _path_field(kind), path)
    return data, digest


def _read_storage(path: str) -> bytes | None:
    try:
        with default_storage.open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None
    except Exception:  # noqa: BLE001 - e.g. a missing S3 key: treat as not stored
        logger.warning("stored export %s could not be read", path, exc_info=True)
        return None


def version_export_get(*, version: PlanVersion, kind: str, actor=None) -> bytes:
    """The bytes of one export: the stored file after checking its hash, or a fresh render stored now.

    A stored file whose bytes no longer match the recorded hash is refused (ServiceError
    code "integrity") and audited as `export_integrity_failure`: it is evidence, so it is
    never silently replaced. A recorded file that has gone missing is rendered again.
    """
    if kind not in KINDS:
        raise ServiceError(f"Unknown export type {kind!r}.", code="bad_kind")
    recorded_hash, recorded_path = getattr(version, _hash_field(kind)), getattr(version, _path_field(kind))
    if recorded_hash and recorded_path:
        data = _read_storage(recorded_path)
        if data is not None:
            if sha256_bytes(data) == recorded_hash:
                return data
            audit_record(plan=version.plan, actor=actor, action="export_integrity_failure", details={
                "version": version.version_number, "format": kind, "path": recorded_path,
                "recorded_sha256": recorded_hash, "stored_sha256": sha256_bytes(data),
            })
            raise ServiceError(
                f"The stored {KIND_LABELS[kind]} of version {version.version_number} no longer matches its "
                "recorded SHA-256, so it is not served. An administrator has to check the file store.",
                code="integrity",
            )
        logger.warning("recorded export %s is missing; rendering it again", recorded_path)
    data, _digest = version_export_store(version=version, kind=kind, actor=actor)
    return data


def version_exports_store(*, version_id: int) -> None:
    """Render, store and record the hashes of both exports of a version. Called after approval commits.

    Runs after the approval transaction, so a failure here is logged and leaves the
    approval in place; the next download renders the export on demand.
    """
    try:
        version = PlanVersion.objects.select_related("plan").get(pk=version_id)
    except PlanVersion.DoesNotExist:
        logger.warning("version %s vanished before its exports were stored", version_id)
        return
    try:
        context = export_context(version)
        for kind in KINDS:
            data = RENDERERS[kind](version, context=context)
            version_export_store(version=version, kind=kind, data=data)
    except Exception:  # noqa: BLE001 - never undo an approval because a file could not be written
        logger.exception("exports of version %s could not be stored", version_id)


# --------------------------------------------------------------------------------------
# Verification: which export is this file?
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportMatch:
    version: PlanVersion
    kind: str
    approval: Approval

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    def describe(self) -> str:
        approval = (f"approved on {format_utc(self.approval.at_utc, with_time=False)}"
                    if self.approval.approved else "not approved")
        return (f"This is the {self.kind_label} of plan \u201c{self.version.plan.title}\u201d, "
                f"version {self.version.version_number}, {approval}.")


def hash_stream(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def export_find(*, digest: str, organisation=None, all_organisations: bool = False) -> ExportMatch | None:
    """The export with this SHA-256 among versions of `organisation` (or of all when asked). Two queries.

    Without an organisation and without `all_organisations`, nothing matches: a user
    outside every organisation sees no plans.
    """
    from django.db.models import Q

    digest = (digest or "").strip().lower()
    if len(digest) != 64:
        return None
    versions = PlanVersion.objects.select_related("plan").defer("content_json")
    if not all_organisations:
        if organisation is None:
            return None
        versions = versions.filter(plan__org=organisation)
    version = versions.filter(Q(pdf_export_hash=digest) | Q(docx_export_hash=digest)).order_by("pk").first()
    if version is None:
        return None
    kind = PDF if version.pdf_export_hash == digest else DOCX
    return ExportMatch(version=version, kind=kind, approval=version_approval(version))
