"""Overdue findings: flagged on the plan page, and their owners emailed once a day (through the outbox,
delivered to a real SMTP server) by `manage.py send_finding_reminders`."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bcp_site.testing import make_plan, make_user
from plans.findings import finding_update, findings_overdue_remind
from plans.models import Audit, Finding, Notification
from plans.outbox import outbox_deliver
from reviews.services import plan_archive

from .exercise_support import approve, held_exercise, raise_finding

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _days(n: int) -> dt.date:
    return TODAY() + dt.timedelta(days=n)


@pytest.fixture
def exercised(plan, owner, reviewer):
    approve(plan, submitter=owner, approver=reviewer)
    return held_exercise(plan, actor=owner)


def run(*args) -> str:
    out = StringIO()
    call_command("send_finding_reminders", *args, stdout=out)
    outbox_deliver()  # as a worker would
    return out.getvalue().strip()


def reminders(smtp_server, address: str):
    return [m for m in smtp_server.to(address) if "past" in m["Subject"]]


def test_owners_of_overdue_findings_get_one_email_a_day(exercised, org, owner, editor, template, reviewer,
                                                        smtp_server, settings):
    late = raise_finding(exercised, actor=owner, owner=owner, due_on=_days(-3), description="Call tree is stale")
    other_plan = make_plan(org, owner, template=template, title="Depot plan")
    approve(other_plan, submitter=owner, approver=reviewer)
    later = raise_finding(held_exercise(other_plan, actor=owner), actor=owner, owner=owner, due_on=_days(-1),
                          description="Generator fuel runs out")
    raise_finding(exercised, actor=owner, owner=owner, due_on=_days(0), description="Due today, not overdue")
    raise_finding(exercised, actor=owner, owner=editor, due_on=_days(-10), description="Editor's own late one")
    done = raise_finding(exercised, actor=owner, owner=owner, due_on=_days(-5), description="Fixed already")
    finding_update(finding=done, actor=owner, description=done.description, severity=done.severity, owner=owner,
                   due_on=done.due_on, status=Finding.Status.DONE)

    assert run() == "Overdue findings: 3 overdue, 2 reminders queued, 0 skipped (already reminded today)"
    [mail] = reminders(smtp_server, owner.email)
    assert mail["Subject"] == "2 findings past their due date"
    text, html = smtp_server.text(mail), smtp_server.html(mail)
    assert "Call tree is stale" in text and "Generator fuel runs out" in text and "Depot plan" in text
    assert "3 days ago" in text and "Fixed already" not in text and "Due today" not in text
    assert f"{settings.SITE_URL}{late.get_absolute_url()}" in text
    assert f'href="{settings.SITE_URL}{later.get_absolute_url()}"' in html
    [mail] = reminders(smtp_server, editor.email)
    assert mail["Subject"] == "1 finding past its due date" and "Editor's own late one" in smtp_server.text(mail)
    assert Audit.objects.get(org=org, plan=None, action="finding_reminders_sent").details_json["count"] == 2

    # The same day again: nobody is mailed twice (the outbox's key per person and day).
    assert run() == "Overdue findings: 3 overdue, 0 reminders queued, 2 skipped (already reminded today)"
    assert len(reminders(smtp_server, owner.email)) == 1
    assert Notification.objects.filter(kind=Notification.Kind.FINDINGS_OVERDUE, status="sent").count() == 2

    # The next day they are reminded again.
    assert run("--date", _days(1).isoformat()).startswith("Overdue findings: 4 overdue, 2 reminders queued")
    assert len(reminders(smtp_server, owner.email)) == 2


def test_archived_plans_and_people_without_an_account_are_left_out(exercised, plan, org, owner, bcp_admin):
    gone = make_user(org, username="leaver", groups=["BCP Editor"])
    raise_finding(exercised, actor=owner, owner=gone, due_on=_days(-2))
    gone.is_active = False
    gone.save()
    assert str(findings_overdue_remind()) == ("Overdue findings: 1 overdue, 0 reminders queued, 0 skipped (already "
                                              "reminded today), 1 owner without an address or account")
    plan_archive(plan=plan, actor=bcp_admin)
    assert findings_overdue_remind().findings == 0
    assert not Notification.objects.filter(kind=Notification.Kind.FINDINGS_OVERDUE).exists()


def test_the_plan_page_flags_overdue_findings(client, plan, exercised, owner):
    raise_finding(exercised, actor=owner, due_on=_days(-1), description="Late finding")
    raise_finding(exercised, actor=owner, due_on=_days(5), description="Finding on time")
    client.force_login(owner)
    page = client.get(plan.get_absolute_url()).content.decode()
    card = page.split('data-testid="open-findings"')[1].split("</section>")[0]
    late_row = card.split("Late finding")[1].split("</tr>")[0]
    on_time_row = card.split("Finding on time")[1].split("</tr>")[0]
    assert "overdue" in late_row and "overdue" not in on_time_row


def test_a_bad_date_is_refused_by_the_command():
    with pytest.raises(CommandError, match="--date must be a day written YYYY-MM-DD"):
        call_command("send_finding_reminders", "--date", "31/12/2026")
