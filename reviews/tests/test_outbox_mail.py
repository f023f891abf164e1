"""Review and acknowledgement mail through the outbox: queued with the approval, delivered by a worker,
each person once, failures visible per person and sent again only on request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcp_site.testing import make_plan, make_user
from plans.models import Audit, Notification
from plans.outbox import notification_status_for
from plans.tests.outbox_support import Sink
from reviews import ack_mail
from reviews.models import PlanDistribution
from reviews.services import plan_submit_for_review, review_approve

from .ack_support import approve, deliver_outbox, skip_exports

Kind, Status = Notification.Kind, Notification.Status
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    skip_exports(monkeypatch)


@pytest.fixture
def sink(settings):
    server = Sink().start()
    server.use(settings)
    yield server
    server.stop()


@pytest.fixture
def tasks(settings):
    """A task backend that keeps what is enqueued (no worker runs here)."""
    from django_tasks import default_task_backend

    settings.TASKS = DUMMY_TASKS
    return default_task_backend


def viewers(org, n, prefix):
    return [make_user(org, username=f"{prefix}{i}", groups=["BCP Viewer"]) for i in range(n)]


@pytest.mark.django_db
def test_approval_queues_the_links_with_it_and_costs_the_same_for_3_or_40_people(
    org, owner, reviewer, member, template, sink, tasks, django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    small = make_plan(org, owner, template=template, title="Small plan")
    large = make_plan(org, owner, template=template, title="Large plan")
    PlanDistribution.objects.create(plan=small, user=member)
    crowd = Group.objects.create(name="BCP Crowd")
    for person in viewers(org, 40, "crowd"):
        person.groups.add(crowd)
    PlanDistribution.objects.create(plan=large, group=crowd)
    [small_review] = plan_submit_for_review(plan=small, actor=owner, reviewers=[reviewer])
    [large_review] = plan_submit_for_review(plan=large, actor=owner, reviewers=[reviewer])
    deliver_outbox()
    sink.received.clear()

    User = type(reviewer)
    with CaptureQueriesContext(connection) as small_queries:
        review_approve(review=small_review, actor=User.objects.get(pk=reviewer.pk))
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(len(small_queries)):
        # 40 links: no query, no mail per person
        review_approve(review=large_review, actor=User.objects.get(pk=reviewer.pk))

    assert sink.count() == 0  # nothing is sent inside the request
    assert tasks.results and all(r.task.name == "outbox_deliver_task" for r in tasks.results)
    assert Audit.objects.get(plan=large, action="ack_links_sent").details_json == {
        "version": 1, "recipients": 40, "queued": 40,
    }
    deliver_outbox()  # a worker
    links = [r for r, subject in sink.received if subject.startswith("Please acknowledge: Large plan")]
    assert sorted(links) == sorted(f"crowd{i}@example.org" for i in range(40))  # each person once


@pytest.mark.django_db
def test_approval_to_inbox_through_the_database_queue_and_its_worker(
    plan, owner, reviewer, member, sink, settings, django_capture_on_commit_callbacks,
):
    from django_tasks_db.models import DBTaskResult

    from bcp_site.tasks_support import run_db_worker

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    with django_capture_on_commit_callbacks(execute=True):
        [review] = plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    with django_capture_on_commit_callbacks(execute=True):
        review_approve(review=review, actor=reviewer)
    assert sink.count() == 0  # queued, and the delivery tasks with them
    assert DBTaskResult.objects.filter(task_path="plans.outbox.outbox_deliver_task").exists()
    run_db_worker()  # the worker's own loop, as `manage.py db_worker` runs it
    links = sorted(r for r, subject in sink.received if subject.startswith("Please acknowledge"))
    assert links == ["member@example.org", "owner@example.org", "reviewer@example.org"]
    assert sink.to(reviewer.email)[0] == "Review requested: Head office plan v1"
    assert not Notification.objects.exclude(status=Status.SENT).exists()


@pytest.mark.django_db
def test_coverage_status_per_person_and_the_admin_retry(client, plan, owner, reviewer, member, bcp_admin, sink,
                                                        django_capture_on_commit_callbacks):
    sink.refuse[member.email] = "550 5.1.1 Mailbox unavailable"
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    people = [owner.pk, reviewer.pk, member.pk, bcp_admin.pk]
    status = notification_status_for(plan=plan, version_number=1, user_ids=people)
    assert status[member.pk] == "failed: mailbox unavailable"
    assert status[owner.pk] == status[reviewer.pk] == status[bcp_admin.pk] == "link sent"

    # The BCP Admin sees it in the outbox admin and asks for it to be sent again.
    client.force_login(bcp_admin)
    changelist = reverse("admin:plans_notification_changelist")
    page = client.get(changelist, {"status__exact": "failed"}).content.decode()
    assert "member@example.org" in page and "failed: mailbox unavailable" in page
    failed = Notification.objects.get(kind=Kind.ACK_LINK, recipient_user=member)
    sent = Notification.objects.get(kind=Kind.ACK_LINK, recipient_user=owner)
    del sink.refuse[member.email]
    response = client.post(changelist, {"action": "retry_notifications", "_selected_action": [failed.pk, sent.pk]},
                           follow=True)
    assert "1 email(s) queued to be sent again." in response.content.decode()
    assert "Only failed or given-up emails are sent again" in response.content.decode()
    deliver_outbox()
    links = [r for r, subject in sink.received if subject.startswith("Please acknowledge")]
    assert links.count(member.email) == 1 and links.count(owner.email) == 1  # the owner is not mailed twice
    assert notification_status_for(plan=plan, version_number=1, user_ids=[member.pk]) == {member.pk: "link sent"}
    assert Audit.objects.get(action="notifications_retried").actor_user == bcp_admin


@pytest.mark.django_db
def test_outbox_admin_is_read_only_and_retry_needs_the_permission(client, plan, owner, reviewer, member,
                                                                   bcp_admin, sink,
                                                                   django_capture_on_commit_callbacks):
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    row = Notification.objects.filter(kind=Kind.ACK_LINK).first()
    client.force_login(bcp_admin)
    change = reverse("admin:plans_notification_change", args=[row.pk])
    page = client.get(change).content.decode()
    assert "link sent" not in page and "email sent" in page and 'name="_save"' not in page
    assert client.post(reverse("admin:plans_notification_delete", args=[row.pk])).status_code == 403
    client.force_login(reviewer)  # staff without the outbox permissions
    assert client.get(reverse("admin:plans_notification_changelist")).status_code == 403


@pytest.mark.django_db
def test_a_new_link_on_request_is_one_more_row_and_reaches_the_person(plan, owner, reviewer, member, sink,
                                                                       django_capture_on_commit_callbacks):
    approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    assert ack_mail.ack_link_resend(plan=plan, user=member) == 1
    deliver_outbox()
    assert sink.to(member.email) == ["Please acknowledge: Head office plan (version 1)"] * 2
    assert notification_status_for(plan=plan, version_number=1, user_ids=[member.pk]) == {member.pk: "link sent"}


@pytest.mark.django_db
def test_review_mail_rolls_back_with_the_change(plan, owner, reviewer, sink):
    with pytest.raises(RuntimeError), transaction.atomic():
        plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        raise RuntimeError("something after the submission fails")
    assert not Notification.objects.exists()
    deliver_outbox()
    assert sink.count() == 0


def test_ack_notices_move_to_the_outbox_as_sent_mail(empty_database):
    executor = MigrationExecutor(connection)
    before = [("reviews", "0003_bcp_admin_user_permissions"), ("plans", "0009_notification")]
    after = [("reviews", "0004_ack_notice_to_outbox")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, Plan, Notice = old.get_model("auth", "User"), old.get_model("plans", "Plan"), \
        old.get_model("reviews", "AckNotice")
    org = old.get_model("plans", "Organisation").objects.create(name="Acme")
    template = old.get_model("templates_app", "Template").objects.create(name="Old template")
    ann = User.objects.create(username="ann", email="ann@example.org")
    plan = Plan.objects.create(org=org, title="Old plan", template=template, owner_user=ann)
    t0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)

    def notice(kind, at, version=1):
        Notice.objects.create(plan=plan, user=ann, version_number=version, kind=kind, sent_at_utc=at, sent_on=at.date())

    notice("link", t0)
    notice("link", t0 + dt.timedelta(hours=1))  # sent twice before the key existed
    notice("reminder", t0 + dt.timedelta(days=7))
    notice("resend", t0 + dt.timedelta(days=8))

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    moved = executor.loader.project_state(after).apps.get_model("plans", "Notification")
    rows = list(moved.objects.order_by("id").values_list("kind", "status", "to_address", "dedupe_key", "sent_at_utc"))
    assert rows == [
        ("ack_link", "sent", "ann@example.org", f"ack_link:{plan.pk}:1:{ann.pk}", t0),
        ("ack_link", "sent", "ann@example.org", None, t0 + dt.timedelta(hours=1)),
        ("ack_reminder", "sent", "ann@example.org", f"ack_reminder:{plan.pk}:{ann.pk}:2024-01-08",
         t0 + dt.timedelta(days=7)),
        ("ack_link_resend", "sent", "ann@example.org", None, t0 + dt.timedelta(days=8)),
    ]
    assert "bc_ack_notice" not in connection.introspection.table_names()

