"""In a real browser: approve a plan, open the emailed link without logging in, confirm."""

import pytest

from reviews.ack_coverage import ack_coverage

from .ack_support import approve, links_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_acknowledge_from_the_email_link(browser_page, plan, owner, reviewer, member, smtp_server):
    page = browser_page
    approve(plan, submitter=owner, approver=reviewer)  # the real workflow services; mail after commit
    before = ack_coverage(plan)
    assert (before.acknowledged_count, before.total) == (0, 3)

    [message] = [m for m in smtp_server.to("member@example.org") if "Please acknowledge" in m["Subject"]]
    [link] = links_in(smtp_server.text(message))
    assert link.startswith(page.base_url)

    page.goto(link)  # not logged in
    assert page.locator("h1").inner_text() == "Head office plan"
    assert page.locator('meta[name="referrer"]').get_attribute("content") == "same-origin"
    page.shot("ack-link-page")
    assert ack_coverage(plan).acknowledged_count == 0  # opening the link records nothing

    page.get_by_role("button", name="I have read and understood this plan").click()
    page.wait_for_load_state()
    assert "your acknowledgement of version 1 is recorded" in page.content()
    assert "You acknowledged version 1 on" in page.content()
    page.shot("ack-link-confirmed")

    after = ack_coverage(plan)
    assert (after.acknowledged_count, after.total, after.percent) == (1, 3, 33)
    assert [row.user.username for row in after.acknowledged] == ["member"]

    # The coverage page agrees (as someone logged in sees it); at phone width it still reads.
    from bcp_site.pytest_plugin import browser_login

    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, "owner")
    page.goto(f"{page.base_url}/ack/plans/{plan.pk}/coverage/")
    assert "1 of 3 (33%) acknowledged version 1" in page.content()
    page.shot("ack-coverage-375")
