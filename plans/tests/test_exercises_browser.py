"""The improvement loop in a real browser (Debian's Chromium): plan an exercise, hold it, record its results and
a finding, tick the finding on a revision, approve it, and see the finding closed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import make_plan
from plans.models import Exercise, Finding
from reviews.tests.test_browser_reviews import submit_on_plan_page, switch_user
from templates_app.models import Template

from .exercise_support import approve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    # The approval's exports and acknowledgement mail are other features; this test does not need them.
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def test_plan_hold_record_tick_approve_and_see_the_finding_closed(browser_page, org, owner, reviewer):
    plan = make_plan(org, owner, template=Template.objects.get(is_default=True), title="Head office plan")
    approve(plan, submitter=owner, approver=reviewer)
    page = browser_page
    browser_login(page, owner.username)
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    testing = page.locator("#section-testing")
    assert "Never exercised" in testing.inner_text()  # approved, never exercised: flagged in its section
    assert page.locator("[data-testid=exercise-flag]").count() == 1

    # Plan the exercise.
    testing.locator("text=Plan an exercise").click()
    page.fill("input[name=title]", "Ransomware tabletop")
    page.select_option("select[name=exercise_type]", "tabletop")
    page.fill("input[name=scheduled_on]", timezone.localdate().isoformat())
    page.fill("textarea[name=scenario]", "The file servers are encrypted at 07:30.")
    page.fill("textarea[name=objectives]", "Activate the plan within 30 minutes\nReach every contact")
    page.click("button:has-text('Plan the exercise')")
    page.wait_for_load_state()
    exercise = Exercise.objects.get(title="Ransomware tabletop")
    assert "Ransomware tabletop" in page.locator("h1").inner_text()

    # Hold it: the day is offered, and the results form follows.
    page.click("button:has-text('Record as held')")
    page.wait_for_load_state()
    assert "Results of “Ransomware tabletop”" in page.locator("h1").inner_text()
    objectives = list(exercise.objectives.order_by("position"))
    page.select_option(f"select[name=objective_{objectives[0].pk}]", "met")
    page.select_option(f"select[name=objective_{objectives[1].pk}]", "partly_met")
    page.fill(f"textarea[name=objective_{objectives[1].pk}_notes]", "Two numbers were out of date")
    process = next(p for p in plan.approved_version.content_json["processes"] if p["name"] == "Customer service")
    page.fill(f"input[name=process_{process['id']}]", "3h")
    page.fill("textarea[name=summary]", "Activated in 20 minutes; the call tree was stale.")
    page.click("button:has-text('Save results')")
    page.wait_for_load_state()
    assert "RTO met" in page.locator("[data-testid=recoveries]").inner_text()  # 3 h against an RTO of 4 h
    page.shot("exercises-results")

    # Raise a finding.
    page.click("text=Raise a finding")
    page.fill("textarea[name=description]", "Keep an offline copy of the call tree")
    page.select_option("select[name=severity]", "high")
    page.fill("input[name=owner]", owner.username)
    page.fill("input[name=due_on]", (timezone.localdate() + timezone.timedelta(days=30)).isoformat())
    page.click("button:has-text('Raise the finding')")
    page.wait_for_load_state()
    finding = Finding.objects.get(description="Keep an offline copy of the call tree")
    assert "Keep an offline copy of the call tree" in page.locator("#findings").inner_text()

    # Change the plan and tick the finding on the revision that addresses it.
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert "Keep an offline copy of the call tree" in page.locator("[data-testid=open-findings]").inner_text()
    assert page.locator("[data-testid=exercise-flag]").count() == 0  # exercised today: no longer due
    page.click("text=Add contact")
    page.fill("input[name=name]", "Call tree keeper")
    page.fill("input[name=phone]", "+44 20 7946 0999")
    page.click("button:has-text('Add contact')")
    page.wait_for_load_state()
    page.click(".page-head >> text=Save revision")
    page.check(f"input[name=findings][value='{finding.pk}']")
    page.fill("textarea[name=note]", "Call tree keeper added with an offline copy")
    page.click("button:has-text('Save revision')")
    page.wait_for_load_state()
    assert "version 2" in page.locator("h1").inner_text()
    submit_on_plan_page(page, plan, reviewer)

    # The reviewer approves on the review page.
    switch_user(page, reviewer.username)
    page.goto(f"{page.base_url}/reviews/")
    page.click("text=Head office plan")
    page.wait_for_load_state()
    page.click("button:has-text('Approve')")
    page.wait_for_load_state()

    # The finding closed with the approval, naming the version.
    switch_user(page, owner.username)
    page.goto(f"{page.base_url}{finding.get_absolute_url()}")
    assert page.locator("[data-testid=finding-status]").inner_text() == "Done"
    assert "version 2" in page.locator("[data-testid=closed-by]").inner_text()
    page.shot("exercises-finding-closed")
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert "No open findings." in page.locator("[data-testid=open-findings]").inner_text()
