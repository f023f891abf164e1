"""The DOCX of a version (python-docx), built from the export context of `plans.exports.render`.

Tables are written as WordprocessingML directly (one parse per table instead of python-docx's
row-by-row API, which grows with every row): a fixed layout whose grid and cell widths come from
the content (`render_layout`), the header row repeated on every page, rows that never split
across pages, and risk ratings shaded by rating.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from .render_layout import table_layout

# A4 with 2 cm margins: the text is 170 mm wide.
PAGE_WIDTH_MM, PAGE_HEIGHT_MM, MARGIN_MM = 210, 297, 20
TWIPS_PER_MM = 1440 / 25.4
TEXT_WIDTH_TWIPS = round((PAGE_WIDTH_MM - 2 * MARGIN_MM) * TWIPS_PER_MM)
# Table text sizes (points) to try, largest first, and what a cell adds to its text: the
# "Table Grid" style's 108-twip left and right cell margins and a border, in points.
TABLE_FONT_SIZES = (9.0, 8.5, 8.0, 7.5, 7.0)
CELL_PADDING_PT = 2 * 108 / 20 + 0.75
HEADER_FILL = "EEF1F6"
RATING_FILLS = {"low": "CFE8D5", "medium": "FDF0C2", "high": "F9D2A7", "extreme": "F4B4AE"}
BODY_FONT = "Calibri"
NOT_FILLED_IN = "Not filled in"

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# Characters XML 1.0 does not allow (a pasted control character must not break the file).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _runs(text: str, rpr: str) -> str:
    """Runs for `text`: line breaks become <w:br/>, tabs <w:tab/>."""
    parts = []
    for number, line in enumerate(_NOT_XML.sub("", str(text)).replace("\r\n", "\n").split("\n")):
        if number:
            parts.append("<w:br/>")
        for index, chunk in enumerate(line.split("\t")):
            if index:
                parts.append("<w:tab/>")
            if chunk:
                parts.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return f"<w:r>{rpr}{''.join(parts)}</w:r>" if parts else ""


def _cell(text: str, width: int, rpr: str, fill: str | None) -> str:
    shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr>'
            f'<w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>{_runs(text, rpr)}</w:p>'
            "</w:tc>")


Cell = str | tuple[str, str | None]  # text, or (text, fill colour)


def table_xml(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, style_id: str) -> str:
    """A table as WordprocessingML: fixed layout, widths from the content, repeated header, rows kept whole."""
    columns = max(1, len(headers))
    texts = [[cell[0] if isinstance(cell, tuple) else cell for cell in row] for row in rows]
    layout = table_layout(headers, texts, width=TEXT_WIDTH_TWIPS / 20, padding=CELL_PADDING_PT,
                          font_sizes=TABLE_FONT_SIZES, columns=columns)
    widths = [round(width * 20) for width in layout.widths]
    widths[-1] += TEXT_WIDTH_TWIPS - sum(widths)  # whole twips that add up to the text width
    half_points = round(layout.font_size * 2)
    size = f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'
    body_rpr, header_rpr = f"<w:rPr>{size}</w:rPr>", f"<w:rPr><w:b/>{size}</w:rPr>"
    out = [
        f'<w:tbl xmlns:w="{W_NS}"><w:tblPr><w:tblStyle w:val="{style_id}"/>'
        f'<w:tblW w:w="{TEXT_WIDTH_TWIPS}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
        'w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>',
        *(f'<w:gridCol w:w="{width}"/>' for width in widths),
        "</w:tblGrid><w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>",
    ]
    for index in range(columns):
        text = headers[index] if index < len(headers) else ""
        out.append(_cell(text, widths[index], header_rpr, HEADER_FILL))
    out.append("</w:tr>")
    for row in rows:
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        for index in range(columns):
            cell = row[index] if index < len(row) else ""
            text, fill = cell if isinstance(cell, tuple) else (cell, None)
            out.append(_cell(text, widths[index], body_rpr, fill))
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _field(paragraph, instruction: str, placeholder: str = "") -> None:
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


class _Writer:
    """Appends to the body of a python-docx Document, with the styles looked up once."""

    def __init__(self, document):
        from docx.shared import Pt, RGBColor

        self.document = document
        styles = document.styles
        self.styles = {name: styles[name] for name in ("Heading 1", "Heading 2", "Title", "Subtitle", "TOC Heading")}
        self.table_style_id = styles["Table Grid"].style_id
        self.body = document.element.body
        self.grey, self.red, self.small = RGBColor(0x5B, 0x65, 0x75), RGBColor(0xB3, 0x26, 0x1E), Pt(9)

    def heading(self, text: str, level: int):
        return self.document.add_paragraph(_NOT_XML.sub("", text), style=self.styles[f"Heading {level}"])

    def paragraph(self, text: str = "", style: str | None = None):
        return self.document.add_paragraph(_NOT_XML.sub("", text), style=self.styles[style] if style else None)

    def not_filled_in(self, text: str = NOT_FILLED_IN) -> None:
        run = self.document.add_paragraph().add_run(text)
        run.italic = True
        run.font.color.rgb = self.grey

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        from docx.oxml import parse_xml

        element = parse_xml(table_xml(headers, rows, style_id=self.table_style_id))
        section_properties = self.body.sectPr
        if section_properties is not None:
            section_properties.addprevious(element)
        else:
            self.body.append(element)


def _page_setup(document, context: dict[str, Any], writer: _Writer) -> None:
    from docx.shared import Mm

    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Mm(MARGIN_MM)
    marked = context["marking"] != "approved"

    header = section.header.paragraphs[0]
    header.add_run(f"{context['running_title']} · ")
    mark = header.add_run(context["stamp"])
    if marked:
        mark.bold = True
        mark.font.color.rgb = writer.red

    footer = section.footer.paragraphs[0]
    footer_mark = footer.add_run(context["footer_mark"])
    if marked:
        footer_mark.bold = True
    footer.add_run(" · Page ")
    _field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES", "1")


def build_docx(context: dict[str, Any]):
    """The python-docx Document of an export context (not saved)."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.shared import Pt

    document = docx.Document()
    package = document.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:  # the default template's thumbnail is not this document
            del package.rels[r_id]
    # Calibri (Carlito, its metric twin, in LibreOffice) rather than the default template's Cambria:
    # a sans-serif like the PDF's DejaVu Sans, and never wider than it, which the table widths assume.
    document.styles["Normal"].font.name = BODY_FONT
    write = _Writer(document)
    _page_setup(document, context, write)

    # Cover
    write.paragraph(context["plan_title"], "Title")
    stamp = write.paragraph(style="Subtitle").add_run(context["stamp"])
    if context["marking"] != "approved":
        stamp.bold, stamp.font.size, stamp.font.color.rgb = True, Pt(28), write.red
    if context["marking_warning"]:
        warning = write.paragraph().add_run(context["marking_warning"])
        warning.bold, warning.font.color.rgb = True, write.red
    cover = [
        ("Organisation", context["organisation"] or "—"),
        ("Version", str(context["version_number"])),
        ("Status", context["approval_status"]),
        ("Approved on", context["approved_on"] or "—"),
        ("Approved by", ", ".join(context["approvers"]) or "—"),
        ("Authored", f"{context['authored']} by {context['author']}"),
        *([("Change note", context["change_note"])] if context["change_note"] else []),
        ("Template", context["template_name"]),
    ]
    for label, value in cover:
        paragraph = write.paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(_NOT_XML.sub("", value))
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # Table of contents: a TOC field (Word refreshes it) whose stored result lists the headings.
    write.paragraph("Contents", "TOC Heading")
    headings = [s.title for s in context["sections"]] + [
        "Contacts", "Critical processes", "Resources", "Risk register", "Revision history",
    ]
    _field(document.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u', _NOT_XML.sub("", "\n".join(headings)))
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    for item in context["sections"]:
        write.heading(item.title, 1)
        if item.empty:  # one line, not a heading for every empty field
            write.not_filled_in()
            continue
        for entry in item.fields:
            write.heading(entry.label, 2)
            if entry.empty:
                write.not_filled_in()
            elif entry.is_table:
                write.table(entry.headers, entry.rows)
            else:
                write.paragraph(entry.text)

    write.heading("Contacts", 1)
    if context["contacts"]:
        write.table(["Name", "Role", "Phone", "Email", "Notes"], [
            [c.get("name", ""), c.get("role", ""), c.get("phone", ""), c.get("email", ""), c.get("notes", "")]
            for c in context["contacts"]
        ])
    else:
        write.not_filled_in("No contacts.")

    write.heading("Critical processes", 1)
    if context["processes"]:
        write.table(["Process", "Impact", "RTO", "RPO", "MTPD", "Dependencies"], [
            [p["name"] + (f"\n{p['description']}" if p["description"] else ""), p["impact"], p["rto"], p["rpo"],
             p["mtpd"], p["dependencies"]]
            for p in context["processes"]
        ])
    else:
        write.not_filled_in("No critical processes.")

    write.heading("Resources", 1)
    if context["resources"]:
        write.table(["Resource", "Kind", "For process", "Primary source", "Alternate source", "Needed over time"], [
            [r["name"] + (f"\n{r['notes']}" if r["notes"] else ""), r["kind_label"], r["process"],
             r["primary_source"], r["alternate_source"], r["quantities_label"]]
            for r in context["resources"]
        ])
    elif context["resources"] is None:
        write.not_filled_in("Not recorded: this version was written before resources were kept.")
    else:
        write.not_filled_in("No resources.")

    write.heading("Risk register", 1)
    write.heading("Heat map", 2)
    heatmap = context["heatmap"]
    write.table(
        ["Likelihood \\ Impact", *(impact["label"] for impact in heatmap["impacts"])],
        [[row["label"], *((str(cell["count"]) if cell["count"] else "", RATING_FILLS.get(cell["band"], "FFFFFF"))
                          for cell in row["cells"])] for row in heatmap["rows"]],
    )
    write.heading("Risks", 2)
    if context["risks"]:
        write.table(["Threat", "Likelihood", "Impact", "Rating", "Owner", "Mitigation"], [
            [r["threat"], r["likelihood"], r["impact"], (r["rating_label"], RATING_FILLS.get(r["rating"])),
             r["owner"], r["mitigation"]]
            for r in context["risks"]
        ])
    else:
        write.not_filled_in("No risks.")

    write.heading("Revision history", 1)
    write.table(["Version", "Authored", "Author", "Change note", "Approved"], [
        [str(h["number"]), h["authored"], h["author"], h["note"], h["approved"] or "—"] for h in context["history"]
    ])
    return document
