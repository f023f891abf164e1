"""Rendering PDF and DOCX exports of plan versions (same version and marking, same bytes).

An export renders only from the version's `content_json` snapshot (section values plus
the contacts, processes (with their vendors), resources and risks frozen when the revision was saved), the plan's
template structure, the version's approval (its `approved_at_utc` and the approvers
of its `approval_round`, read through plans.approvals) and its marking (draft, approved,
superseded: `plans.exports.marking`), so an old version exports as it was. Nothing in the
output depends on the clock or the machine: PDF metadata dates and the DOCX core properties
and zip entry dates all come from the version's `authored_at_utc`, and the PDF uses the
DejaVu fonts shipped in `static/fonts/` (loaded by @font-face; nothing else is fetched).

The marking shows on every page: DRAFT or SUPERSEDED on the cover and at the top and foot of
each page, "Controlled copy" on the approved file only (`MARKING_TEXT`). A section or list with
nothing filled in takes a line ("Not filled in"), not a page. Table column widths are measured
from their content (`render_layout`); the DOCX itself is built in `render_word`. What makes the
large-plan PDF fast is described in README, "Performance".

Storing and recording files is `plans.exports.issued`'s job.
"""

from __future__ import annotations

import gc
import io
import logging
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from bcp_site.text import display_name
from templates_app.schema import is_empty, template_sections
from templates_app.values import display_value, format_minutes, reference_names, table_display

from ..approvals import version_approvers
from ..charts import risk_heatmap
from ..models import IssuedFile, Plan, PlanVersion, Risk
from ..resources import resource_rows
from .marking import version_marking
from .render_layout import table_layout
from .render_word import build_docx

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
Marking = IssuedFile.Marking


@dataclass(frozen=True)
class MarkingText:
    """How a file shows its marking: on the cover, and on every page (header mark and footer).

    "Controlled copy" is the approved file's alone; a draft or superseded file says DRAFT or
    SUPERSEDED on the cover and at the top and foot of every page.
    """

    status: str  # the cover's "Status"
    warning: str  # the cover's warning line ("" when approved)
    stamp: str  # the cover's stamp and the mark at the top of every page
    footer: str  # the foot of every page, before the page number


MARKING_TEXT = {
    Marking.APPROVED: MarkingText("Approved", "", CONTROLLED_COPY, CONTROLLED_COPY),
    Marking.DRAFT: MarkingText(
        "Not approved", "Draft: this version has not been approved", "DRAFT", "DRAFT · not approved",
    ),
    Marking.SUPERSEDED: MarkingText(
        "Superseded", "Superseded: a later version of this plan has been approved", "SUPERSEDED",
        "SUPERSEDED · not the plan in force",
    ),
}

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


def vendor_labels(process: dict[str, Any]) -> list[str]:
    """The vendors a process snapshot depends on, as the exports list them among its dependencies."""
    return [f"vendor {v.get('name', '')}" + (f" (recovers in {format_minutes(v['recovery_minutes'])})"
                                           if isinstance(v.get("recovery_minutes"), int) else "")
            for v in process.get("vendors") or [] if isinstance(v, dict)]


def _minutes(value) -> str:
    return "—" if value is None or value == "" else format_minutes(value)


@dataclass
class FieldItem:
    label: str
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    is_table: bool = False
    empty: bool = False  # not filled in: the export says so in one line


@dataclass
class SectionItem:
    key: str
    title: str
    help: str
    fields: list[FieldItem]

    @property
    def empty(self) -> bool:
        """No field filled in: the section takes one line, not a page."""
        return all(item.empty for item in self.fields)


def _field_item(spec: dict[str, Any], value: Any, *, contacts, users) -> FieldItem:
    label = spec.get("label") or spec.get("key", "")
    if spec.get("type") == "table":
        headers, rows = table_display(spec, value, contacts=contacts, users=users)
        return FieldItem(label=label, is_table=True, headers=headers, rows=rows, empty=not rows)
    empty = is_empty(value) or (isinstance(value, str) and not value.strip())
    return FieldItem(label=label, text=display_value(spec, value, contacts=contacts, users=users), empty=empty)


def export_context(version: PlanVersion, *, marking: str | None = None) -> dict[str, Any]:
    """Everything an export of `version` shows, as plain data (a handful of queries, none per row).

    `marking` defaults to the version's marking now. Dates are rendered in UTC whatever the
    display time zone, so the bytes do not depend on it.
    """
    with timezone.override(UTC):
        return _export_context(version, marking)


def _export_context(version: PlanVersion, marking: str | None) -> dict[str, Any]:
    plan = Plan.objects.select_related("org").get(pk=version.plan_id)
    marking = Marking(marking) if marking else version_marking(version, plan=plan)
    marking_text = MARKING_TEXT[marking]
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
            "author": display_name(row.authored_by_user),
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
        "dependencies": ", ".join([str(d) for d in p.get("dependencies") or []] + vendor_labels(p)),
    } for p in processes]
    resource_items = resource_rows(list(content.get("resources") or []))
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
        "author": display_name(version.authored_by_user),
        "change_note": version.summary_change_note or "",
        "approval": approval,
        "marking": marking.value,
        "approval_status": marking_text.status,
        "marking_warning": marking_text.warning,
        "stamp": marking_text.stamp,
        "footer_mark": marking_text.footer,
        "approved_on": format_utc(approval.at_utc) if approval.approved else "",
        "approvers": list(approval.approvers),
        "sections": section_items,
        "contacts": contacts,
        "processes": process_rows,
        "risks": risk_rows,
        # None: the version was written before resources were kept ("not recorded").
        "resources": resource_items if "resources" in content else None,
        "risk_snapshots": risks,
        "process_snapshots": processes,
        "heatmap": risk_heatmap(risks),
        "history": history,
        "running_title": f"{plan.title} · version {version.version_number}",
        "created_iso": version.authored_at_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --------------------------------------------------------------------------------------
# PDF (WeasyPrint)
# --------------------------------------------------------------------------------------


FONTS_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
# The files the print template's @font-face rules name (templates/plans/print/version.html).
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")
# The print template's page: A4 with 16 mm side margins; table cells have 4pt padding each side
# (plus half a point of room); table text is 8.5pt, smaller for a table whose words would not fit.
PDF_TEXT_WIDTH_PT = (210 - 2 * 16) * 72 / 25.4
PDF_CELL_PADDING_PT = 8.5
PDF_TABLE_FONT_SIZES = (8.5, 8.0, 7.5, 7.0)


def _fonts_only_fetcher():
    """A WeasyPrint URL fetcher that serves the shipped font files and refuses anything else.

    The print template is self-contained; the fonts are the only resources it loads, so the
    output never depends on the network, the system's fonts or what a plan's text contains.
    """
    from weasyprint.urls import URLFetcher

    allowed = {(FONTS_DIR / name).as_uri() for name in FONT_FILES}

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url not in allowed:
                raise ValueError(f"exports load only the shipped fonts, not {url}")
            return super().fetch(url, headers)

    return FontsOnly()


def _css_string(text: str) -> str:
    """`text` as a quoted CSS string for the print template's <style> (page header and footer).

    Everything but letters, digits, spaces and harmless punctuation is written as a CSS escape
    (six hex digits and the space that ends it), so no text can end the string or the <style>
    element.
    """
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_()/#+")
    return mark_safe('"' + "".join(ch if ch in safe else f"\\{ord(ch):06x} " for ch in str(text)) + '"')


@dataclass(frozen=True)
class PrintTable:
    """A table of the print template: its rows and the column widths measured from them."""

    headers: list[str]
    rows: list[list[str]]
    widths: list[str]  # CSS percentages
    font_size: float

    @property
    def font_style(self) -> str:
        """An inline style for a table whose text had to get smaller to fit its words ("" otherwise)."""
        return "" if self.font_size == PDF_TABLE_FONT_SIZES[0] else f"font-size: {self.font_size:g}pt"


def _print_table(headers: list[str], rows: list[list[str]], measure: list[list[str]] | None = None) -> PrintTable:
    layout = table_layout(headers, measure if measure is not None else rows, width=PDF_TEXT_WIDTH_PT,
                          padding=PDF_CELL_PADDING_PT, font_sizes=PDF_TABLE_FONT_SIZES, columns=len(headers))
    return PrintTable(headers=headers, rows=rows, widths=layout.percentages(), font_size=layout.font_size)


def print_context(context: dict[str, Any]) -> dict[str, Any]:
    """The print template's context: the export context, the page marks as CSS strings and the
    tables with their column widths."""
    processes = context["processes"]
    return {
        **context,
        "css_running_title": _css_string(context["running_title"]),
        "css_stamp": _css_string(context["stamp"]),
        "css_footer_mark": _css_string(context["footer_mark"]),
        "print_sections": [
            {"section": section, "fields": [
                {"item": item, "table": _print_table(item.headers, item.rows) if item.is_table and item.rows else None}
                for item in section.fields
            ]}
            for section in context["sections"]
        ],
        "contacts_table": _print_table(
            ["Name", "Role", "Phone", "Email", "Notes"],
            [[c.get("name", ""), c.get("role", ""), c.get("phone", ""), c.get("email", ""), c.get("notes", "")]
             for c in context["contacts"]],
        ),
        # The process cell shows the description under the name: measured as two lines.
        "processes_table": _print_table(
            ["Process", "Impact", "RTO", "RPO", "MTPD", "Dependencies"], [],
            measure=[[f"{p['name']}\n{p['description']}", p["impact"], p["rto"], p["rpo"], p["mtpd"],
                      p["dependencies"]] for p in processes],
        ),
        "resources_table": _print_table(
            ["Resource", "Kind", "For process", "Primary source", "Alternate source", "Needed over time"],
            [[r["name"], r["kind_label"], r["process"], r["primary_source"], r["alternate_source"],
              r["quantities_label"]] for r in context["resources"] or []],
        ),
        "risks_table": _print_table(
            ["Threat", "Likelihood", "Impact", "Rating", "Owner", "Mitigation"],
            [[r["threat"], r["likelihood"], r["impact"], r["rating_label"], r["owner"], r["mitigation"]]
             for r in context["risks"]],
        ),
        "history_table": _print_table(
            ["Version", "Authored", "Author", "Change note", "Approved"],
            [[str(h["number"]), h["authored"], h["author"], h["note"], h["approved"] or "—"]
             for h in context["history"]],
        ),
    }


@lru_cache(maxsize=1)
def _print_html_class():
    """WeasyPrint's HTML with a lighter user-agent stylesheet: its own, without the rules for bare
    pseudo-elements (`::marker`, `::footnote-call`, `::note-call` ...).

    Those rules match every element, so WeasyPrint keeps six pseudo-element styles for every table
    cell: for a large plan about 30,000 styles and a quarter of the render's memory, for markers,
    footnotes and notes the print template never shows (its one list has no markers). The output
    is the same bytes. Should a WeasyPrint release move its stylesheet, its own HTML is used.
    """
    from weasyprint import CSS, HTML

    try:
        import tinycss2
        from weasyprint.css.counters import CounterStyle
        from weasyprint.html import UA
    except ImportError:
        return HTML
    rules = [rule for rule in tinycss2.parse_stylesheet(UA, skip_comments=True, skip_whitespace=True)
             if rule.type == "at-rule" or (rule.type == "qualified-rule"
                                           and not tinycss2.serialize(rule.prelude).lstrip().startswith("::"))]
    # (Its @counter-style rules fill a throwaway registry: documents use WeasyPrint's own.)
    stylesheet = CSS(string="\n".join(rule.serialize() for rule in rules), counter_style=CounterStyle())

    class PrintHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [stylesheet]

    return PrintHTML


# Python's cyclic garbage collector, while WeasyPrint lays out and writes a document: a first
# generation of this many objects (Python's default is 700; see `_fewer_gc_passes`).
GC_YOUNG_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_renders = 0
_gc_saved_thresholds: tuple[int, ...] = ()


@contextmanager
def _fewer_gc_passes():
    """Let Python's cyclic garbage collector run less often while a PDF is rendered.

    WeasyPrint allocates about half a million objects for a large plan, most of them freed only
    by the cyclic collector (boxes point to their parents). With the default thresholds that
    triggers a dozen full collections, each walking every object of the process: in a Django
    process (models, URL patterns, templates) the same HTML took about a fifth longer than in a
    bare interpreter. A larger first generation still frees the garbage as the layout goes
    (memory stays the same), and the objects the process held before the render are frozen
    (`gc.freeze`) so the one or two full collections left walk the render's objects only, not
    Django's. The thresholds and the frozen set are the process's, so concurrent renders
    (threads) count themselves in and the last one out restores them.
    """
    global _gc_renders, _gc_saved_thresholds
    with _gc_lock:
        if _gc_renders == 0:
            _gc_saved_thresholds = gc.get_threshold()
            gc.set_threshold(max(GC_YOUNG_THRESHOLD, _gc_saved_thresholds[0]), *_gc_saved_thresholds[1:])
            gc.freeze()
        _gc_renders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_renders -= 1
            if _gc_renders == 0:
                gc.unfreeze()
                gc.set_threshold(*_gc_saved_thresholds)


def pdf_from_template(template_name: str, context: dict[str, Any], *, identifier: str,
                      unavailable_note: str = "") -> bytes:
    """A print template rendered to PDF with the shipped fonts only: the one way every PDF of the
    product is made (plans, reports, break-glass packs).

    Refused (ServiceError "renderer_unavailable") when WeasyPrint cannot load its system
    libraries, naming them and the command that installs them (bcp_site.system_check), then
    `unavailable_note`. The template is rendered, laid out and written with fewer collector passes.
    """
    try:
        html_class = _print_html_class()
    except OSError as error:  # a library WeasyPrint opens with dlopen is missing
        from bcp_site.errors import ServiceError
        from bcp_site.system_check import weasyprint_problem

        logger.error("WeasyPrint cannot load its libraries: %s", error)
        raise ServiceError(
            f"PDF rendering is not available on this server: {weasyprint_problem() or error}.{unavailable_note}",
            code="renderer_unavailable",
        ) from error
    missing = [name for name in FONT_FILES if not (FONTS_DIR / name).is_file()]
    if missing:  # a fallback system font would change the bytes from machine to machine
        raise RuntimeError(f"the export fonts are missing from {FONTS_DIR}: {', '.join(missing)}")
    with _fewer_gc_passes():
        html = render_to_string(template_name, context)
        # Relative URLs (the @font-face sources) resolve in the fonts folder.
        source = html_class(string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=_fonts_only_fetcher())
        return source.render().write_pdf(pdf_identifier=identifier.encode())


def render_pdf(version: PlanVersion, *, context: dict[str, Any] | None = None) -> bytes:
    """The PDF of a version (deterministic: same version and marking, same bytes); refused with
    "renderer_unavailable" when WeasyPrint cannot load (`pdf_from_template`)."""
    context = context or export_context(version)
    return pdf_from_template(
        "plans/print/version.html", print_context(context),
        identifier=f"bcp-plan-{context['plan_id']}-v{context['version_number']}",
        unavailable_note=" The DOCX export still works.",
    )


# --------------------------------------------------------------------------------------
# DOCX (python-docx; the document itself is built in render_word)
# --------------------------------------------------------------------------------------


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
    document = build_docx(context)
    fixed = _docx_fixed_date(context).replace(tzinfo=None)
    props = document.core_properties
    props.title = f"{context['plan_title']} (version {context['version_number']})"
    props.subject = "Business continuity plan"
    props.author = context["author"]
    props.last_modified_by = context["author"]
    props.comments = f"{context['stamp']}. {context['approval_status']}."
    props.keywords = "business continuity plan"
    props.category = context["stamp"]
    props.revision = context["version_number"]
    props.created = fixed
    props.modified = fixed
    props.last_printed = fixed
    buffer = io.BytesIO()
    document.save(buffer)
    zip_date = max(fixed, datetime(1980, 1, 1))
    return _normalised_zip(buffer.getvalue(), zip_date.timetuple()[:6])


RENDERERS = {PDF: render_pdf, DOCX: render_docx}


def export_filename(context_or_version, kind: str) -> str:
    """The download name: `<plan title> v<n>.<ext>` (the browser sanitises further)."""
    if isinstance(context_or_version, PlanVersion):
        title, number = context_or_version.plan.title, context_or_version.version_number
    else:
        title, number = context_or_version["plan_title"], context_or_version["version_number"]
    safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in title).strip(" .") or "plan"
    return f"{safe[:80]} v{number}.{kind}"
