"""Drafts look like drafts: every page of an export says what the file is, and empty sections take a line.

A draft or superseded PDF carries DRAFT or SUPERSEDED on its cover and at the top and foot of
every page, and never "Controlled copy", which only the approved file says. The marking is part
of the file: the approved file people hold does not change when a later version is approved and
still verifies; the superseded copy is a new file.
"""

from __future__ import annotations

import io

import docx
import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from bcp_site.testing import make_plan, make_template, pdf_pages
from plans.exports import export_context, export_find, render_docx, render_pdf, sha256_bytes, version_export_store
from plans.models import IssuedFile, Plan
from plans.services import plan_prepare_edit, version_create

Marking = IssuedFile.Marking


def approve(plan, owner, reviewer, capture) -> None:
    from reviews import services as workflow

    with capture(execute=True):
        [review] = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    with capture(execute=True):
        workflow.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()


def new_revision(plan, owner) -> None:
    with transaction.atomic():
        plan_prepare_edit(plan=Plan.objects.select_for_update().get(pk=plan.pk), actor=owner)
    version_create(plan=plan, actor=owner, note="Second revision")
    plan.refresh_from_db()


def read(issued: IssuedFile) -> bytes:
    with default_storage.open(issued.storage_path, "rb") as handle:
        return handle.read()


def assert_marked(pages: list[str], mark: str) -> None:
    assert len(pages) > 3  # cover, contents, sections, lists: several pages to check
    for number, text in enumerate(pages, start=1):
        assert mark in text, f"page {number} does not say {mark}"
        assert "controlled copy" not in text.lower(), f"page {number} says Controlled copy"


def test_a_draft_says_draft_on_every_page_and_is_not_a_controlled_copy(plan, tmp_path):
    pages = pdf_pages(render_pdf(plan.current_version), tmp_path)
    assert_marked(pages, "DRAFT")
    assert "Draft: this version has not been approved" in pages[0]
    assert all("SUPERSEDED" not in text for text in pages)


def test_approved_then_superseded_files_are_marked_on_every_page_and_the_approved_one_still_verifies(
    plan, owner, reviewer, tmp_path, django_capture_on_commit_callbacks
):
    approve(plan, owner, reviewer, django_capture_on_commit_callbacks)
    v1 = plan.approved_version
    approved = IssuedFile.objects.get(version=v1, kind=IssuedFile.Kind.PLAN_PDF, marking=Marking.APPROVED)
    approved_bytes = read(approved)
    approved_pages = pdf_pages(approved_bytes, tmp_path)
    assert len(approved_pages) > 3
    for number, text in enumerate(approved_pages, start=1):
        assert "controlled copy" in text.lower(), f"page {number} of the approved file is not marked"
        assert "DRAFT" not in text and "SUPERSEDED" not in text

    new_revision(plan, owner)
    approve(plan, owner, reviewer, django_capture_on_commit_callbacks)
    assert plan.approved_version.version_number == 2

    superseded_bytes, superseded_digest = version_export_store(version=v1, kind="pdf")
    pages = pdf_pages(superseded_bytes, tmp_path)
    assert_marked(pages, "SUPERSEDED")
    assert "Superseded: a later version of this plan has been approved" in pages[0]
    assert all("DRAFT" not in text for text in pages)

    # The approved file people hold is the same file, and still verifies as the approved one.
    assert read(IssuedFile.objects.get(pk=approved.pk)) == approved_bytes
    match = export_find(digest=sha256_bytes(approved_bytes), organisation=plan.org)
    assert match is not None and match.issued.marking == Marking.APPROVED
    assert "version 1, approved on" in match.describe()
    assert "A later version of the plan has been approved since." in match.describe()
    superseded = export_find(digest=superseded_digest, organisation=plan.org)
    assert superseded is not None and superseded.issued.pk != approved.pk
    assert "marked superseded" in superseded.describe()


def test_the_docx_carries_the_marking_in_its_header_footer_cover_and_properties(plan):
    version = plan.current_version
    draft = docx.Document(io.BytesIO(render_docx(version)))
    assert draft.sections[0].header.paragraphs[0].text.endswith(" · DRAFT")
    assert "DRAFT · not approved" in draft.sections[0].footer._element.xml
    assert draft.paragraphs[1].text == "DRAFT"  # the cover's stamp, under the title
    assert draft.core_properties.category == "DRAFT"
    assert "controlled copy" not in draft.element.xml.lower()

    superseded = docx.Document(io.BytesIO(render_docx(version, context=export_context(version, marking="superseded"))))
    assert superseded.sections[0].header.paragraphs[0].text.endswith(" · SUPERSEDED")
    assert "SUPERSEDED" in superseded.sections[0].footer._element.xml
    assert "controlled copy" not in superseded.element.xml.lower()

    approved = docx.Document(io.BytesIO(render_docx(version, context=export_context(version, marking="approved"))))
    assert approved.sections[0].header.paragraphs[0].text.endswith(" · Controlled copy")
    assert approved.paragraphs[1].text == "Controlled copy"
    assert "DRAFT" not in approved.element.xml and "SUPERSEDED" not in approved.element.xml


GAPPY_SCHEMA = {
    "sections": [
        {"key": "overview", "title": "Plan overview", "order": 1, "fields": [
            {"key": "purpose", "label": "Purpose", "type": "textarea", "required": True, "default": ""},
            {"key": "owner_note", "label": "Owner note", "type": "text", "required": False},
        ]},
        {"key": "suppliers", "title": "Key suppliers", "order": 2, "fields": [
            {"key": "supplier_list", "label": "Supplier list", "type": "table", "required": False,
             "columns": [{"key": "name", "label": "Supplier", "type": "text"}]},
            {"key": "contract", "label": "Contract reference", "type": "text", "required": False},
        ]},
        {"key": "exercises", "title": "Exercise programme", "order": 3, "fields": [
            {"key": "cadence", "label": "Exercise cadence", "type": "text", "required": False},
        ]},
        {"key": "review", "title": "Maintenance and review", "order": 4, "fields": [
            {"key": "cadence", "label": "Review cadence", "type": "text", "required": True, "default": ""},
        ]},
    ]
}


@pytest.fixture
def gappy_plan(org, owner):
    """Sections 2 and 3 empty, section 1 with one empty field."""
    template = make_template(name="Gappy template", schema=GAPPY_SCHEMA)
    plan = make_plan(org, owner, template=template, title="Depot plan", ready=False)
    plan.draft_content_json = {
        "overview": {"purpose": "Keep the depot running."}, "suppliers": {"supplier_list": [], "contract": ""},
        "exercises": {}, "review": {"cadence": "Every spring"},
    }
    plan.save()
    return version_create(plan=plan, actor=owner, note="Partly filled")


def test_empty_sections_take_a_line_not_a_page_in_the_pdf(gappy_plan, tmp_path):
    pages = pdf_pages(render_pdf(gappy_plan), tmp_path)
    [overview] = [text for text in pages if "Keep the depot running." in text]
    # Both empty sections follow the overview on its page, one line each.
    assert "Key suppliers" in overview and "Exercise programme" in overview
    assert overview.count("Not filled in") == 3  # the overview's empty field and the two sections
    assert "Supplier list" not in overview and "Exercise cadence" not in overview  # no empty field headings
    assert "—" not in overview
    # The next filled section starts its own page, as before.
    [review] = [text for text in pages if "Every spring" in text]
    assert review is not overview and "Maintenance and review" in review


def test_empty_sections_take_a_line_in_the_docx(gappy_plan):
    document = docx.Document(io.BytesIO(render_docx(gappy_plan)))
    lines = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    suppliers = lines.index(("Heading 1", "Key suppliers"))
    assert lines[suppliers + 1] == ("Normal", "Not filled in")
    assert lines[suppliers + 2] == ("Heading 1", "Exercise programme")
    assert lines[suppliers + 3] == ("Normal", "Not filled in")
    overview = lines.index(("Heading 1", "Plan overview"))
    assert lines[overview + 1: overview + 5] == [
        ("Heading 2", "Purpose"), ("Normal", "Keep the depot running."),
        ("Heading 2", "Owner note"), ("Normal", "Not filled in"),
    ]


def test_a_title_with_quotes_and_markup_shows_as_written_in_the_page_header(org, owner, tmp_path):
    title = 'Site "B" \\ </style><p>Depot'
    plan = make_plan(org, owner, title=title)
    pages = pdf_pages(render_pdf(plan.current_version), tmp_path)
    assert f"{title} · version 1" in pages[1]
