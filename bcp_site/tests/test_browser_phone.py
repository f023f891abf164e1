"""Phones and print: no page of the site scrolls sideways at 375 px, and the plan prints without controls.

Every GET page the URL resolver knows (site and admin), filled with one organisation's rows the
way the organisation-wall matrix fills them (bcp_site/tests/wall_support.py), is opened in
Debian's Chromium at 375 px by an editor, a reviewer (who works in the admin) and a person
acknowledging from an email link: the document must be no wider than the viewport. Wide tables
scroll inside their own box or lay out as stacked rows; the page itself never scrolls sideways.

The rows are those of the matrix's organisation plus a plan of the shipped default template
filled as the demo fills it (tables in sections, long names, addresses and links), as a draft
with unsaved changes for the editor and in review for the reviewer.

Speed: each URL is asked in-process (Django's test client, milliseconds); the browser lays out the
HTML of those that answer a page (200, HTML) and of one page of each refusal (400, 403, 404), and
navigates for real to the pages people use most on a phone (the plan, the review screens, the link).
"""

from __future__ import annotations

import dataclasses
import os

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bcp_site.pytest_plugin import ARTIFACTS
from bcp_site.testing import pdf_text
from plans.services import contact_save, plan_create, plan_section_update, process_save, revision_save, risk_save
from templates_app.models import Template
from templates_app.schema import template_sections, value_problem

from . import wall_support as ws

PHONE = {"width": 375, "height": 740}
WIDTH = "document.documentElement.scrollWidth"
# Words that do not break (addresses, codes, links): where content most often pushes a page wider.
LONG_EMAIL = "out-of-hours.facilities.coordinator@head-office-continuity.example.org"
LONG_LINK = "https://intranet.example.org/business-continuity/plans/head-office/call-tree-and-escalation"
# Files, not pages (an export not stored yet would also be rendered on the spot: seconds, for nothing).
DOWNLOADS = {"files:version_export", "files:attachment_download", "acks:coverage_csv",
             "incidents:breakglass_html", "incidents:breakglass_pdf", "incidents:incident_report"}


def _default_template_plan(side):
    """A plan of the default template filled as the demo fills it, plus long unbreakable values."""
    from reviews.management.commands import _demo_plan as demo

    owner = side.owner
    plan = plan_create(organisation=side.org, template=Template.objects.get(is_default=True),
                       title="Head Office Business Continuity Plan (Bristol, Avonmouth and remote staff)",
                       owner=owner, actor=owner)
    contacts = {}
    for ref, name, role, phone, email, notes in demo.CONTACTS:
        contacts[ref] = contact_save(plan=plan, actor=owner, expected_revision=None, values={
            "name": name, "role": role, "phone": phone, "email": email, "notes": notes}).pk
    contact = contact_save(plan=plan, actor=owner, expected_revision=None, values={
        "name": "Out-of-hours facilities coordinator", "role": "Facilities", "phone": "+44 20 7946 0199",
        "email": LONG_EMAIL, "notes": f"Runbook: {LONG_LINK}"})
    for name, description, rto, rpo, mtpd, impact, dependencies in demo.PROCESSES:
        process = process_save(plan=plan, actor=owner, expected_revision=None, values={
            "name": name, "description": description, "rto_minutes": rto, "rpo_minutes": rpo,
            "mtpd_minutes": mtpd, "impact_rating": impact, "dependencies_json": [*dependencies, LONG_LINK]})
    people = {"editor": owner, "admin": side.admin, "reviewer": side.reviewer2, "reviewer2": side.reviewer2,
              "viewer": side.viewer}
    for threat, likelihood, impact, mitigation, who in demo.RISKS:
        risk = risk_save(plan=plan, actor=owner, expected_revision=None, values={
            "threat": threat, "likelihood": likelihood, "impact": impact, "mitigation": f"{mitigation} {LONG_LINK}",
            "owner_user": people[who]})
    values = demo.section_values(today=timezone.localdate(), users={k: u.pk for k, u in people.items()},
                                 contacts=contacts)
    sections = template_sections(plan.template)
    for section in sections:
        merged = dict((plan.draft_content_json or {}).get(section["key"]) or {})
        for field in section["fields"]:
            value = values.get(section["key"], {}).get(field["key"])
            if value is not None and value_problem(field, value) is None:
                merged[field["key"]] = value
        plan_section_update(plan=plan, section_key=section["key"], values=merged, actor=owner,
                            expected_revision=None)
    revision_save(plan=plan, actor=owner, note="Full plan after the business impact analysis.")
    overview = dict(plan.draft_content_json["overview"], scope=f"Head office and {LONG_LINK}")
    plan_section_update(plan=plan, section_key="overview", values=overview, actor=owner, expected_revision=None)
    # The matrix's Side, pointing at this plan and its rows (its other rows stay the organisation's).
    return dataclasses.replace(side, plan=plan, review_plan=plan, contact=contact, process=process, risk=risk,
                               section_key="bia", approved_number=2), [s["key"] for s in sections]


def _urls(sides, user, *, admin: bool, tokens: bool = False) -> list[str]:
    """Every GET URL of the site (and of the admin, for staff) filled with each side's rows."""
    urls = []
    for side in sides:
        for endpoint in ws.endpoints():
            if endpoint.name in ws.SKIPPED_URLS or endpoint.name in DOWNLOADS or endpoint.name == "admin:autocomplete":
                continue
            if endpoint.is_admin and not admin:
                continue
            try:
                targets = ws.targets_for(endpoint, side, user, cross=False)
            except ws.Unfillable:
                continue  # rows only superusers have (sign-in attempts, the task queue): not these people's
            urls += [t.url for t in targets if t.is_token == tokens]
    return list(dict.fromkeys(urls))


def _pages(client: Client, urls: list[str]) -> list[tuple[str, str]]:
    """(URL, HTML) of the URLs that answer a page (200), and of the first of each refusal (400, 403, 404)."""
    pages, refusals = [], set()
    for url in urls:
        response = client.get(url)
        if "text/html" not in response.get("Content-Type", "") or not response.content:
            continue  # downloads, JSON, CSV; a 405 has no body to lay out
        if response.status_code == 200 or (response.status_code in (400, 403, 404)
                                           and response.status_code not in refusals):
            refusals.add(response.status_code)
            pages.append((url, response.content.decode()))
    return pages


def _session(context, user, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])


def _too_wide(browser, base_url: str, user, urls: list[str], role: str, *, visit: list[str]) -> tuple[list[str], int]:
    """Lay out each page at 375 px in one reused tab: the ones wider than the phone, and how many there were.

    Each page's HTML, as the server answered it in-process, is loaded into a tab on the live server's
    origin (its stylesheets and scripts come from there, cached after the first page): a fifth of the
    time of a navigation. The pages in `visit` are also opened by navigating to them, signed in.
    """
    client = Client()
    if user is not None:
        client.force_login(user)
    pages = _pages(client, urls)
    context = browser.new_context(viewport=PHONE)
    if user is not None:
        _session(context, user, base_url)
    tab = context.new_page()
    wide = []

    def measure(url: str, n) -> None:
        width = tab.evaluate(WIDTH)
        if width > PHONE["width"]:
            wide.append(f"{role} {url}: {width}px")
            tab.screenshot(path=os.path.join(ARTIFACTS, f"phone-too-wide-{role}-{n}.png"))

    try:
        tab.goto(base_url + reverse("healthz"))
        for n, (url, html) in enumerate(pages):
            tab.set_content(html, wait_until="load")
            measure(url, n)
        for n, url in enumerate(visit):
            response = tab.goto(base_url + url)
            assert response.status == 200, (url, response.status)
            measure(url, f"visit-{n}")
    finally:
        context.close()
    return wide, len(pages)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_page_scrolls_sideways_on_a_phone(browser_page, live_server):
    from reviews.services import plan_submit_for_review

    side = ws.build_side("Alpha", "alpha")
    rich, section_keys = _default_template_plan(side)
    browser, base = browser_page.context.browser, live_server.url

    editor_urls = _urls([side, rich], side.owner, admin=False)
    editor_urls += [reverse("plans:section_edit", args=[rich.plan.pk, key]) for key in section_keys]
    plan_page = rich.plan.get_absolute_url()
    wide, opened = _too_wide(browser, base, side.owner, list(dict.fromkeys(editor_urls)), "editor", visit=[
        plan_page, reverse("plans:section_edit", args=[rich.plan.pk, "bia"]), reverse("plans:plan_list")])

    revision_save(plan=rich.plan, actor=side.owner, note="Scope names the intranet page.")
    [review] = plan_submit_for_review(plan=rich.plan, actor=side.owner, reviewers=[side.reviewer])
    in_review = dataclasses.replace(rich, pending_review=review, decided_review=review)
    review_pages = [reverse("admin:reviews_review_changelist"), reverse("admin:reviews_review_change",
                                                                         args=[review.pk]), review.get_absolute_url()]
    found, reviewer_opened = _too_wide(browser, base, side.reviewer, _urls([side, in_review], side.reviewer,
                                                                           admin=True), "reviewer", visit=review_pages)
    wide += found
    link = _urls([side], side.viewer, admin=False, tokens=True)
    found, ack_opened = _too_wide(browser, base, None, link, "acknowledging", visit=link[:1])
    wide += found

    assert not wide, "pages wider than a 375 px phone (screenshots in artifacts/):\n" + "\n".join(wide)
    # Everything was opened: the plan pages, the admin the reviewer works in, the email link page.
    assert opened > 40 and reviewer_opened > 60 and ack_opened >= 1, (opened, reviewer_opened, ack_opened)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_plan_and_version_pages_print_without_navigation_or_controls(browser_page, live_server, tmp_path):
    side = ws.build_side("Alpha", "alpha")
    rich, keys = _default_template_plan(side)
    page = browser_page
    _session(page.context, side.owner, live_server.url)
    page.emulate_media(media="print")
    for url in (rich.plan.get_absolute_url(), reverse("plans:version_detail", args=[rich.plan.pk, 2])):
        page.goto(live_server.url + url)
        assert page.locator("h1").is_visible()
        shown = page.evaluate("""() => [...document.querySelectorAll(
            '.site-header, nav, form, button, input, select, textarea, .button, .site-footer, .skip-link')]
            .filter(el => el.getClientRects().length > 0).map(el => el.outerHTML.slice(0, 100))""")
        assert shown == [], f"{url} prints controls: {shown}"
        breaks = page.evaluate("""() => [...document.querySelectorAll('.plan-section, #contacts, #processes, #risks')]
            .map(el => getComputedStyle(el).breakBefore)""")
        assert breaks[0] != "page" and set(breaks[1:]) == {"page"}, breaks  # a page per section, none blank first

        # Printed for real (A4, as a browser's "Save as PDF" does): the plan's words, none of the page's controls.
        text = pdf_text(page.pdf(format="A4"), tmp_path)
        for control in ("Log out", "Skip to content", "Save revision", "Upload", "Submit for review", "Check an export",
                        "On this page", "Add contact", "Edit"):
            assert control not in text, f"{url} prints {control!r}"
        printed = text.split("\f")
        # Each section, then contacts, processes and risks, starts a page of its own.
        starts = [p.strip().splitlines()[0].strip() for p in printed if p.strip()]
        assert {"Business impact analysis", "Contacts", "Critical processes", "Risks"} <= set(starts), starts
        assert len(printed) > len(keys) + 3, len(printed)
    page.goto(live_server.url + rich.plan.get_absolute_url())
    page.screenshot(path=os.path.join(ARTIFACTS, "plan-print.png"), full_page=True)
    assert page.locator(".site-header").is_hidden() and "Head Office" in page.locator("h1").inner_text()
