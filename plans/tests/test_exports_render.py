"""PDF and DOCX exports read back by real readers; same version, same bytes; old versions as they were."""

import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import docx
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from bcp_site.testing import docx_to_pdf, make_plan, make_template, make_user, pdf_pages, pdf_text
from plans.exports import (
    export_context,
    export_find,
    format_utc,
    render_docx,
    render_pdf,
    sha256_bytes,
    version_export_store,
    version_exports_store,
)
from plans.models import Audit, Contact, IssuedFile, Plan, PlanVersion, Process, Risk
from plans.services import version_create
from reviews.models import Review
from templates_app.values import format_minutes

TABLE_SCHEMA = {
    "sections": [
        {
            "key": "overview", "title": "Plan overview", "order": 1, "help": "What the plan covers.",
            "fields": [
                {"key": "purpose", "label": "Purpose", "type": "textarea", "required": True, "default": ""},
                {"key": "rto_target", "label": "Recovery target", "type": "duration", "required": False},
            ],
        },
        {
            "key": "suppliers", "title": "Key suppliers", "order": 2,
            "fields": [
                {"key": "supplier_list", "label": "Supplier list", "type": "table", "required": False,
                 "columns": [{"key": "name", "label": "Supplier", "type": "text"},
                             {"key": "phone", "label": "Hotline", "type": "text"}]},
            ],
        },
    ]
}


@pytest.fixture
def filled_plan(org, owner):
    """A plan with section values (incl. a table), contacts, processes and risks, saved as version 2."""
    template = make_template(name="Table template", schema=TABLE_SCHEMA)
    plan = make_plan(org, owner, template=template, title="Warehouse continuity", ready=False)
    plan.draft_content_json = {
        "overview": {"purpose": "Keep the warehouse shipping after a flood.", "rto_target": 270},
        "suppliers": {"supplier_list": [{"name": "Fuel Direct", "phone": "0800 111"},
                                        {"name": "Generator Hire", "phone": "0800 222"}]},
    }
    plan.save()
    Contact.objects.create(plan=plan, name="Alice Marsh", role="Incident lead", phone="+44 1", email="a@example.org")
    Contact.objects.create(plan=plan, name="Bob Stone", role="Facilities")
    Process.objects.create(plan=plan, name="Order picking", rto_minutes=240, rpo_minutes=60, mtpd_minutes=1440,
                           impact_rating=Process.Impact.CRITICAL, dependencies_json=["WMS"])
    Risk.objects.create(plan=plan, threat="River flood", likelihood=Risk.Likelihood.POSSIBLE,
                        impact=Risk.Impact.SEVERE, rating=Risk.Rating.HIGH, mitigation="Sandbags")
    version_create(plan=plan, actor=owner, note="Filled in")
    plan.refresh_from_db()
    return plan


def approve(plan: Plan, version: PlanVersion, reviewers, *, at: datetime) -> None:
    for reviewer in reviewers:
        Review.objects.create(
            plan=plan, version=version, round_number=1, requested_by_user=plan.owner_user, reviewer_user=reviewer,
            status=Review.Status.APPROVED, requested_at_utc=at - timedelta(days=1), decided_at_utc=at,
        )
    plan.status = Plan.Status.APPROVED
    plan.approved_version = version
    plan.approved_at_utc = at
    plan.save()
    version.approved_at_utc, version.approval_round = at, 1  # as review_approve records it
    version.save(update_fields=["approved_at_utc", "approval_round"])


def test_pdf_shows_cover_sections_tables_contacts_processes_risks_and_history(filled_plan, tmp_path):
    version = filled_plan.current_version
    text = pdf_text(render_pdf(version), tmp_path)
    # cover
    assert "Warehouse continuity" in text
    assert "Acme Ltd" in text
    assert "Not approved" in text
    assert "DRAFT" in text and "Draft: this version has not been approved" in text
    assert "controlled copy" not in text.lower()  # only the approved file is a controlled copy
    # table of contents and sections in template order
    assert "Contents" in text
    assert text.index("Plan overview") < text.index("Key suppliers") < text.index("Revision history")
    assert "Keep the warehouse shipping after a flood." in text
    assert format_minutes(270) in text  # duration field through the shared display helper
    # a table field is a table: its column headings and cells are there
    assert "Supplier" in text and "Hotline" in text and "Fuel Direct" in text and "0800 222" in text
    # contacts, processes with RTO/RPO/MTPD, risk register with heat map
    assert "Alice Marsh" in text and "Bob Stone" in text
    assert "Order picking" in text and format_minutes(240) in text and format_minutes(1440) in text
    assert "River flood" in text and "Sandbags" in text
    assert "Risks by likelihood and impact" in text
    # revision history and running header / page numbers
    assert "Filled in" in text and "Created from template" in text
    assert "Warehouse continuity · version 2" in text
    assert "Page 1 of" in text


def test_contents_lead_each_chapter_to_the_page_it_starts_on(filled_plan, tmp_path):
    pages = pdf_pages(render_pdf(filled_plan.current_version), tmp_path)
    entry = re.compile(r"^\s*(\S.*?)\s*\.[. ]{3,}\s*(\d+)\s*$")  # "Contacts ........ 4"
    contents = dict(match.groups() for line in pages[1].splitlines() if (match := entry.match(line)))
    assert list(contents) == ["Plan overview", "Key suppliers", "Contacts", "Critical processes", "Resources",
                              "Risk register", "Revision history"]
    for title, page in contents.items():
        headings = [line.strip() for line in pages[int(page) - 1].splitlines()]
        assert title in headings, f"{title} is not on page {page}"


def test_a_long_title_in_the_page_header_stays_clear_of_the_marking(org, owner, tmp_path):
    title = " ".join(["Warehouse"] * 25)[:255]  # the longest title a plan can have
    plan = make_plan(org, owner, title=title, ready=False)
    version = version_create(plan=plan, actor=owner, note="Long title")
    path = tmp_path / "long.pdf"
    path.write_bytes(render_pdf(version))
    page_two = subprocess.run(["pdftotext", "-bbox", "-f", "2", "-l", "2", str(path), "-"],
                              capture_output=True, check=True, text=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                       page_two)
    header = [(float(x0), float(x1), word) for x0, x1, y_max, word in words
              if float(y_max) < 22 * 72 / 25.4]  # in the top margin
    stamp = next(x0 for x0, _x1, word in header if word == "DRAFT")
    title_words = [x1 for _x0, x1, word in header if word == "Warehouse"]
    assert len(title_words) >= 10  # the title wraps in the header instead of being cut
    assert max(title_words) < stamp


def test_the_lighter_user_agent_stylesheet_changes_nothing_in_the_file(filled_plan):
    """PDFs are laid out with WeasyPrint's own user-agent stylesheet minus its rules for bare
    pseudo-elements (plans.exports.render._print_html_class): the file must be the same bytes."""
    import weasyprint
    from django.template.loader import render_to_string

    from plans.exports import render as exports

    html = render_to_string("plans/print/version.html",
                            exports.print_context(export_context(filled_plan.current_version)))

    def pdf(html_class) -> bytes:
        source = html_class(string=html, base_url=exports.FONTS_DIR.as_uri() + "/",
                            url_fetcher=exports._fonts_only_fetcher())
        return source.render().write_pdf(pdf_identifier=b"same")

    lighter = exports._print_html_class()
    assert lighter is not weasyprint.HTML  # the lighter stylesheet is in use with this WeasyPrint
    assert pdf(lighter) == pdf(weasyprint.HTML)


def test_pdf_cover_names_approval_date_and_approvers(filled_plan, reviewer, reviewer2, tmp_path):
    version = filled_plan.current_version
    approve(filled_plan, version, [reviewer, reviewer2], at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    text = pdf_text(render_pdf(version), tmp_path)
    assert "Approved" in text
    assert "2025-03-14 09:30 UTC" in text
    assert "Reviewer" in text and "Reviewer2" in text


def test_docx_has_word_headings_tables_with_repeated_header_and_page_field(filled_plan):
    data = render_docx(filled_plan.current_version)
    document = docx.Document(io.BytesIO(data))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert ("Heading 1", "Plan overview") in headings
    assert ("Heading 1", "Key suppliers") in headings
    assert ("Heading 2", "Supplier list") in headings
    assert ("Heading 1", "Contacts") in headings
    assert ("Heading 1", "Critical processes") in headings
    assert ("Heading 1", "Risk register") in headings
    assert ("Heading 1", "Revision history") in headings
    body = "\n".join(p.text for p in document.paragraphs)
    assert "Keep the warehouse shipping after a flood." in body

    tables = {tuple(c.text for c in t.rows[0].cells): t for t in document.tables}
    suppliers = tables[("Supplier", "Hotline")]
    assert [c.text for c in suppliers.rows[1].cells] == ["Fuel Direct", "0800 111"]
    contacts = tables[("Name", "Role", "Phone", "Email", "Notes")]
    assert {row.cells[0].text for row in contacts.rows[1:]} == {"Alice Marsh", "Bob Stone"}
    processes = tables[("Process", "Impact", "RTO", "RPO", "MTPD", "Dependencies")]
    assert [c.text for c in processes.rows[1].cells] == [
        "Order picking", "Critical", format_minutes(240), format_minutes(60), format_minutes(1440), "WMS",
    ]
    for table in (suppliers, contacts, processes):
        assert table.rows[0]._tr.xpath("./w:trPr/w:tblHeader"), "header row must repeat on every page"

    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert "DRAFT · not approved" in footer_xml and "Controlled copy" not in footer_xml
    assert document.sections[0].header.paragraphs[0].text == "Warehouse continuity · version 2 · DRAFT"


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_the_docx(filled_plan, tmp_path):
    pdf = docx_to_pdf(render_docx(filled_plan.current_version), tmp_path)
    assert pdf.startswith(b"%PDF") and "Warehouse continuity" in pdf_text(pdf, tmp_path)


def test_rendering_leaves_the_garbage_collectors_thresholds_as_they_were(filled_plan):
    """The PDF render runs the collector less often (README, "Performance"), then puts it back."""
    import gc

    before = gc.get_threshold()
    render_pdf(filled_plan.current_version)
    assert gc.get_threshold() == before and gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing is left out of the collector's reach


def test_exporting_twice_gives_identical_bytes(filled_plan, settings):
    version = filled_plan.current_version
    first_pdf, first_docx = render_pdf(version), render_docx(version)
    settings.TIME_ZONE = "America/New_York"  # the display time zone must not leak into the files
    timezone.deactivate()
    assert render_pdf(version) == first_pdf
    assert render_docx(version) == first_docx


def test_docx_dates_come_from_the_version(filled_plan):
    version = filled_plan.current_version
    version.authored_at_utc = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    version.save()
    data = render_docx(version)
    document = docx.Document(io.BytesIO(data))
    assert document.core_properties.created == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert document.core_properties.modified == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert document.core_properties.last_printed == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert entries[0].filename == "[Content_Types].xml"
    assert {e.date_time for e in entries} == {(2024, 6, 1, 12, 0, 0)}


def test_old_version_exports_as_it_was_after_live_rows_changed(filled_plan, owner, tmp_path):
    old = filled_plan.current_version
    old_pdf, old_docx = render_pdf(old), render_docx(old)

    Contact.objects.filter(name="Alice Marsh").update(name="Carol New")
    filled_plan.draft_content_json["overview"]["purpose"] = "A completely new purpose."
    filled_plan.save()
    new = version_create(plan=filled_plan, actor=owner, note="Rewritten")

    assert render_pdf(old) == old_pdf
    assert render_docx(old) == old_docx
    old_text = pdf_text(old_pdf, tmp_path)
    assert "Alice Marsh" in old_text and "Carol New" not in old_text
    assert "Keep the warehouse shipping after a flood." in old_text
    new_text = pdf_text(render_pdf(new), tmp_path)
    assert "Carol New" in new_text and "A completely new purpose." in new_text and "Rewritten" in new_text


def test_store_records_an_issued_file_and_audits(filled_plan, owner):
    version = filled_plan.current_version
    data, digest = version_export_store(version=version, kind="pdf", actor=owner)
    issued = IssuedFile.objects.get(version=version, kind=IssuedFile.Kind.PLAN_PDF)
    assert issued.sha256 == digest == sha256_bytes(data)
    assert issued.marking == IssuedFile.Marking.DRAFT and issued.org == filled_plan.org
    assert issued.storage_path == f"exports/plan-{filled_plan.pk}/v2-draft-{digest[:16]}.pdf"
    assert issued.size_bytes == len(data) and issued.issued_by_user == owner
    with default_storage.open(issued.storage_path, "rb") as handle:
        assert handle.read() == data
    entry = Audit.objects.get(plan=filled_plan, action="export_created")
    assert entry.details_json["sha256"] == digest and entry.details_json["format"] == "pdf"
    assert entry.details_json["marking"] == "draft"
    # storing the same version again changes nothing and writes no second audit row
    assert version_export_store(version=version, kind="pdf", actor=owner) == (data, digest)
    assert Audit.objects.filter(plan=filled_plan, action="export_created").count() == 1
    assert IssuedFile.objects.count() == 1
    # the version's own hash columns mirror the approved copy only
    version.refresh_from_db()
    assert version.pdf_export_hash == ""


def test_approval_issues_approved_files_and_keeps_the_draft_copy(
    filled_plan, reviewer, django_capture_on_commit_callbacks
):
    version = filled_plan.current_version
    draft_data, draft_digest = version_export_store(version=version, kind="pdf")
    draft = IssuedFile.objects.get(version=version, kind=IssuedFile.Kind.PLAN_PDF)
    approve(filled_plan, version, [reviewer], at=datetime(2025, 1, 2, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        version_exports_store(version_id=version.pk)

    version.refresh_from_db()
    approved = IssuedFile.objects.get(version=version, kind=IssuedFile.Kind.PLAN_PDF,
                                      marking=IssuedFile.Marking.APPROVED)
    assert approved.sha256 != draft_digest  # the cover now says approved
    assert version.pdf_export_hash == approved.sha256 and version.pdf_export_path == approved.storage_path
    assert version.docx_export_hash and version.docx_export_path.endswith(f"-{version.docx_export_hash[:16]}.docx")
    assert default_storage.exists(approved.storage_path)
    # the draft copy someone downloaded before is left as it was, and still verifies
    draft.refresh_from_db()
    with default_storage.open(draft.storage_path, "rb") as handle:
        assert handle.read() == draft_data
    match = export_find(digest=draft_digest, organisation=filled_plan.org)
    assert match is not None and "version 2, not approved" in match.describe()


def test_approval_hook_never_raises(filled_plan, monkeypatch, caplog):
    import plans.exports as exports

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setitem(exports.RENDERERS, "pdf", broken)
    exports.version_exports_store(version_id=filled_plan.current_version_id)
    exports.version_exports_store(version_id=999999)
    assert "could not be stored" in caplog.text


def test_user_reference_and_many_rows_need_a_fixed_number_of_queries(org, owner, django_assert_max_num_queries):
    from bcp_site.testing import add_children

    plan = make_plan(org, owner, title="Big", ready=False)
    add_children(plan, 40)
    make_user(org, username="someone")
    version = version_create(plan=plan, actor=owner)
    with django_assert_max_num_queries(8):
        context = export_context(version)
    assert len(context["contacts"]) == 40 and len(context["risks"]) == 40


def test_real_approval_stores_both_exports_naming_the_approvers(
    plan, owner, reviewer, reviewer2, tmp_path, django_capture_on_commit_callbacks, monkeypatch
):
    """Through the review workflow: after the last approval commits, both files are stored and recorded."""
    from reviews import services as workflow

    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kwargs: 0)
    with django_capture_on_commit_callbacks(execute=True):
        reviews = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer, reviewer2])
    for review in reviews:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.review_approve(review=review, actor=review.reviewer_user)
    version = PlanVersion.objects.get(pk=plan.current_version_id)
    plan.refresh_from_db()
    assert plan.approved_version_id == version.pk
    assert version.pdf_export_hash and version.docx_export_hash
    with default_storage.open(version.pdf_export_path, "rb") as handle:
        data = handle.read()
    assert sha256_bytes(data) == version.pdf_export_hash
    text = pdf_text(data, tmp_path)
    assert "Approved" in text and "Not approved" not in text
    assert "Reviewer" in text and "Reviewer2" in text
    assert format_utc(plan.approved_at_utc) in text
