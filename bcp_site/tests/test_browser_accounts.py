"""In a real browser: forgot the password, reset it through the emailed link, sign in with the new one."""

import re

import pytest
from django.urls import reverse

from bcp_site.pytest_plugin import browser_login
from bcp_site.testing import PASSWORD
from plans.outbox import outbox_deliver

from .test_browser_csp import RECORD_VIOLATIONS

NEW_PASSWORD = "Quiet-Harbour-Lantern-2031"
RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/accounts/reset/[^\s\"'<>/]+/[^\s\"'<>/]+/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_forgotten_password_is_reset_from_the_login_page(browser_page, owner, smtp_server):
    page = browser_page
    page.add_init_script(RECORD_VIOLATIONS)
    violations = []

    def check_policy():
        violations.extend(f"{page.url}: {v}" for v in page.evaluate("() => window.__cspViolations"))

    page.goto(page.base_url + reverse("login"))
    assert page.locator('link[rel="icon"]').count() == 1
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Reset your password"
    check_policy()
    page.fill("input[name=email]", owner.email)
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Check your email"
    check_policy()
    page.shot("password-reset-sent")

    outbox_deliver()  # as a worker would (the request may have had it delivered already)
    [message] = [m for m in smtp_server.to(owner.email) if "new password" in m["Subject"]]
    [link] = RESET_LINK.findall(smtp_server.text(message))
    assert link.startswith(page.base_url)

    page.goto(link)
    assert page.locator("h1").inner_text() == "Choose a new password"
    assert "/set-password/" in page.url  # the token left the address bar
    check_policy()
    page.fill("input[name=new_password1]", "password")
    page.fill("input[name=new_password2]", "password")
    page.get_by_role("button", name="Change my password").click()
    page.wait_for_load_state()
    assert "This password is too common." in page.locator("#id_new_password2_error").inner_text()
    page.shot("password-reset-weak")

    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    page.get_by_role("button", name="Change my password").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Your password is changed"
    check_policy()

    page.get_by_role("link", name="Log in").last.click()
    page.wait_for_load_state()
    browser_login(page, owner.username, PASSWORD)  # the old password no longer works
    assert page.locator("h1").inner_text() == "Log in"
    browser_login(page, owner.username, NEW_PASSWORD)
    assert page.get_by_role("button", name="Log out").is_visible()
    page.shot("password-reset-signed-in")

    icon = page.request.get(page.base_url + "/favicon.ico")  # what browsers ask for by themselves
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert not violations, violations
