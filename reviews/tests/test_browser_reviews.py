"""Review and approval in a real browser: submit on the plan page, decide in the admin or on the review page."""

import pytest

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import PASSWORD
from plans.models import Plan
from reviews.models import Review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def submit_on_plan_page(page, plan, reviewer):
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    panel = page.locator("#workflow")
    # The reviewers field is a search field: type part of the name, pick the suggestion.
    field = panel.locator("textarea[name=reviewers]")
    field.press_sequentially(reviewer.username[:4])
    label = f"{reviewer.get_full_name()} ({reviewer.username})"
    panel.locator("button.link-button", has_text=label).click()
    assert field.input_value().strip() == label
    panel.locator("button:has-text('Submit for review')").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=plan-status]").inner_text() == "In review"


def switch_user(page, username, *, admin=False):
    page.context.clear_cookies()
    if not admin:
        browser_login(page, username)
        return
    page.goto(f"{page.base_url}/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def test_editor_submits_reviewer_approves_in_the_admin(browser_page, plan, owner, reviewer):
    page = browser_page
    browser_login(page, owner.username)
    submit_on_plan_page(page, plan, reviewer)
    page.shot("reviews-submitted")

    switch_user(page, reviewer.username, admin=True)
    page.goto(f"{page.base_url}/admin/plans/plan/")
    page.check(f"input[name=_selected_action][value='{plan.pk}']")
    page.select_option("select[name=action]", "approve_plans")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "version 1 becomes the approved plan" in page.locator("[data-testid=approve-summary]").inner_text()
    page.click("input[value='Yes, approve']")
    page.wait_for_load_state()
    assert "every reviewer has approved, so version 1 is now approved" in page.locator(".messagelist").inner_text()
    page.shot("reviews-admin-approved")

    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert page.locator("[data-testid=plan-status]").inner_text() == "Approved"
    assert page.locator("[data-testid=approved-version]").inner_text().startswith("v1 on")
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_reviewer_requests_changes_and_the_editor_sees_the_notes(browser_page, plan, owner, reviewer):
    page = browser_page
    browser_login(page, owner.username)
    submit_on_plan_page(page, plan, reviewer)

    switch_user(page, reviewer.username)
    page.goto(f"{page.base_url}/reviews/")
    page.click("text=Head office plan")
    page.wait_for_load_state()
    page.click("button:has-text('Request changes')")  # without notes: refused next to the field
    page.wait_for_load_state()
    assert "Notes are required when requesting changes." in page.content()
    page.fill("textarea[name=notes]", "Add the payroll contact and its phone number.")
    page.click("button:has-text('Request changes')")
    page.wait_for_load_state()
    assert page.locator("[data-testid=review-status]").inner_text().startswith("Changes requested")
    page.shot("reviews-changes-requested")

    switch_user(page, owner.username)
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert page.locator("[data-testid=plan-status]").inner_text() == "Draft"
    notes = page.locator("[data-testid=changes-requested]").inner_text()
    assert "Add the payroll contact and its phone number." in notes
    page.set_viewport_size({"width": 375, "height": 800})
    page.shot("reviews-notes-for-editor-375")
    assert Review.objects.get().status == Review.Status.CHANGES_REQUESTED
