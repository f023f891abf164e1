"""The outbox (bc_notification): nothing lost, nothing sent twice, to a real SMTP server.

Delivery runs the workers' own loop (`outbox_deliver`) in the test process, and in separate
processes against a database file where a worker is killed in the middle of a run.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bcp_site.testing import make_user
from plans import outbox
from plans.models import Audit, Notification

from . import outbox_support
from .outbox_support import OtherProcesses, Sink, register_plain_renderer, shared_database_url

Kind, Status = Notification.Kind, Notification.Status


@pytest.fixture(autouse=True)
def _renderer(settings):
    register_plain_renderer()
    settings.BCP_MAIL_BATCH_SIZE = 100
    settings.BCP_OUTBOX_BACKOFF_SECONDS = 30
    settings.BCP_OUTBOX_MAX_ATTEMPTS = 4


@pytest.fixture
def sink(settings):
    server = Sink().start()
    server.use(settings)
    yield server
    server.stop()


def people(org, n, prefix="person"):
    return [make_user(org, username=f"{prefix}{i}") for i in range(n)]


def queue(org, users, **kwargs):
    kwargs.setdefault("kind", Kind.OTHER)
    return outbox.notification_queue(recipients=users, org=org, context={"subject": "Hello"}, **kwargs)


def statuses():
    return dict(Notification.objects.values_list("to_address", "status"))


def make_due(rows=None):
    """Time passes: rows waiting for a retry are due now."""
    (rows or Notification.objects.all()).update(next_attempt_at_utc=timezone.now() - timedelta(seconds=1))


# --- queueing and uniqueness ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_is_queued_once_and_the_database_refuses_a_second(org, plan, sink):
    users = people(org, 3)
    User = type(users[0])
    key = outbox.dedupe_key(Kind.ACK_LINK, plan.pk, 1, "{user}")
    link = {"kind": Kind.ACK_LINK, "plan": plan, "version_number": 1, "dedupe": key}
    assert queue(org, User.objects.filter(pk__in=[u.pk for u in users]), **link) == 3  # copied by the database
    newcomer = make_user(org, username="late")
    assert queue(org, users + [newcomer], **link) == 1  # only the newcomer
    assert queue(org, User.objects.filter(pk__in=[u.pk for u in users + [newcomer]]), **link) == 0
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == sorted(
        f"ack_link:{plan.pk}:1:{u.pk}" for u in users + [newcomer]
    )
    row = Notification.objects.get(recipient_user=users[0])
    assert (row.to_address, row.kind, row.org, row.plan, row.version_number, row.status, row.context_json) == (
        users[0].email, Kind.ACK_LINK, org, plan, 1, Status.QUEUED, {"subject": "Hello"}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient_user=users[0], to_address="x@example.org", kind=Kind.ACK_LINK, plan=plan, version_number=1,
            org=org, next_attempt_at_utc=timezone.now(), created_at_utc=timezone.now(),
            dedupe_key=key.format(user=users[0].pk),
        )
    # Without a key the same mail may be queued again (a second request for a new link).
    assert queue(org, users[:1]) == 1 and queue(org, users[:1]) == 1


@pytest.mark.django_db
def test_database_refuses_unknown_kinds_and_statuses(org, owner):
    now = timezone.now()
    for values in ({"kind": "fax"}, {"kind": Kind.OTHER, "status": "lost"}, {"kind": Kind.OTHER, "version_number": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Notification.objects.create(recipient_user=owner, to_address=owner.email, org=org,
                                        next_attempt_at_utc=now, created_at_utc=now, **values)
    with pytest.raises(ValueError):
        outbox.notification_queue(kind="fax", recipients=[owner], org=org)


@pytest.mark.django_db
def test_rows_commit_with_the_change_and_nothing_is_rendered_or_sent_before(org, sink):
    users = people(org, 2) + [make_user(org, username="no_mail", email="")]
    with pytest.raises(RuntimeError), transaction.atomic():
        queue(org, users)
        raise RuntimeError("the change fails")
    assert not Notification.objects.exists()
    assert queue(org, users) == 2  # nobody without an address
    assert sink.count() == 0 and set(statuses().values()) == {Status.QUEUED}


# --- delivery ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_batches_go_over_one_connection_and_each_row_records_its_message(org, sink, settings):
    settings.BCP_MAIL_BATCH_SIZE = 4
    queue(org, people(org, 10))
    report = outbox.outbox_deliver()
    assert (report.sent, report.batches) == (10, 3)
    assert sink.sessions == 3  # one SMTP connection per batch
    assert sorted(r for r, _ in sink.received) == sorted(f"person{i}@example.org" for i in range(10))
    row = Notification.objects.get(to_address="person0@example.org")
    assert row.status == Status.SENT and row.attempts == 1 and row.sent_at_utc is not None
    assert row.message_id.startswith("<") and row.claim_token is None
    assert outbox.outbox_deliver().sent == 0  # nothing is sent twice


@pytest.mark.django_db
def test_refused_mailbox_fails_for_good_and_the_others_go(org, plan, sink):
    users = people(org, 3)
    sink.refuse["person1@example.org"] = "550 5.1.1 No such user"
    queue(org, users, kind=Kind.ACK_LINK, plan=plan, version_number=1)
    report = outbox.outbox_deliver()
    assert (report.sent, report.failed) == (2, 1)
    failed = Notification.objects.get(to_address="person1@example.org")
    assert failed.status == Status.FAILED and "550" in failed.last_error
    make_due()
    assert outbox.outbox_deliver().sent == 0  # a refused mail is not tried again by itself
    assert outbox.notification_status_for(plan=plan, version_number=1, user_ids=[u.pk for u in users]) == {
        users[0].pk: "link sent", users[1].pk: "failed: mailbox unavailable", users[2].pk: "link sent",
    }


@pytest.mark.django_db
def test_link_status_for_many_people_is_one_query(org, plan, django_assert_num_queries):
    few, many = people(org, 2, "few"), people(org, 30, "many")
    queue(org, few + many, kind=Kind.ACK_LINK, plan=plan, version_number=1)
    for ids in ([u.pk for u in few], [u.pk for u in few + many]):
        with django_assert_num_queries(1):  # the plan's link rows for these people
            found = outbox.notification_status_for(plan=plan, version_number=1, user_ids=ids)
        assert set(found.values()) == {"link queued"} and len(found) == len(ids)


@pytest.mark.django_db
def test_temporary_refusal_retries_with_growing_delays_then_gives_up(org, sink, settings):
    settings.BCP_OUTBOX_MAX_ATTEMPTS = 3
    [user] = people(org, 1)
    sink.refuse[user.email] = "451 4.3.0 Try again later"
    queue(org, [user])
    delays = []
    for _ in range(2):
        before = timezone.now()
        report = outbox.outbox_deliver()
        row = Notification.objects.get()
        assert report.retried == 1 and row.status == Status.QUEUED
        delays.append(round((row.next_attempt_at_utc - before).total_seconds()))
        assert outbox.outbox_deliver().batches == 0  # not due yet
        make_due()
    assert delays == [30, 60]  # exponential backoff
    assert outbox.outbox_deliver().given_up == 1
    row = Notification.objects.get()
    assert (row.status, row.attempts) == (Status.GIVEN_UP, 3)
    assert outbox.notification_status_text(row.status, row.last_error) == "not delivered: mail server error"
    assert sink.count() == 0


@pytest.mark.django_db
def test_temporary_refusal_then_success(org, sink):
    users = people(org, 2)
    sink.refuse[users[0].email] = "451 4.3.0 Greylisted"
    queue(org, users)
    assert outbox.outbox_deliver().sent == 1
    del sink.refuse[users[0].email]
    make_due(Notification.objects.filter(status=Status.QUEUED))
    assert outbox.outbox_deliver().sent == 1
    assert sink.to(users[0].email) == ["Hello"] and sink.to(users[1].email) == ["Hello"]
    assert Notification.objects.get(to_address=users[0].email).attempts == 2


@pytest.mark.django_db
def test_server_down_keeps_everything_queued_for_later(org, settings):
    from bcp_site.pytest_plugin import _free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    queue(org, people(org, 3))
    report = outbox.outbox_deliver()
    assert report.sent == 0 and report.retried == 3
    rows = list(Notification.objects.all())
    assert {r.status for r in rows} == {Status.QUEUED} and all(r.next_attempt_at_utc > timezone.now() for r in rows)
    assert all("could not be sent" in r.last_error for r in rows)


# --- leases and the sweeper -------------------------------------------------------------------


@pytest.mark.django_db
def test_expired_lease_is_queued_again_by_the_sweeper(org, sink, settings):
    settings.BCP_OUTBOX_LEASE_SECONDS = 60
    queue(org, people(org, 3))
    token, claimed = outbox.notifications_claim(limit=2)  # a worker claims two rows, then dies
    assert len(claimed) == 2
    assert outbox.outbox_deliver().sent == 1  # another worker sends the third, and only that one
    assert outbox.outbox_sweep().expired == 0  # the lease still runs: nobody else takes them
    assert outbox.outbox_deliver().sent == 0
    later = timezone.now() + timedelta(seconds=61)
    report = outbox.outbox_sweep(now=later)
    assert report.expired == 2 and report.tasks >= 1
    assert outbox.outbox_sweep(now=later).expired == 0  # idempotent
    make_due()
    outbox.outbox_deliver()
    assert len(sink.received) == 3 and len(set(sink.received)) == 3
    assert set(statuses().values()) == {Status.SENT}


@pytest.mark.django_db
def test_a_slow_worker_keeps_its_lease_and_stops_when_it_lost_it(org, sink, settings, monkeypatch):
    settings.BCP_OUTBOX_LEASE_SECONDS = 0.003  # renewed before every message
    users = people(org, 5)
    queue(org, users)
    rendered = []

    def render_and_stall(notification):
        rendered.append(notification.to_address)
        if len(rendered) == 2:  # the worker stalls: a sweeper decides it died and takes its rows back
            outbox.outbox_sweep(now=timezone.now() + timedelta(seconds=1))
        return outbox_support.plain_render(notification)

    monkeypatch.setitem(outbox._renderers, Kind.OTHER, render_and_stall)
    first = outbox.outbox_deliver(max_batches=1)
    assert first.sent == 2  # the second message went out, but its row was no longer this worker's ...
    assert len(sink.received) == 2  # ... so the worker stopped there: the rest is someone else's now
    make_due()
    outbox.outbox_deliver()
    received = [r for r, _ in sink.received]
    assert sorted(set(received)) == sorted(u.email for u in users)
    assert len(received) == 6  # only the message in flight when the lease was lost went out twice
    assert set(statuses().values()) == {Status.SENT}


@pytest.mark.django_db
def test_sweeper_enqueues_delivery_for_rows_nobody_took(org, sink, monkeypatch):
    monkeypatch.setattr(outbox, "deliver_tasks_enqueue", lambda count=1, run_after=None: count)
    queue(org, people(org, 2))
    assert outbox.outbox_sweep().waiting == 0  # just queued: the tasks enqueued with them will come
    report = outbox.outbox_sweep(now=timezone.now() + timedelta(minutes=5))
    assert (report.waiting, report.tasks) == (2, 1)


@pytest.mark.django_db
def test_sweep_command_prints_one_line(org, sink):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("outbox_sweep", stdout=out)
    assert out.getvalue().strip() == (
        "Outbox: 0 expired lease(s) queued again, 0 waiting row(s), 0 delivery task(s) enqueued"
    )
    with pytest.raises(CommandError, match="--grace"):
        call_command("outbox_sweep", "--grace", "-1")


# --- sending again only on request -------------------------------------------------------------


@pytest.mark.django_db
def test_retry_on_request_sends_failed_mail_again_and_only_that(org, sink, bcp_admin):
    users = people(org, 3)
    sink.refuse[users[0].email] = "550 5.1.1 No such user"
    queue(org, users)
    outbox.outbox_deliver()
    sink.refuse.clear()
    count = outbox.notifications_retry(notifications=Notification.objects.all(), actor=bcp_admin)
    assert count == 1  # the sent ones are left alone
    assert Audit.objects.get(action="notifications_retried").details_json == {"count": 1}
    outbox.outbox_deliver()
    assert [len(sink.to(u.email)) for u in users] == [1, 1, 1]
    assert Notification.objects.get(to_address=users[0].email).status == Status.SENT


# --- a worker killed in the middle of a run -----------------------------------------------------


DELIVER = "from plans.outbox import outbox_deliver; print(json.dumps(outbox_deliver().as_dict()))"
SWEEP_AND_DELIVER = (
    "from plans.outbox import outbox_deliver, outbox_sweep; s = outbox_sweep(); r = outbox_deliver(); "
    "print(json.dumps({'expired': s.expired, **r.as_dict()}))"
)
COUNTS = (
    "from django.db.models import Count; from plans.models import Notification; "
    "print(json.dumps(dict(Notification.objects.values_list('status').annotate(n=Count('id')))))"
)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_worker_killed_mid_run_loses_nothing_and_resends_at_most_one(org, tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # no worker here
    users = people(org, 40, "crash")
    queue(org, users)
    sink = Sink(delay=0.02).start()
    try:
        workers = OtherProcesses(shared_database_url(tmp_path), email_port=sink.port,
                                 overrides={"BCP_MAIL_BATCH_SIZE": 10, "BCP_OUTBOX_LEASE_SECONDS": 1})
        worker = workers.start(DELIVER)
        deadline = time.monotonic() + 60
        while sink.count() < 7 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.005)
        worker.kill()  # SIGKILL: no clean-up of any kind
        worker.wait(10)
        delivered_before = sink.count()
        counts = workers.run(COUNTS)
        assert 7 <= delivered_before < 40, "the worker should die in the middle of the run"
        # Every message the server accepted is recorded, except at most the one in flight.
        assert 0 <= delivered_before - counts.get("sent", 0) <= 1
        assert counts.get("sending", 0) > 0  # the dead worker's claimed batch waits for its lease

        time.sleep(1.2)  # the lease expires
        report = workers.run(SWEEP_AND_DELIVER)
        assert report["expired"] > 0
        received = [r for r, _ in sink.received]
        assert sorted(set(received)) == sorted(u.email for u in users)  # nobody is missing
        assert len(received) - len(users) <= 1  # at most the in-flight message twice
        assert workers.run(COUNTS) == {"sent": 40}
    finally:
        sink.stop()
