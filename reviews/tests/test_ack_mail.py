"""Acknowledgement links mailed on approval: to a real local SMTP server, in batches, surviving failures."""

import smtplib

import pytest
from django.contrib.auth.models import Group
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from bcp_site.testing import make_user
from plans.models import Audit
from reviews import ack_links, ack_mail
from reviews.models import Ack, AckNotice, PlanDistribution

from .ack_support import approve, join_mail_threads, links_in, path_of, skip_exports

BACKENDS = "reviews.tests.test_ack_mail"


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)
    monkeypatch.setattr(ack_mail, "SEND_BACKOFF_SECONDS", 0)
    CountingBackend.reset()


class CountingBackend(SmtpBackend):
    """The real SMTP backend, counting the connections it opens and the batches it is given."""

    opened = 0
    batches: list[int] = []
    sent = 0
    fail_at: set[int] = set()  # 1-based numbers of send attempts that lose the connection
    refuse: set[str] = set()  # addresses the "server" refuses

    @classmethod
    def reset(cls):
        cls.opened, cls.batches, cls.sent, cls.fail_at, cls.refuse = 0, [], 0, set(), set()

    def open(self):
        created = super().open()
        if created:
            CountingBackend.opened += 1
        return created

    def send_messages(self, email_messages):
        CountingBackend.batches.append(len(email_messages))
        return super().send_messages(email_messages)

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
    assert AckNotice.objects.filter(kind=AckNotice.Kind.LINK, version_number=1).count() == 3
    assert sent_audit(plan) == {"version": 1, "recipients": 3, "sent": 3, "failed": 0}
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
def test_batches_share_one_connection(plan, owner, reviewer, org, smtp_server, settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    settings.BCP_MAIL_BATCH_SIZE = 3
    for i in range(5):
        make_user(org, username=f"staff{i}")
    mark_approved(plan)
    # 7 people > 3 per batch: a background thread sends; here we run its job directly.
    ack_mail._links_job(plan.pk, 1)
    assert CountingBackend.opened == 1
    assert CountingBackend.batches == [3, 3, 1]
    assert len(smtp_server.messages) == 7
    assert sent_audit(plan)["sent"] == 7


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_large_distribution_is_mailed_in_the_background(plan, owner, reviewer, org, smtp_server, settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    settings.BCP_MAIL_BATCH_SIZE = 4
    for i in range(9):
        make_user(org, username=f"staff{i}")
    approve(plan, submitter=owner, approver=reviewer)  # no capture: hooks run on the real commit
    join_mail_threads()
    link_mail = [m for m in smtp_server.messages if "Please acknowledge" in m["Subject"]]
    recipients = [m.envelope_rcpt_tos[0] for m in link_mail]
    assert len(recipients) == 11 and len(set(recipients)) == 11  # everyone, once
    assert CountingBackend.batches[-3:] == [4, 4, 3]
    assert AckNotice.objects.filter(kind=AckNotice.Kind.LINK).count() == 11
    assert sent_audit(plan) == {"version": 1, "recipients": 11, "sent": 11, "failed": 0}
    # Called directly, the function hands back the (non-daemon) thread it started.
    thread = ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1)
    assert thread is not None and thread.daemon is False
    thread.join(30)
    assert AckNotice.objects.filter(kind=AckNotice.Kind.LINK).count() == 22


@pytest.mark.django_db
def test_lost_connection_is_retried_without_duplicates(plan, owner, reviewer, org, smtp_server, settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    settings.BCP_MAIL_BATCH_SIZE = 10
    for i in range(4):
        make_user(org, username=f"staff{i}")
    mark_approved(plan)
    CountingBackend.fail_at = {3}  # the third message loses the connection once
    ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1)
    recipients = [m.envelope_rcpt_tos[0] for m in smtp_server.messages if "Please acknowledge" in m["Subject"]]
    assert len(recipients) == 6 and len(set(recipients)) == 6
    assert CountingBackend.opened == 2  # reconnected once
    assert sent_audit(plan) == {"version": 1, "recipients": 6, "sent": 6, "failed": 0}


@pytest.mark.django_db
def test_refused_recipient_does_not_stop_the_others(plan, owner, reviewer, member, smtp_server, settings,
                                                    django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = f"{BACKENDS}.CountingBackend"
    CountingBackend.refuse = {"member@example.org"}
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    recipients = sorted(m.envelope_rcpt_tos[0] for m in smtp_server.messages if "Please acknowledge" in m["Subject"])
    assert recipients == ["owner@example.org", "reviewer@example.org"]
    assert sent_audit(plan) == {"version": 1, "recipients": 3, "sent": 2, "failed": 1}
    assert not AckNotice.objects.filter(user=member).exists()


@pytest.mark.django_db
def test_mail_server_down_never_blocks_the_approval(plan, owner, reviewer, member, settings, caplog,
                                                    django_capture_on_commit_callbacks):
    from bcp_site.pytest_plugin import _free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    assert plan.status == "approved"
    assert sent_audit(plan) == {"version": 1, "recipients": 3, "sent": 0, "failed": 3}
    assert not AckNotice.objects.exists()
    assert "Giving up on 3 acknowledgement message(s) after 3 attempts" in caplog.text


@pytest.mark.django_db
def test_no_links_for_a_version_that_is_not_the_approved_one(plan, smtp_server):
    assert ack_mail.ack_links_send_for_version(plan_id=plan.pk, version_number=1) is None  # never approved
    assert ack_mail.ack_links_send_for_version(plan_id=999999, version_number=1) is None
    assert smtp_server.messages == [] and not Audit.objects.filter(action="ack_links_sent").exists()
