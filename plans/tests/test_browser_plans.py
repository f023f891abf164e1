"""An editor works on a plan in a real browser (Debian's Chromium), without JavaScript tricks."""

import pytest
from django.urls import reverse

from bcp_site.pytest_plugin import browser_login
from plans.models import Plan
from templates_app.models import Template


@pytest.mark.browser
# serialized_rollback: the flush after a live-server test would otherwise drop the rows of the
# data migrations (permission groups, default template) for the transactional tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_editor_creates_fills_and_saves_a_revision(browser_page, org, editor, member):
    page = browser_page
    default = Template.objects.get(is_default=True)
    browser_login(page, editor.username)
    assert page.locator("h1").inner_text() == "Needs me"  # signing in lands on the person's home

    page.click("nav >> text=Plans")
    page.click("text=New plan")
    assert page.locator("select[name=template] option:checked").inner_text() == str(default)
    page.fill("input[name=title]", "Head office continuity")
    page.click("button:has-text('Create plan')")
    page.wait_for_load_state()
    plan = Plan.objects.get(title="Head office continuity")
    assert plan.template == default and plan.versions.count() == 1
    assert "Head office continuity" in page.locator("h1").inner_text()

    # Overview with the required purpose left empty: an error next to the field, nothing saved.
    page.click("a[href$='/sections/overview/edit/']")
    page.fill("textarea[name=purpose]", "")
    page.fill("textarea[name=scope]", "All London staff")
    page.click("button:has-text('Save section')")
    page.wait_for_load_state()
    assert "This field is required." in page.content()
    assert page.input_value("textarea[name=scope]") == "All London staff"
    page.shot("plans-section-required-error")

    page.fill("textarea[name=purpose]", "Keep payroll and customer service running")
    page.click("button:has-text('Save section')")
    page.wait_for_load_state()
    assert "Keep payroll and customer service running" in page.locator("#section-overview").inner_text()

    # A process whose RTO is longer than its MTPD is refused with the reason.
    page.click("text=Add process")
    page.fill("input[name=name]", "Payroll run")
    page.fill("input[name=rto_minutes]", "4h")
    page.fill("input[name=mtpd_minutes]", "2h")
    page.fill("textarea[name=dependencies]", "Payroll system\nBank link")
    page.click("button:has-text('Add critical process')")
    page.wait_for_load_state()
    assert "cannot be longer than the maximum tolerable period of disruption (2 h)" in page.content()
    page.shot("plans-process-rto-error")

    page.fill("input[name=mtpd_minutes]", "2d")
    page.click("button:has-text('Add critical process')")
    page.wait_for_load_state()
    processes = page.locator("#processes").inner_text()
    assert "Payroll run" in processes and "4 h" in processes and "2 days" in processes
    assert page.locator("#processes svg").count() == 1
    assert "Unsaved changes since version 1" in page.content()
    page.shot("plans-detail-with-process")

    # Save revision with a change note: version 2, and the diff says what changed.
    page.click(".page-head >> text=Save revision")
    page.fill("textarea[name=note]", "Purpose written, payroll process added")
    page.click("button:has-text('Save revision')")
    page.wait_for_load_state()
    assert "version 2" in page.locator("h1").inner_text()
    plan.refresh_from_db()
    assert plan.current_version.version_number == 2
    page.click("text=What changed from version 1")
    page.wait_for_load_state()
    diff = page.locator(".version-diff").inner_text()
    assert "Purpose" in diff and "Keep payroll and customer service running" in diff
    assert "Payroll run" in diff and "Added" in diff and "RTO" in diff
    page.shot("plans-version-diff")

    # The same plan page on a 375px-wide phone: no sideways scrolling of the page itself.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(page.base_url + plan.get_absolute_url())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.shot("plans-detail-375px")
    page.goto(page.base_url + reverse("plans:plan_list"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert "Head office continuity" in page.locator("table.plan-list").inner_text()
    page.shot("plans-list-375px")
