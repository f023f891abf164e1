"""An incident on a phone (Debian's Chromium at 375 px): an editor declares it and activates the plan; a viewer
adds timeline entries and marks a process recovered; the declarer stands it down and raises a finding."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bcp_site.pytest_plugin import browser_login
from plans.models import Finding, Incident, IncidentRecovery
from reviews.tests.test_browser_reviews import switch_user

from .incident_support import approved_crisis_plan, snapshot_ref

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 375, "height": 740}
WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    # The approval's exports and acknowledgement mail are other features; this test does not need them.
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def _fits(page) -> None:
    assert page.evaluate(WIDTH) <= PHONE["width"], f"{page.url} is wider than a phone"


def test_an_incident_from_declaration_to_finding_on_a_phone(browser_page, org, owner, reviewer, member):
    plan = approved_crisis_plan(org, owner, reviewer)
    page = browser_page
    page.set_viewport_size(PHONE)

    # The editor declares the incident, then activates the plan from the incident's page.
    browser_login(page, owner.username)
    page.goto(f"{page.base_url}/incidents/")
    page.click("text=Declare an incident")
    page.fill("input[name=title]", "Head office flooded")
    page.select_option("select[name=severity]", "critical")
    page.fill("textarea[name=description]", "Water in the basement; the server room is at risk.")
    page.click("button:has-text('Declare the incident')")
    page.wait_for_load_state()
    incident = Incident.objects.get()
    assert "Head office flooded" in page.locator("h1").inner_text()
    assert "No plan is activated" in page.locator("[data-testid=no-plan]").inner_text()
    page.select_option("select[name=plan]", str(plan.pk))
    page.click("button:has-text('Activate')")
    page.wait_for_load_state()
    activation = incident.activations.get()
    assert activation.version == plan.approved_version
    contacts = page.locator("[data-testid=key-contacts]").first
    assert contacts.locator("a[href='tel:+442079460101']").is_visible()  # a tap calls the incident lead
    assert page.locator("[data-testid=not-approved]").count() == 0
    payroll = page.locator(f"#process-{activation.pk}-{snapshot_ref(activation.version, 'Payroll')}")
    payroll.locator("button:has-text('Mark disrupted')").click()
    page.wait_for_load_state()
    _fits(page)
    page.shot("incident-phone-editor")

    # A viewer reads it, adds timeline entries with the one-line form and marks the process recovered.
    switch_user(page, member.username)
    page.goto(f"{page.base_url}{incident.get_absolute_url()}")
    for kind, text in (("decision", "Staff work from home today"), ("communication", "Customers emailed at 10:00")):
        page.select_option("[data-testid=timeline-form] select[name=kind]", kind)
        page.fill("[data-testid=timeline-form] input[name=text]", text)
        page.click("[data-testid=timeline-form] button:has-text('Add')")
        page.wait_for_load_state()
        assert text in page.locator("[data-testid=timeline]").inner_text()
    payroll = page.locator(f"#process-{activation.pk}-{snapshot_ref(activation.version, 'Payroll')}")
    assert "Disrupted" in payroll.locator("[data-testid=process-status]").inner_text()
    payroll.locator("button:has-text('Mark recovered')").click()
    page.wait_for_load_state()
    payroll = page.locator(f"#process-{activation.pk}-{snapshot_ref(activation.version, 'Payroll')}")
    assert payroll.locator("[data-testid=process-status]").inner_text() == "Recovered: RTO met"
    row = IncidentRecovery.objects.get()
    assert row.recovered_at_utc is not None
    assert incident.events.filter(author_user=member, kind="decision").count() == 1
    assert page.locator("text=Stand down…").count() == 0  # not the viewer's decision
    _fits(page)
    page.shot("incident-phone-viewer")

    # The declarer stands it down and raises a finding in the post-incident review.
    switch_user(page, owner.username)
    page.goto(f"{page.base_url}{incident.get_absolute_url()}")
    page.click("text=Stand down…")
    page.fill("textarea[name=note]", "Water pumped out; the office reopens tomorrow.")
    page.click("button:has-text('Stand down')")
    page.wait_for_load_state()
    assert "Post-incident review" in page.locator("h1").inner_text()
    page.fill("textarea[name=summary]", "The pumps came late. Payroll came back within its RTO.")
    page.click("button:has-text('Save the review')")
    page.wait_for_load_state()
    page.click("#review >> text=Raise a finding")
    page.select_option("select[name=plan]", str(plan.pk))
    page.fill("textarea[name=description]", "Contract a pump supplier with a four-hour response")
    page.select_option("select[name=severity]", "high")
    page.fill("input[name=owner]", owner.username)
    page.fill("input[name=due_on]", (timezone.localdate() + timezone.timedelta(days=30)).isoformat())
    page.click("button:has-text('Raise the finding')")
    page.wait_for_load_state()
    assert "Contract a pump supplier" in page.locator("[data-testid=incident-findings]").inner_text()
    _fits(page)
    page.shot("incident-phone-review")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.STOOD_DOWN
    finding = Finding.objects.get()
    assert (finding.incident, finding.plan, finding.source_kind) == (incident, plan, Finding.Source.INCIDENT)
