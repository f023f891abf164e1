"""In a real browser: the pages and the admin run under the Content-Security-Policy without a violation."""

import pytest
from django.urls import reverse

from bcp_site.testing import PASSWORD
from reviews import ack_links
from reviews.tests.ack_support import approve, skip_exports

# Runs before any page script; records what the policy refused (CDP-injected, so the policy allows it).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_pages_and_admin_work_under_the_policy(browser_page, plan, owner, reviewer, bcp_admin, member, monkeypatch):
    page = browser_page
    skip_exports(monkeypatch)
    approve(plan, submitter=owner, approver=reviewer)  # the plan page then shows its acknowledgement meter
    link = ack_links.ack_link_url(user=member, plan=plan, version_number=1)

    problems = []

    def on_console(message):
        if message.type in {"error", "warning"} and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.add_init_script(RECORD_VIOLATIONS)

    def visit(path_or_url: str) -> None:
        page.goto(path_or_url if "://" in path_or_url else page.base_url + path_or_url)
        page.wait_for_load_state("load")
        problems.extend(f"{page.url}: {v}" for v in page.evaluate("() => window.__cspViolations"))

    # The admin's own login form, then the admin pages a reviewer uses.
    visit(reverse("admin:login"))
    page.fill("input[name=username]", bcp_admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith("/admin"), page.url

    visit(reverse("admin:plans_plan_changelist"))
    counter = page.locator(".action-counter")
    page.locator("#action-toggle").check()  # actions.js: select all, counter and action bar follow
    assert counter.inner_text().startswith("1 of 1 selected")
    page.select_option("select[name=action]", index=1)
    assert page.locator("select[name=action]").input_value() != ""
    page.shot("csp-admin-changelist")

    visit(reverse("admin:plans_plan_change", args=[plan.pk]))
    assert page.locator("#content h1, #content h2").first.is_visible()
    # nav_sidebar.js: the sidebar toggle hides and shows the navigation.
    sidebar = page.locator("#nav-sidebar")
    assert sidebar.is_visible()
    page.locator("#toggle-nav-sidebar").click()
    assert not sidebar.is_visible()
    page.locator("#toggle-nav-sidebar").click()  # the next pages keep it open (stored by the script)
    page.shot("csp-admin-plan-change")

    visit(reverse("admin:plans_plan_history", args=[plan.pk]))
    visit(f"/admin/reviews/ack/coverage/{plan.pk}/")

    visit(reverse("plans:plan_detail", args=[plan.pk]))
    assert page.locator("progress.ack-meter").count() == 1
    page.shot("csp-plan-page")

    page.context.clear_cookies()
    visit(link)  # the personal acknowledgement link, signed out
    assert page.locator("h1").inner_text() == plan.title
    page.shot("csp-ack-link")

    # Five wrong passwords: the sixth sign-in, right or not, gets the lockout page.
    for password in ["wrong"] * 5 + [PASSWORD]:
        visit(reverse("login"))
        page.fill("input[name=username]", member.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        problems.extend(f"{page.url} (after signing in): {v}" for v in page.evaluate("() => window.__cspViolations"))
    assert "Too many failed sign-ins for this account from this address" in page.locator("main").inner_text()
    page.shot("csp-lockout")
    problems[:] = [p for p in problems if "status of 429" not in p]  # the lockout page's own status

    # A response really carries the policy (the browser enforced it above).
    response = page.request.get(page.base_url + reverse("login"))
    assert "script-src 'self'" in response.headers["content-security-policy"]

    assert not problems, "\n".join(problems)
