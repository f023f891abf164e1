"""Password reset by email: from the login page, through the outbox and a real SMTP server, to a
new password; limits per address and per client address; no account enumeration; audited."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bcp_site.testing import PASSWORD, make_user
from plans.audit_actions import audit_action_label, audit_sentence
from plans.models import Audit, Notification
from plans.outbox import outbox_deliver

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-Harbour-Lantern-2031"
RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/accounts/reset/[^\s\"'<>/]+/[^\s\"'<>/]+/")


def ask(client, email: str, *, ip: str = "198.51.100.7"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def reset_mails(smtp_server, address: str):
    return [m for m in smtp_server.to(address) if m["Subject"] == "Choose a new password for your BCP account"]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def sign_in(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_reset_from_the_login_page_through_the_mail_to_a_new_password(client, org, owner, smtp_server, settings):
    login_page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}">Forgot your password?</a>' in login_page

    assert "Send me a link" in client.get(reverse("password_reset")).content.decode()
    response = ask(client, "OWNER@example.org")  # the address as typed, whatever its case
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    done_page = client.get(response["Location"]).content.decode()
    assert "If an account uses that address, we have sent it a link" in done_page

    [row] = Notification.objects.filter(kind=Notification.Kind.PASSWORD_RESET)
    assert (row.recipient_user_id, row.to_address, row.org_id, row.status) == (owner.pk, owner.email, org.pk, "queued")
    assert smtp_server.messages == []  # queued, not sent by the request

    assert outbox_deliver().sent == 1
    [message] = reset_mails(smtp_server, owner.email)
    [link] = RESET_LINK.findall(smtp_server.text(message))
    assert link.startswith(settings.SITE_URL + "/accounts/reset/")
    assert RESET_LINK.findall(smtp_server.html(message)) == [link]
    assert "The link works once, for 24 hours" in smtp_server.text(message)
    row.refresh_from_db()
    token = link.rstrip("/").rsplit("/", 1)[1]
    stored = " ".join(str(value) for value in Notification.objects.filter(pk=row.pk).values().get().values())
    assert row.status == "sent" and token not in stored  # the link was made at delivery, never stored

    # The link leads to the form on a URL without the token.
    opened = client.get(path_of(link))
    assert opened.status_code == 302 and token not in opened["Location"]
    form_url = opened["Location"]
    assert "Choose a new password" in client.get(form_url).content.decode()

    # Django's password validators, with the error next to the field.
    weak = client.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 200
    html = weak.content.decode()
    errors = re.search(r'<ul class="errorlist" id="id_new_password2_error">(.*?)</ul>', html).group(1)
    assert "This password is too common." in errors
    assert re.search(r'<input[^>]+aria-describedby="[^"]*id_new_password2_error"[^>]+id="id_new_password2"', html)
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)

    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert "Your password is changed" in client.get(done["Location"]).content.decode()

    assert sign_in(client, "owner", PASSWORD).status_code == 200  # refused: the form again
    assert sign_in(client, "owner", NEW_PASSWORD).status_code == 302
    client.logout()

    used = client.get(path_of(link))  # a link works once
    assert used.status_code == 400 and "This link does not work" in used.content.decode()

    actions = list(Audit.objects.filter(org=org).order_by("id").values_list("action", "actor_user_id", "details_json"))
    assert actions[-2:] == [
        ("password_reset_requested", None, {"username": "owner", "ip": "198.51.100.7"}),
        ("password_reset_completed", owner.pk, {"username": "owner", "ip": "127.0.0.1"}),
    ]


def test_an_unknown_or_inactive_address_gets_the_same_page_and_nothing_else(client, owner, smtp_server):
    inactive = make_user(None, username="leaver", is_active=False)
    passwordless = make_user(None, username="newcomer")
    passwordless.set_unusable_password()
    passwordless.save()
    audits = Audit.objects.count()

    known = ask(client, owner.email)
    pages = {}
    for email in ("nobody@example.org", inactive.email, passwordless.email):
        response = ask(client, email)
        pages[email] = (response.status_code, response["Location"])
    assert set(pages.values()) == {(known.status_code, known["Location"])}
    assert client.get(reverse("password_reset_done")).status_code == 200

    assert list(Notification.objects.values_list("to_address", flat=True)) == [owner.email]
    assert Audit.objects.count() == audits + 1  # the known address's request only
    outbox_deliver()
    assert [m.envelope_rcpt_tos for m in smtp_server.messages] == [[owner.email]]


def test_a_form_error_for_an_address_that_is_not_one(client):
    response = client.post(reverse("password_reset"), {"email": "not an address"})
    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert not Notification.objects.exists()


def test_the_fourth_request_for_an_address_in_an_hour_queues_nothing(client, org, owner, member):
    for n in range(3):
        assert ask(client, owner.email, ip=f"198.51.100.{n + 1}")["Location"] == reverse("password_reset_done")
    assert Notification.objects.count() == 3

    for n in range(2):  # refused, from yet other addresses: still the same page
        response = ask(client, owner.email, ip=f"203.0.113.{n + 1}")
        assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert Notification.objects.count() == 3

    [refused] = Audit.objects.filter(org=org, action="password_reset_throttled")  # once per hour is enough
    assert refused.details_json == {"username": "owner", "ip": "203.0.113.1",
                                    "limit": "too many requests for this address"}
    assert ask(client, member.email).status_code == 302  # another address is not limited
    assert Notification.objects.count() == 4


def test_the_eleventh_request_from_one_client_address_in_an_hour_queues_nothing(client, org, owner, member):
    for n in range(10):
        ask(client, f"someone{n}@example.org", ip="203.0.113.9")
    response = ask(client, owner.email, ip="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert not Notification.objects.exists()
    [refused] = Audit.objects.filter(org=org, action="password_reset_throttled")
    assert refused.details_json["limit"] == "too many requests for this client address"

    ask(client, member.email, ip="203.0.113.10")  # another client is not limited
    assert list(Notification.objects.values_list("to_address", flat=True)) == [member.email]


def test_limits_come_from_the_settings(client, owner, settings):
    settings.BCP_PASSWORD_RESET_PER_ADDRESS_PER_HOUR = 1
    ask(client, owner.email)
    ask(client, owner.email)
    assert Notification.objects.count() == 1


def test_the_audit_trail_reads_in_words(client, org, owner, bcp_admin):
    for _ in range(4):
        ask(client, owner.email)
    sentences = {(audit_action_label(a.action), audit_sentence(a.action, a.details_json))
                 for a in Audit.objects.filter(org=org, action__startswith="password_reset")}
    assert sentences == {
        ("Password reset link requested by email", "Username: owner. Client address: “198.51.100.7”."),
        ("Password reset refused: too many requests",
         "Username: owner. Client address: “198.51.100.7”. Limit: “too many requests for this address”."),
    }
    client.force_login(bcp_admin)
    page = client.get(reverse("changes:org_audit")).content.decode()
    assert "Password reset link requested by email" in page and "Password reset refused: too many requests" in page


def test_no_mail_when_the_account_changed_before_delivery(client, owner, member, smtp_server):
    ask(client, owner.email)
    ask(client, member.email)
    get_user_model().objects.filter(pk=owner.pk).update(is_active=False)
    get_user_model().objects.filter(pk=member.pk).update(email="member.new@example.org")

    report = outbox_deliver()
    assert (report.sent, report.failed) == (0, 2)
    assert smtp_server.messages == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"failed"}


def test_a_link_for_a_deactivated_person_no_longer_works(client, owner, smtp_server):
    ask(client, owner.email)
    outbox_deliver()
    [link] = RESET_LINK.findall(smtp_server.text(reset_mails(smtp_server, owner.email)[0]))
    get_user_model().objects.filter(pk=owner.pk).update(is_active=False)
    response = client.get(path_of(link))
    assert response.status_code == 400 and "This link does not work" in response.content.decode()


def test_a_reset_lifts_the_sign_in_lockout(client, owner, smtp_server, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "owner", "wrong")
    assert sign_in(client, "owner", PASSWORD).status_code == 429
    ask(client, owner.email)
    outbox_deliver()
    [link] = RESET_LINK.findall(smtp_server.text(reset_mails(smtp_server, owner.email)[0]))
    form_url = client.get(path_of(link))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert sign_in(client, "owner", NEW_PASSWORD).status_code == 302
