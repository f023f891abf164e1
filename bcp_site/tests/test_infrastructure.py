"""The shared test infrastructure works: real SMTP delivery and a real browser."""

import pytest
from django.core.mail import EmailMultiAlternatives

from bcp_site.pytest_plugin import browser_login


def test_mail_reaches_the_local_smtp_server(smtp_server):
    message = EmailMultiAlternatives("Hello", "plain body", "bcp@example.org", ["jo@example.org"])
    message.attach_alternative("<p>html body</p>", "text/html")
    message.send()
    [received] = smtp_server.to("jo@example.org")
    assert received["Subject"] == "Hello"
    assert "plain body" in smtp_server.text(received)
    assert "<p>html body</p>" in smtp_server.html(received)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_browser_logs_in(browser_page, member):
    browser_login(browser_page, "member")
    assert "/accounts/login" not in browser_page.url
    assert browser_page.locator("nav").inner_text().count("Log out") == 1
