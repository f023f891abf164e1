"""The break-glass pack: made by tasks when a version is approved, issued once per version (the same bytes for
everyone), self-contained (the HTML opens offline in Chromium and names no external address), verifiable on
the verify page and by `verify_export`, downloaded by every member, and each download audited."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from bcp_site.testing import make_user, pdf_pages
from plans.exports.breakglass import breakglass_issue, render_breakglass_html
from plans.models import Audit, IssuedFile, IssuedFileRequest

from .exercise_support import approve, save_revision
from .incident_support import approved_crisis_plan, crisis_plan

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _url(plan, version, fmt):
    return reverse(f"incidents:breakglass_{fmt}", args=[plan.pk, version.version_number])


class Addresses(HTMLParser):
    """Every address the HTML would load or link to, and every tag that could load something."""

    LOADING = {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form"}

    def __init__(self):
        super().__init__()
        self.addresses: list[str] = []
        self.loading: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in self.LOADING:
            self.loading.append(tag)
        if tag == "style":
            self._in_style = True
        for name, value in attrs:
            if name in ("href", "src", "srcset", "action", "data", "poster", "background") and value:
                self.addresses.append(value)
            if name == "style" or name.startswith("on"):
                self.loading.append(f"{tag}[{name}]")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def test_approval_makes_both_packs_through_tasks(org, owner, reviewer, django_capture_on_commit_callbacks):
    plan = crisis_plan(org, owner)
    with django_capture_on_commit_callbacks(execute=True):  # the approval's hooks run after its commit
        approve(plan, submitter=owner, approver=reviewer)
    plan.refresh_from_db()
    version = plan.approved_version
    packs = {f.kind: f for f in IssuedFile.objects.filter(version=version)}
    assert set(packs) >= {IssuedFile.Kind.BREAKGLASS_HTML, IssuedFile.Kind.BREAKGLASS_PDF}
    for kind in (IssuedFile.Kind.BREAKGLASS_HTML, IssuedFile.Kind.BREAKGLASS_PDF):
        assert (packs[kind].plan, packs[kind].marking, packs[kind].org) == (plan, IssuedFile.Marking.APPROVED, org)
    assert not IssuedFileRequest.objects.exists()  # the requests were settled
    created = Audit.objects.filter(action="export_created", plan=plan)
    assert {row.details_json["format"] for row in created} >= {"breakglass_html", "breakglass_pdf"}


def test_the_html_pack_is_self_contained_and_holds_what_a_crisis_needs(org, owner, reviewer):
    plan = approved_crisis_plan(org, owner, reviewer)
    issued, data = breakglass_issue(version=plan.approved_version, fmt="html")
    html = data.decode()
    parser = Addresses()
    parser.feed(html)
    assert not parser.loading, f"the pack loads or runs something: {parser.loading}"
    assert all(re.match(r"^(#|tel:\+?[0-9]+$|mailto:)", address) for address in parser.addresses), parser.addresses
    assert not re.search(r"url\(|@import", "".join(parser.styles))
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.IGNORECASE), "an external address"
    assert 'href="tel:+442079460101"' in html and 'href="mailto:priya.shah@example.org"' in html
    # Processes in RTO order, with recovery strategies and dependencies; the incident-response section.
    assert html.index("Customer orders") < html.index("Payroll") < html.index("Customer service")
    assert "Fail over to region 2." in html and "Payroll bureau, HR system" in html
    assert "Board room, 3rd floor" in html and "1. Assess." in html
    assert 'href="tel:+442079460199"' in html  # the emergency number of the section, dialable
    assert "Controlled copy" in html
    # The same version gives the same bytes.
    assert render_breakglass_html(plan.approved_version) == data


def test_the_pdf_pack_is_short_and_holds_the_same(org, owner, reviewer, tmp_path):
    plan = approved_crisis_plan(org, owner, reviewer)
    _issued, data = breakglass_issue(version=plan.approved_version, fmt="pdf")
    pages = pdf_pages(data, tmp_path)
    assert len(pages) <= 3
    text = "".join(pages)
    for expected in ("Priya Shah", "+44 20 7946 0101", "Call tree", "Customer orders", "Payroll",
                     "Fail over to region 2.", "Incident response", "Board room, 3rd floor"):
        assert expected in text, expected
    assert re.search(r"Payroll\s+1\s?h\s+4\s?h", text)  # RTO and MTPD (pdftotext may drop the narrow space)


@pytest.mark.browser
def test_the_html_pack_opens_offline_and_shows_its_contacts(org, owner, reviewer, tmp_path):
    """Chromium with networking off opens the file from disk, loads nothing else, and shows who to call."""
    from playwright.sync_api import sync_playwright

    from bcp_site.pytest_plugin import _chromium
    from bcp_site.system_check import library_loads

    if not library_loads("libatomic.so.1"):
        pytest.skip("Playwright's driver needs libatomic.so.1")
    plan = approved_crisis_plan(org, owner, reviewer)
    _issued, data = breakglass_issue(version=plan.approved_version, fmt="html")
    path = tmp_path / "break-glass.html"  # as copied to a USB stick or a phone's files
    path.write_bytes(data)
    with sync_playwright() as pw:
        executable = _chromium(pw)
        if executable is None:
            pytest.skip("Chromium is not installed")
        browser = pw.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False)
            context.set_offline(True)
            page = context.new_page()
            requested = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(path.as_uri())
            assert requested == [path.as_uri()], f"the pack asked for more than itself: {requested}"
            lead = page.locator("li.person", has_text="Priya Shah").first
            assert lead.is_visible()
            assert lead.locator("a[href='tel:+442079460101']").inner_text() == "Call +44 20 7946 0101"
            assert page.locator("h1").inner_text() == plan.title
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone
        finally:
            browser.close()


def test_every_member_downloads_the_same_bytes_and_each_download_is_audited(client, org, owner, reviewer, member):
    plan = approved_crisis_plan(org, owner, reviewer)
    version = plan.approved_version
    auditor = make_user(org, groups=["BCP Auditor"], is_staff=True)
    copies = []
    for person in (member, auditor, member):
        client.force_login(person)
        response = client.get(_url(plan, version, "html"))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
        copies.append(body(response))
    assert copies[0] == copies[1] == copies[2]
    issued = IssuedFile.objects.get(version=version, kind=IssuedFile.Kind.BREAKGLASS_HTML)
    assert issued.sha256 == __import__("hashlib").sha256(copies[0]).hexdigest()
    downloads = list(Audit.objects.filter(action="breakglass_downloaded").order_by("id"))
    assert [row.actor_user for row in downloads] == [member, auditor, member]
    assert all(row.plan == plan and row.details_json["sha256"] == issued.sha256 for row in downloads)
    client.force_login(owner)
    trail = client.get(reverse("changes:plan_audit", args=[plan.pk])).content.decode()
    assert "Break-glass pack downloaded" in trail
    pdf = client.get(_url(plan, version, "pdf"))
    assert pdf.status_code == 200 and body(pdf).startswith(b"%PDF")
    assert Audit.objects.filter(action="breakglass_downloaded").count() == 4


def test_the_pack_verifies_on_the_page_and_with_the_command(client, org, owner, reviewer, member, tmp_path):
    plan = approved_crisis_plan(org, owner, reviewer)
    client.force_login(member)
    data = body(client.get(_url(plan, plan.approved_version, "html")))
    answer = client.post(reverse("files:verify"), {
        "file": SimpleUploadedFile("pack.html", data, content_type="text/html")}).content.decode()
    assert "Match" in answer and "break-glass pack (offline HTML)" in answer and plan.title in answer
    path = tmp_path / "pack.html"
    path.write_bytes(data)
    out = StringIO()
    call_command("verify_export", str(path), stdout=out)
    assert "break-glass pack (offline HTML)" in out.getvalue() and f"version {plan.approved_version.version_number}" \
        in out.getvalue()
    path.write_bytes(data.replace(b"Priya Shah", b"Priya Shaw"))  # a number changed by hand no longer verifies
    with pytest.raises(Exception, match="does not match"):
        call_command("verify_export", str(path), stdout=StringIO())


def test_a_changed_stored_pack_is_refused_never_served(client, org, owner, reviewer, member):
    plan = approved_crisis_plan(org, owner, reviewer)
    issued, _data = breakglass_issue(version=plan.approved_version, fmt="html")
    with default_storage.open(issued.storage_path, "wb") as handle:
        handle.write(b"<html>tampered</html>")
    client.force_login(member)
    response = client.get(_url(plan, plan.approved_version, "html"))
    assert response.status_code == 409 and "no longer matches its recorded SHA-256" in response.content.decode()
    assert Audit.objects.filter(action="export_integrity_failure").exists()
    assert not Audit.objects.filter(action="breakglass_downloaded").exists()


def test_only_approved_versions_have_packs_and_walls_hold(client, org, owner, reviewer, member, outsider):
    plan = approved_crisis_plan(org, owner, reviewer)
    draft = save_revision(plan, actor=owner, text="Draft after approval")
    client.force_login(member)
    assert client.get(_url(plan, draft, "html")).status_code == 404  # never approved
    client.force_login(outsider)
    assert client.get(_url(plan, plan.approved_version, "html")).status_code == 404
    assert client.post(_url(plan, plan.approved_version, "pdf")).status_code == 404
    client.logout()
    assert client.get(_url(plan, plan.approved_version, "html")).status_code == 302
    assert not Audit.objects.filter(action="breakglass_downloaded").exists()
    # The plan page and the version page offer the approved version's packs.
    client.force_login(member)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert _url(plan, plan.approved_version, "html") in page and _url(plan, draft, "html") not in page


def test_a_pack_not_issued_yet_is_prepared_by_a_worker(client, settings, org, owner, reviewer, member):
    from bcp_site.tasks_support import run_db_worker

    plan = approved_crisis_plan(org, owner, reviewer)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    client.force_login(member)
    page = client.get(_url(plan, plan.approved_version, "pdf"))
    assert page.status_code == 202 and "break-glass pack (PDF)" in page.content.decode()
    assert not Audit.objects.filter(action="breakglass_downloaded").exists()
    assert run_db_worker() == 1
    response = client.get(_url(plan, plan.approved_version, "pdf"))
    assert response.status_code == 200 and body(response).startswith(b"%PDF")
