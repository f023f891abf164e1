"""`manage.py send_ack_reminders`: outstanding people, once a day, approved non-archived plans only."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bcp_site.testing import make_plan
from plans.models import Audit, Notification
from reviews import ack_mail, ack_records
from reviews.services import plan_archive

from .ack_support import approve, deliver_outbox, links_in, path_of, skip_exports
from .test_ack_mail import CountingBackend

REMINDER = Notification.Kind.ACK_REMINDER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)
    CountingBackend.reset()


@pytest.fixture
def old_plan(plan, owner, reviewer, member, django_capture_on_commit_callbacks):
    """Approved ten days ago; owner, reviewer and member must acknowledge."""
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    plan.approved_at_utc = timezone.now() - timedelta(days=10)
    plan.save(update_fields=["approved_at_utc"])
    return plan


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("send_ack_reminders", *args, stdout=out)
    deliver_outbox()  # as a worker would
    return out.getvalue().strip()


def reminders(smtp_server):
    return [m for m in smtp_server.messages if m["Subject"].startswith("Reminder:")]


def test_reminds_the_outstanding_once_a_day(client, old_plan, member, smtp_server):
    ack_records.ack_record(plan=old_plan, user=member, version_number=1, via="page")
    smtp_server.messages.clear()
    assert run() == "Reminders: 2 queued, 0 skipped (already reminded today) across 1 plan"
    sent = reminders(smtp_server)
    assert sorted(m.envelope_rcpt_tos[0] for m in sent) == ["owner@example.org", "reviewer@example.org"]
    assert sent[0]["Subject"] == "Reminder: please acknowledge Head office plan (version 1)"
    [link] = links_in(smtp_server.text(sent[0]))
    assert f'href="{link}"' in smtp_server.html(sent[0])
    assert "I have read and understood this plan" in client.get(path_of(link)).content.decode()
    # The same day again: nobody is mailed twice (the outbox's key per person, plan and day).
    assert run() == "Reminders: 0 queued, 2 skipped (already reminded today) across 1 plan"
    assert len(reminders(smtp_server)) == 2
    assert Notification.objects.filter(kind=REMINDER, status=Notification.Status.SENT).count() == 2
    audit = Audit.objects.filter(plan=old_plan, action="ack_reminders_sent").get()
    assert audit.details_json["count"] == 2
    # The next day they are reminded again.
    summary = ack_mail.ack_reminders_send(days=7, today=timezone.now().date() + timedelta(days=1))
    assert (summary.queued, summary.skipped) == (2, 0)


def test_days_since_approval(old_plan, smtp_server):
    smtp_server.messages.clear()
    assert run("--days", "11").startswith("Reminders: 0 queued, 0 skipped")
    assert reminders(smtp_server) == []
    assert run("--days", "10").startswith("Reminders: 3 queued")
    assert len(reminders(smtp_server)) == 3


def test_only_approved_unarchived_plans_and_active_users(old_plan, org, owner, member, bcp_admin, smtp_server):
    make_plan(org, owner, title="Never approved")
    member.is_active = False
    member.save()
    smtp_server.messages.clear()
    summary = ack_mail.ack_reminders_send(days=7)
    assert (summary.queued, summary.plans) == (3, 1)  # owner, reviewer, bcp_admin; not the deactivated member
    deliver_outbox()
    assert "member@example.org" not in [m.envelope_rcpt_tos[0] for m in reminders(smtp_server)]
    plan_archive(plan=old_plan, actor=bcp_admin)
    assert ack_mail.ack_reminders_send(days=7, today=timezone.now().date() + timedelta(days=1)).plans == 0


def test_refused_reminder_is_failed_in_the_outbox_and_not_repeated_that_day(old_plan, settings, smtp_server):
    settings.EMAIL_BACKEND = "reviews.tests.test_ack_mail.CountingBackend"
    CountingBackend.refuse = {"member@example.org"}
    assert run() == "Reminders: 3 queued, 0 skipped (already reminded today) across 1 plan"
    refused = Notification.objects.get(kind=REMINDER, to_address="member@example.org")
    assert refused.status == Notification.Status.FAILED  # visible in the admin, sent again only on request
    CountingBackend.refuse = set()
    assert run() == "Reminders: 0 queued, 3 skipped (already reminded today) across 1 plan"


def test_bad_days(old_plan):
    with pytest.raises(CommandError, match="--days must be zero or more"):
        run("--days", "-1")
    with pytest.raises(CommandError):
        run("--days", "soon")
