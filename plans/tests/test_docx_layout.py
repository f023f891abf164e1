"""DOCX tables as a word processor lays them out: widths that fit their words, repeated headers, whole rows.

Column widths come from the content: each column at least as wide as its longest word (up to
20 characters) at the table's font size, the grid and every cell saying the same width, the
table exactly as wide as the page's text, in a fixed layout. LibreOffice, when installed,
lays the file out without breaking any such word.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import docx
import pytest
from docx.oxml.ns import qn

from bcp_site.testing import docx_to_pdf, make_plan, make_template
from plans.exports import export_context, render_docx
from plans.exports.render_layout import WORD_LIMIT, text_units
from plans.exports.render_word import RATING_FILLS
from plans.models import Contact, Process, Risk
from plans.risk import risk_rating
from plans.services import version_create

CELL_MARGINS_PT = 2 * 108 / 20  # the "Table Grid" style's left and right cell margins

SCHEMA = {
    "sections": [
        {"key": "strategies", "title": "Recovery strategies", "order": 1, "fields": [
            {"key": "strategy_list", "label": "Strategies", "type": "table", "required": False, "columns": [
                {"key": "activity", "label": "Activity", "type": "text"},
                {"key": "strategy", "label": "Strategy", "type": "text"},
                {"key": "site", "label": "Alternate site", "type": "text"},
                {"key": "contact", "label": "Contact", "type": "email"},
                {"key": "time", "label": "Recovery time", "type": "duration"},
                {"key": "notes", "label": "Notes", "type": "textarea"},
            ]},
        ]},
    ]
}
STRATEGIES = [
    {"activity": "Telecommunications", "strategy": "Interdepartmental failover", "site": "Northampton",
     "contact": "maria@example.org", "time": 240,
     "notes": "Switch the inbound numbers to the secondary carrier; confirm with the switchboard supervisor."},
    {"activity": "Payroll", "strategy": "Outsourced bureau", "site": "Remote", "contact": "payroll@example.org",
     "time": 2880, "notes": "Bureau holds a copy of the last three runs."},
]


@pytest.fixture
def awkward_plan(org, owner):
    """Long words in every table: emails, "Insignificant", "Telecommunications", long names."""
    plan = make_plan(org, owner, template=make_template(name="Strategy template", schema=SCHEMA),
                     title="Distribution centre", ready=False)
    plan.draft_content_json = {"strategies": {"strategy_list": STRATEGIES}}
    plan.save()
    Contact.objects.create(plan=plan, name="María Fernández-Ochoa", role="Incident coordinator",
                           phone="+44 20 7946 0958", email="maria@example.org", notes="Out of hours on mobile")
    Contact.objects.create(plan=plan, name="Bartholomew Featherstonehaugh", role="Facilities",
                           phone="07700 900123", email="bart@example.org")
    Process.objects.create(plan=plan, name="Warehouse dispatching", description="Picking, packing and loading.",
                           rto_minutes=240, rpo_minutes=60, mtpd_minutes=2880, impact_rating=Process.Impact.CRITICAL,
                           dependencies_json=["Warehouse management system", "Telephony"])
    levels = [(Risk.Likelihood.ALMOST_CERTAIN, Risk.Impact.INSIGNIFICANT),
              (Risk.Likelihood.ALMOST_CERTAIN, Risk.Impact.SEVERE),
              (Risk.Likelihood.LIKELY, Risk.Impact.MAJOR), (Risk.Likelihood.UNLIKELY, Risk.Impact.MINOR)]
    for threat, (likelihood, impact) in zip(("Ransomware encryption", "River flooding", "Supplier insolvency",
                                             "Telecommunications outage"), levels, strict=True):
        Risk.objects.create(plan=plan, threat=threat, likelihood=likelihood, impact=impact,
                            rating=risk_rating(likelihood, impact), owner_user=owner,
                            mitigation="Immutable offsite backups, tested quarterly")
    return version_create(plan=plan, actor=owner, note="Filled in")


def tables_of(data: bytes):
    document = docx.Document(io.BytesIO(data))
    return document, document.tables


def font_size_pt(table) -> float:
    """The table's font size: the size its runs give (every run of a table has the same)."""
    sizes = {run.font.size.pt for row in table.rows for cell in row.cells for p in cell.paragraphs for run in p.runs}
    assert len(sizes) == 1, sizes
    return sizes.pop()


def test_column_widths_fit_each_columns_longest_word_and_fill_the_text_width(awkward_plan):
    document, tables = tables_of(render_docx(awkward_plan))
    section = document.sections[0]
    text_width = round((section.page_width - section.left_margin - section.right_margin) / 635)  # EMU -> twips
    headers = {tuple(cell.text for cell in table.rows[0].cells) for table in tables}
    assert ("Activity", "Strategy", "Alternate site", "Contact", "Recovery time", "Notes") in headers
    assert ("Threat", "Likelihood", "Impact", "Rating", "Owner", "Mitigation") in headers
    for table in tables:
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(col.get(qn("w:w"))) for col in tbl.tblGrid.findall(qn("w:gridCol"))]
        assert sum(grid) == text_width == int(tbl.tblPr.find(qn("w:tblW")).get(qn("w:w")))
        size = font_size_pt(table)
        for row_index, row in enumerate(table.rows):
            cells = row._tr.findall(qn("w:tc"))
            assert [int(tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for tc in cells] == grid
            for column, cell in enumerate(row.cells):
                for word in cell.text.split():
                    needed = text_units(word[:WORD_LIMIT], row_index == 0) * size / 2048 + CELL_MARGINS_PT
                    assert grid[column] / 20 >= needed, (
                        f"{word!r} needs {needed:.1f}pt, column {column} is {grid[column] / 20:.1f}pt"
                    )


def test_header_rows_repeat_and_rows_are_kept_on_one_page(awkward_plan):
    _document, tables = tables_of(render_docx(awkward_plan))
    assert len(tables) >= 6  # the strategies, contacts, processes, heat map, risks and history
    for table in tables:
        rows = [row._tr for row in table.rows]
        assert rows[0].xpath("./w:trPr/w:tblHeader"), "the header row repeats on every page"
        assert all(not row.xpath("./w:trPr/w:tblHeader") for row in rows[1:])
        assert all(row.xpath("./w:trPr/w:cantSplit") for row in rows), "a row never splits across pages"


def test_risk_ratings_and_the_heat_map_are_coloured_by_rating(awkward_plan):
    _document, tables = tables_of(render_docx(awkward_plan))

    def fill(cell) -> str | None:
        shading = cell._tc.tcPr.find(qn("w:shd"))
        return None if shading is None else shading.get(qn("w:fill"))

    [risks] = [t for t in tables if t.rows[0].cells[0].text == "Threat"]
    ratings = {row.cells[3].text: fill(row.cells[3]) for row in risks.rows[1:]}
    assert ratings == {"Medium": RATING_FILLS["medium"], "High": RATING_FILLS["high"],
                       "Extreme": RATING_FILLS["extreme"], "Low": RATING_FILLS["low"]}
    assert {fill(row.cells[0]) for row in risks.rows[1:]} == {None}  # only the rating is coloured

    [heatmap] = [t for t in tables if t.rows[0].cells[0].text.startswith("Likelihood")]
    bands = {cell["band"] for row in export_context(awkward_plan)["heatmap"]["rows"] for cell in row["cells"]}
    assert {fill(cell) for row in heatmap.rows[1:] for cell in row.cells[1:]} == {RATING_FILLS[b] for b in bands}


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_breaks_no_word_of_up_to_20_characters_in_a_table(awkward_plan, tmp_path):
    data = render_docx(awkward_plan)
    pdf = docx_to_pdf(data, tmp_path)
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    laid_out = set(text.split())
    _document, tables = tables_of(data)
    words = {word for table in tables for row in table.rows for cell in row.cells for word in cell.text.split()
             if len(word) <= WORD_LIMIT}
    assert {"Telecommunications", "maria@example.org", "Insignificant", "Featherstonehaugh"} <= words
    broken = sorted(word for word in words if word not in laid_out)
    assert not broken, f"LibreOffice broke these words inside a cell: {broken}"
