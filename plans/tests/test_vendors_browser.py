"""The vendor register in a real browser (Debian's Chromium): record a vendor whose committed recovery time is
longer than a process's RTO, link it to the process, and see the warning on the plan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import make_plan
from plans.vendor_models import Vendor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_vendor_too_slow_for_a_process_is_flagged_on_the_plan(browser_page, org, owner, template):
    plan = make_plan(org, owner, template=template, title="Head office plan")  # "Customer service", RTO 4 h
    page = browser_page
    browser_login(page, owner.username)

    # Record the vendor in the register.
    page.goto(f"{page.base_url}/")
    page.click("nav >> text=Vendors")
    page.click("text=Add vendor")
    page.fill("input[name=name]", "Slow Cloud Hosting")
    page.fill("input[name=service]", "Hosts the customer service platform")
    page.select_option("select[name=criticality]", "critical")
    page.fill("input[name=recovery_minutes]", "8h")
    page.fill("input[name=evidence_on]", (timezone.localdate() - dt.timedelta(days=20)).isoformat())
    page.click("button:has-text('Add vendor')")
    page.wait_for_load_state()
    vendor = Vendor.objects.get(name="Slow Cloud Hosting")
    assert vendor.recovery_minutes == 480
    assert "Slow Cloud Hosting" in page.locator("h1").inner_text()
    assert page.locator("[data-testid=vendor-warnings]").count() == 0  # nothing depends on it yet

    # Link it to the critical process on the plan.
    page.goto(f"{page.base_url}{plan.get_absolute_url()}")
    assert "No critical process names a vendor" in page.locator("[data-testid=plan-vendors]").inner_text()
    page.click("#processes >> text=Edit Customer service")
    page.check("label:has-text('Slow Cloud Hosting (recovers in 8 h)')")
    page.click("button:has-text('Save')")
    page.wait_for_load_state()

    # The plan says the supplier comes back after the process is needed.
    flags = page.locator("[data-testid=plan-vendors]").inner_text()
    assert "Slow Cloud Hosting" in flags and "Recovers after the RTO" in flags
    assert "The supplier comes back after you need it." in flags
    warnings = page.locator("[data-testid=readiness-warning]").all_inner_texts()
    assert any("“Slow Cloud Hosting” commits to recover in 8 h, after the RTO of “Customer service” (4 h)" in w
               for w in warnings)
    assert "after the RTO" in page.locator("#processes").inner_text()
    page.shot("vendors-plan-warning")

    # The vendor's page names the process it fails.
    page.click("[data-testid=plan-vendors] >> text=Slow Cloud Hosting")
    page.wait_for_load_state()
    assert "later than the RTO of 1 process" in page.locator("[data-testid=vendor-warnings]").inner_text()
    assert "Customer service" in page.locator("[data-testid=vendor-dependents]").inner_text()
