"""Acknowledgement links mailed on approval through the outbox, to a real local SMTP server."""

import smtplib

import pytest
from django.contrib.auth.models import Group
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from bcp_site.testing import make_user
from plans.models import Audit, Notification
from reviews import ack_links, ack_mail
from reviews.models import Ack, PlanDistribution

from .ack_support import approve, deliver_outbox, links_in, path_of, skip_exports

BACKENDS = "reviews.tests.test_ack_mail"
LINK = Notification.Kind.ACK_LINK


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)
    CountingBackend.reset()


class CountingBackend(SmtpBackend):
    """The real SMTP backend, counting the connections it opens and the messages it is given."""

    opened = 0
    sent = 0
    fail_at: set[int] = set()  # 1-based numbers of send attempts that lose the connection
    refuse: set[str] = set()  # addresses the "server" refuses

    @classmethod
    def reset(cls):
        cls.opened, cls.sent, cls.fail_at, cls.refuse = 0, 0, set(), set()

    def open(self):
        created = super().open()
        if created:
            CountingBackend.opened += 1
        return created

    def _send(self, email_message):
        CountingBackend.sent += 1
        if CountingBackend.sent in CountingBackend.fail_at:
            raise smtplib.SMTPServerDisconnected("connection lost (test)")
        if set(email_message.to) & CountingBackend.refuse:
            raise smtplib.SMTPRecipientsRefused({email_message.to[0]: (550, b"no such user")})
        return super()._send(email_message)


def mark_approved(plan):
    """Approved as the workflow leaves it, without the workflow's own mail (for counting connections)."""
    plan.status, plan.approved_version, plan.approved_at_utc = "approved", plan.current_version, plan.created_at
    plan.save()


def sent_audit(plan):
    return Audit.objects.get(plan=plan, action="ack_links_sent").details_json


def link_rows(**filters):
    return Notification.objects.filter(kind=LINK, **filters)


@pytest.mark.django_db
def test_approval_mails_everyone_a_personal_working_link(client, plan, owner, reviewer, member, smtp_server,
                                                         django_capture_on_commit_callbacks):
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    link_mail = [m for m in smtp_server.messages if "Please acknowledge" in m["Subject"]]
    assert sorted(m.envelope_rcpt_tos[0] for m in link_mail) == [
        "member@example.org", "owner@example.org", "reviewer@example.org"
    ]
    [message] = [m for m in link_mail if m.envelope_rcpt_tos == ["member@example.org"]]
    assert message["Subject"] == "Please acknowledge: Head office plan (version 1)"
    assert message["To"] == "member@example.org"
    text, html = smtp_server.text(message), smtp_server.html(message)
    assert "Hello Member" in text
    [text_link] = links_in(text)
    assert text_link.startswith("http://127.0.0.1:8000/ack/l/")  # absolute, from SITE_URL
    assert f'href="{text_link}"' in html
    assert ack_links.ack_token_read(path_of(text_link).split("/")[3]).user_id == member.pk
    page = client.get(path_of(text_link))
    assert page.status_code == 200 and "Head office plan" in page.content.decode()
    client.post(path_of(text_link))
    assert Ack.objects.get().user == member
    assert link_rows(version_number=1, status=Notification.Status.SENT).count() == 3
    assert link_rows(recipient_user=member).get().message_id == message["Message-ID"]
    assert sent_audit(plan) == {"version": 1, "recipients": 3, "queued": 3}
    # Each link is personal: the owner's link records the owner.
    [owner_mail] = [m for m in link_mail if m.envelope_rcpt_tos == ["owner@example.org"]]
    client.post(path_of(links_in(smtp_server.text(owner_mail))[0]))
    assert set(Ack.objects.values_list("user__username", flat=True)) == {"member", "owner"}


@pytest.mark.django_db
def test_only_the_distribution_is_mailed(plan, owner, reviewer, member, org, smtp_server,
                                         django_capture_on_commit_callbacks):
    viewer2 = make_user(org, username="viewer2", groups=["BCP Viewer"])
    make_user(org, username="gone", groups=["BCP Viewer"], is_active=False)
    make_user(org, username="silent")  # in the organisation, not on the chosen distribution
    PlanDistribution.objects.create(plan=plan, group=Group.objects.get(name="BCP Viewer"))
    PlanDistribution.objects.create(plan=plan, user=owner)
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    recipients = sorted(m.envelope_rcpt_tos[0] for m in smtp_server.messages if "acknowledge" in m["Subject"])
    assert recipients == ["member@example.org", "owner@example.org", f"{viewer2.username}@example.org"]


@pytest.mark.django_db
def test_each_batch_shares_one_connection(plan, owner, reviewer, org, smtp_server, settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    settings.BCP_MAIL_BATCH_SIZE = 3
    for i in range(5):
        make_user(org, username=f"staff{i}")
    mark_approved(plan)
    assert ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1) == 7
    report = deliver_outbox()
    assert (report.sent, report.batches) == (7, 3)
    assert CountingBackend.opened == 3  # batches of 3, 3 and 1
    assert len(smtp_server.messages) == 7


@pytest.mark.django_db
def test_sending_links_again_mails_only_those_without_one(plan, owner, reviewer, member, org, smtp_server):
    mark_approved(plan)
    assert ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1) == 3
    deliver_outbox()
    newcomer = make_user(org, username="newcomer")
    assert ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1) == 1
    deliver_outbox()
    recipients = [m.envelope_rcpt_tos[0] for m in smtp_server.messages]
    assert len(recipients) == 4 and len(set(recipients)) == 4 and newcomer.email in recipients
    assert [a.details_json["queued"] for a in Audit.objects.filter(action="ack_links_sent").order_by("id")] == [3, 1]


@pytest.mark.django_db
def test_lost_connection_is_retried_without_duplicates(plan, owner, reviewer, org, smtp_server, settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    settings.BCP_MAIL_BATCH_SIZE = 10
    for i in range(4):
        make_user(org, username=f"staff{i}")
    mark_approved(plan)
    CountingBackend.fail_at = {3}  # the third message loses the connection once
    ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1)
    first = deliver_outbox()
    assert (first.sent, first.retried, first.released) == (2, 1, 3)  # the rest waits for the retry
    link_rows().update(next_attempt_at_utc=link_rows().order_by("id").first().created_at_utc)  # time passes
    deliver_outbox()
    recipients = [m.envelope_rcpt_tos[0] for m in smtp_server.messages if "Please acknowledge" in m["Subject"]]
    assert len(recipients) == 6 and len(set(recipients)) == 6
    assert set(link_rows().values_list("status", flat=True)) == {Notification.Status.SENT}


@pytest.mark.django_db
def test_refused_recipient_does_not_stop_the_others(plan, owner, reviewer, member, smtp_server, settings,
                                                    django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    CountingBackend.refuse = {"member@example.org"}
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    recipients = sorted(m.envelope_rcpt_tos[0] for m in smtp_server.messages if "Please acknowledge" in m["Subject"])
    assert recipients == ["owner@example.org", "reviewer@example.org"]
    refused = link_rows(recipient_user=member).get()
    assert refused.status == Notification.Status.FAILED and "mailbox unavailable" in refused.last_error


@pytest.mark.django_db
def test_mail_server_down_never_blocks_the_approval(plan, owner, reviewer, member, settings,
                                                    django_capture_on_commit_callbacks):
    from bcp_site.pytest_plugin import _free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    assert plan.status == "approved"
    assert sent_audit(plan) == {"version": 1, "recipients": 3, "queued": 3}
    assert set(link_rows().values_list("status", flat=True)) == {Notification.Status.QUEUED}  # owed, not lost


@pytest.mark.django_db
def test_no_links_for_a_version_that_is_not_the_approved_one(plan, smtp_server):
    assert ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1) == 0  # never approved
    assert ack_mail.ack_links_send_for_version(plan_id=999999, version_number=1) == 0
    deliver_outbox()
    assert smtp_server.messages == [] and not Audit.objects.filter(action="ack_links_sent").exists()
