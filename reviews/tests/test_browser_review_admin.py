"""Reviewers decide entirely inside the admin, in a real browser: the list, the review, the confirmation."""

import pytest

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import PASSWORD, add_children, make_user
from plans.services import version_create
from reviews import services
from reviews.models import Review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def admin_login(page, username):
    page.context.clear_cookies()
    page.goto(f"{page.base_url}/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def open_my_pending_review(page):
    page.locator("a[href='/admin/reviews/review/']").first.click()  # index: "Reviews and acknowledgements"
    page.wait_for_load_state()
    assert page.locator("#changelist-filter li.selected", has_text="My pending reviews").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.locator("a", has_text="Head office plan v2").click()
    page.wait_for_load_state()


def test_reviewers_decide_in_the_admin_and_the_cancelled_one_is_emailed(
    browser_page, smtp_server, org, plan, owner, reviewer, reviewer2
):
    third = make_user(org, username="reviewer3", groups=["BCP Reviewer"], is_staff=True)
    add_children(plan, 2)
    version_create(plan=plan, actor=owner, note="Payroll processes added")
    services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer, reviewer2, third])
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    admin_login(page, reviewer.username)
    open_my_pending_review(page)
    assert "Payroll processes added" in page.locator(".review-summary").inner_text()
    assert "Process 1" in page.locator("[data-testid=review-diff]").inner_text()
    page.shot("review-admin-change-page")
    page.click("a:has-text('Approve…')")
    page.wait_for_load_state()
    assert "1 of 3 reviewers has approved; the plan stays in review." in page.locator(
        "[data-testid=approve-summary]").inner_text()
    page.click("input[value='Yes, approve']")
    page.wait_for_load_state()
    assert "your approval is recorded" in page.locator(".messagelist").inner_text()
    assert page.locator("[data-testid=review-status]").inner_text().startswith("Approved")

    admin_login(page, reviewer2.username)
    page.goto(f"{page.base_url}/admin/reviews/review/?mine=everyone")
    page.shot("review-admin-list-all-1280")
    page.goto(f"{page.base_url}/admin/")
    open_my_pending_review(page)
    page.fill("textarea[name=notes]", "Add the payroll contact's phone number.")
    page.click("input[value='Request changes']")
    page.wait_for_load_state()
    assert "Changes requested." in page.locator(".messagelist").inner_text()
    assert "Add the payroll contact's phone number." in page.locator(".review-notes").inner_text()

    page.context.clear_cookies()
    browser_login(page, owner.username)
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert page.locator("[data-testid=plan-status]").inner_text() == "Draft"
    assert "Add the payroll contact's phone number." in page.locator("[data-testid=changes-requested]").inner_text()

    assert Review.objects.get(reviewer_user=third).status == Review.Status.CANCELLED
    (mail,) = [m for m in smtp_server.to(third.email) if m["Subject"].startswith("Review cancelled")]
    assert "Reviewer2 requested changes" in smtp_server.text(mail)
