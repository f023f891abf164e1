"""The outbox: every email the product sends goes through `bc_notification` (decision 3).

A sender calls `notification_queue` inside its own transaction: the rows are written with the
change that causes them (an approval and its acknowledgement links commit together, or neither
does), nothing is rendered, and delivery tasks are enqueued after the commit.

Delivery (`outbox_deliver`, run by `outbox_deliver_task` on a worker) claims due rows with a
lease, opens one SMTP connection per batch, renders each message through the renderer
registered for its kind, and marks each row sent in its own small commit as soon as the server
accepts it. A worker killed at any moment loses nothing: its claimed rows stay `sending` until
the lease expires and `outbox_sweep` (the `outbox_sweep` command, run by cron) queues them
again; only the one message in flight when it died can go out twice. Temporary failures (4xx,
a lost connection) retry with exponential backoff; a permanent refusal (5xx) is `failed`;
after `BCP_OUTBOX_MAX_ATTEMPTS` tries a row is `given_up`. Failed rows are sent again only on
request (`notifications_retry`, the admin's retry action).

`plans` cannot import the apps above it, so they register how their kinds are rendered with
`register_renderer` in a module named `outbox_renderers` (found like admin modules are).

Settings (all optional): BCP_MAIL_BATCH_SIZE (rows per claim, sent over one connection),
BCP_OUTBOX_LEASE_SECONDS, BCP_OUTBOX_MAX_ATTEMPTS, BCP_OUTBOX_BACKOFF_SECONDS (first retry
delay, doubled each time), BCP_OUTBOX_BACKOFF_MAX_SECONDS, BCP_OUTBOX_ROWS_PER_TASK and
BCP_OUTBOX_MAX_TASKS (delivery tasks enqueued for one queued batch), BCP_OUTBOX_SWEEP_GRACE_SECONDS.
"""

from __future__ import annotations

import logging
import math
import smtplib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import CharField, Count, F, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_tasks import task

from bcp_site.mail import RenderedEmail

from .models import Notification, Organisation, Plan

logger = logging.getLogger(__name__)

Status = Notification.Status
Kind = Notification.Kind

Renderer = Callable[[Notification], RenderedEmail]
_renderers: dict[str, Renderer] = {}
_discovered = False


def _setting(name: str, default):
    return getattr(settings, name, default)


def batch_size() -> int:
    return max(int(_setting("BCP_MAIL_BATCH_SIZE", 100)), 1)


def lease_seconds() -> float:
    return float(_setting("BCP_OUTBOX_LEASE_SECONDS", 600))


def max_attempts() -> int:
    return max(int(_setting("BCP_OUTBOX_MAX_ATTEMPTS", 8)), 1)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: base, 2 x base, 4 x base, ... up to the cap."""
    base = float(_setting("BCP_OUTBOX_BACKOFF_SECONDS", 30))
    cap = float(_setting("BCP_OUTBOX_BACKOFF_MAX_SECONDS", 3600))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


# --- renderers -------------------------------------------------------------------------------


def register_renderer(kind: str, renderer: Renderer) -> None:
    """Render notifications of `kind` with `renderer(notification) -> RenderedEmail`.

    The notification comes with `recipient_user` and `plan` (with `org` and `approved_version`,
    wide JSON columns deferred) loaded; `context_json` holds what the sender stored.
    """
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    _renderers[kind] = renderer


def renderer_for(kind: str) -> Renderer | None:
    global _discovered
    if kind not in _renderers and not _discovered:
        _discovered = True
        autodiscover_modules("outbox_renderers")
    return _renderers.get(kind)


# --- queueing --------------------------------------------------------------------------------


def dedupe_key(*parts) -> str:
    """A uniqueness key from its parts; "{user}" stands for each recipient's id.

    dedupe_key("ack_link", 7, 3, "{user}") -> 'ack_link:7:3:{user}' (person 12: 'ack_link:7:3:12').
    """
    return ":".join(str(p) for p in parts)


def notification_queue(
    *,
    kind: str,
    recipients: Iterable | QuerySet,
    org: Organisation | None,
    plan: Plan | None = None,
    version_number: int | None = None,
    dedupe: str | None = None,
    context: dict | None = None,
) -> int:
    """Queue one email of `kind` to each of `recipients` (users); returns how many rows were added.

    Runs in the caller's transaction; delivery tasks are enqueued after its commit. People
    without an email address are skipped. `dedupe` is a uniqueness key template ("{user}" is
    each recipient's id, see `dedupe_key`): a row whose key exists already is not added (the
    same link is never queued twice). `context` is stored for the renderer: keep it small.
    Nothing is rendered here.

    `recipients` as a QuerySet of users is copied by the database in one INSERT ... SELECT
    (10,000 people in a fraction of a second); a list is inserted in batches of 1,000.
    """
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    now = timezone.now()
    values = {
        "kind": kind, "org_id": org.pk if org is not None else None, "plan_id": plan.pk if plan is not None else None,
        "version_number": version_number, "status": Status.QUEUED, "attempts": 0, "last_error": "",
        "next_attempt_at_utc": now, "claimed_at_utc": None, "claim_token": None, "sent_at_utc": None,
        "message_id": "", "created_at_utc": now, "context_json": context or {},
    }
    if isinstance(recipients, QuerySet):
        added = _insert_select(recipients, values, dedupe)
    else:
        rows = [
            Notification(recipient_user_id=user.pk, to_address=user.email,
                         dedupe_key=dedupe.format(user=user.pk) if dedupe is not None else None, **values)
            for user in recipients if user.email
        ]
        # MariaDB's INSERT IGNORE would also hide other errors (a check constraint, a truncated
        # value), so conflicts are ignored only where a uniqueness key is meant to refuse rows.
        Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=dedupe is not None)
        if dedupe is None or not rows:
            added = len(rows)
        else:
            added = Notification.objects.filter(kind=kind, plan=plan, created_at_utc=now).count()
    if added:
        tasks = tasks_needed(added)
        transaction.on_commit(lambda: deliver_tasks_enqueue(count=tasks))
    return added


def _insert_select(users: QuerySet, values: dict, dedupe: str | None) -> int:
    """INSERT INTO bc_notification (...) SELECT ... FROM the users query; returns the rows added."""
    fields = {f.attname: f for f in Notification._meta.concrete_fields if not f.primary_key}
    columns = {
        "recipient_user_id": F("pk"),
        "to_address": F("email"),
        **{name: Value(value, output_field=fields[name]) for name, value in values.items()},
        "dedupe_key": _key_expression(dedupe),
    }
    select = users.exclude(email="").order_by().annotate(
        **{f"n_{name}": expression for name, expression in columns.items()}
    ).values_list(*(f"n_{name}" for name in columns))
    compiler = select.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    # The INSERT names the columns in the order the SELECT produces them (whatever order Django chose).
    produced = [alias.removeprefix("n_") for _expression, _sql, alias in compiler.select]
    if sorted(produced) != sorted(columns):
        raise RuntimeError(f"Unexpected SELECT columns for the outbox insert: {produced}")
    table = connection.ops.quote_name(Notification._meta.db_table)
    target = ", ".join(connection.ops.quote_name(fields[name].column) for name in produced)
    if dedupe is None:
        statement = f"INSERT INTO {table} ({target}) {sql}"
    elif connection.vendor == "mysql":
        statement = f"INSERT IGNORE INTO {table} ({target}) {sql}"
    elif connection.vendor == "sqlite":
        statement = f"INSERT OR IGNORE INTO {table} ({target}) {sql}"
    else:
        statement = f"INSERT INTO {table} ({target}) {sql} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _key_expression(dedupe: str | None):
    if dedupe is None:
        return Value(None, output_field=CharField())
    before, marker, after = dedupe.partition("{user}")
    if not marker:
        return Value(dedupe, output_field=CharField())
    return Concat(Value(before), Cast("pk", CharField()), Value(after), output_field=CharField())


def tasks_needed(rows: int) -> int:
    """Delivery tasks for `rows` queued rows: one per BCP_OUTBOX_ROWS_PER_TASK, at most BCP_OUTBOX_MAX_TASKS.

    Each task delivers until nothing is due, so a few tasks keep every worker busy.
    """
    per_task = max(int(_setting("BCP_OUTBOX_ROWS_PER_TASK", 500)), 1)
    return max(1, min(math.ceil(rows / per_task), max(int(_setting("BCP_OUTBOX_MAX_TASKS", 4)), 1)))


def deliver_tasks_enqueue(*, count: int = 1, run_after: datetime | None = None) -> int:
    """Enqueue `count` delivery tasks (after `run_after`, where the backend can defer); never raises.

    A task that cannot be enqueued (the queue is down) loses nothing: the rows stay queued and
    the sweeper enqueues again. Returns how many were enqueued.
    """
    done = 0
    try:
        deliver = outbox_deliver_task
        if run_after is not None:
            if not deliver.get_backend().supports_defer:
                return 0  # the sweeper (or the next queued mail) picks the rows up
            deliver = deliver.using(run_after=run_after)
        for _ in range(count):
            deliver.enqueue()
            done += 1
    except Exception:
        logger.exception("Enqueueing outbox delivery failed; the rows stay queued for the sweeper")
    return done


# --- delivery --------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0  # temporary failure: queued again with a delay
    failed: int = 0  # refused for good
    given_up: int = 0
    released: int = 0  # claimed, not tried (the connection was lost first): queued again
    batches: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class _ConnectionLost(Exception):
    """The SMTP connection failed: stop this batch and retry later."""


def notifications_claim(*, limit: int) -> tuple[str, list[Notification]]:
    """Claim up to `limit` due queued rows (oldest first) for this worker; returns (token, rows).

    On MariaDB the due rows are locked with SKIP LOCKED, so workers claim disjoint batches at
    once; on SQLite (one writer) the update re-checks the status, so a row is claimed once.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        due = Notification.objects.filter(status=Status.QUEUED, next_attempt_at_utc__lte=now).order_by(
            "next_attempt_at_utc", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        Notification.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING, claim_token=token, claimed_at_utc=now
        )
    # By primary key: claim_token has no index (it is only ever read with the row's id).
    rows = list(
        Notification.objects.filter(pk__in=ids, claim_token=token).select_related("recipient_user").order_by("id")
    )
    _attach_plans(rows)
    return token, rows


def _attach_plans(rows: list[Notification]) -> None:
    """Load the rows' plans in one query (wide JSON columns deferred)."""
    ids = {row.plan_id for row in rows if row.plan_id is not None}
    if not ids:
        return
    plans = (
        Plan.objects.select_related("org", "approved_version")
        .defer("draft_content_json", "approved_version__content_json")
        .in_bulk(ids)
    )
    for row in rows:
        if row.plan_id is not None:
            row.plan = plans[row.plan_id]


def _message(row: Notification, mail_connection) -> EmailMultiAlternatives:
    renderer = renderer_for(row.kind)
    if renderer is None:
        raise LookupError(f"No renderer registered for {row.kind} notifications")
    email = renderer(row)
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    message = EmailMultiAlternatives(
        email.subject, email.text, settings.DEFAULT_FROM_EMAIL, [row.to_address], connection=mail_connection,
        headers={"Message-ID": make_msgid(idstring=f"n{row.pk}", domain=domain)},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    return message


# What a person is told about an SMTP reply code (the coverage page shows it).
SMTP_REASONS = {
    421: "mail server unavailable", 450: "mailbox busy", 451: "mail server error", 452: "mail server full",
    550: "mailbox unavailable", 551: "user not local", 552: "mailbox full", 553: "mailbox name not allowed",
    554: "refused by the mail server",
}


def _describe(code: int | None, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    reason = SMTP_REASONS.get(code or 0, "refused by the mail server" if code else "could not be sent")
    detail = f"{code} {text}".strip() if code else str(text)
    return f"{reason} — {detail}"[:2000]


def _refusal_code(exc: Exception) -> int | None:
    """The SMTP reply code of a refusal, or None when the connection itself failed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return max(codes) if codes else None
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
        return exc.smtp_code
    return None


def _mark_sent(row: Notification, token: str, message_id: str) -> bool:
    """Record the accepted message (its own commit); False when the row is no longer this worker's."""
    updated = Notification.objects.filter(pk=row.pk, claim_token=token).update(
        status=Status.SENT, sent_at_utc=timezone.now(), message_id=message_id[:255], attempts=F("attempts") + 1,
        claim_token=None, last_error="",
    )
    if not updated:  # the lease expired and the sweeper queued it again: it may go out twice
        logger.warning("Notification %s was sent after its lease expired", row.pk)
    return bool(updated)


def _mark_failed(row: Notification, token: str, error: str, report: DeliveryReport) -> None:
    Notification.objects.filter(pk=row.pk, claim_token=token).update(
        status=Status.FAILED, attempts=F("attempts") + 1, last_error=error, claim_token=None,
    )
    report.failed += 1


def _mark_retry(row: Notification, token: str, error: str, report: DeliveryReport, now: datetime) -> datetime | None:
    """A temporary failure: queue the row again after the backoff, or give up. Returns the retry time."""
    attempts = row.attempts + 1
    if attempts >= max_attempts():
        Notification.objects.filter(pk=row.pk, claim_token=token).update(
            status=Status.GIVEN_UP, attempts=attempts, last_error=error, claim_token=None,
        )
        report.given_up += 1
        return None
    retry_at = now + backoff(attempts)
    Notification.objects.filter(pk=row.pk, claim_token=token).update(
        status=Status.QUEUED, attempts=attempts, last_error=error, claim_token=None, next_attempt_at_utc=retry_at,
    )
    report.retried += 1
    return retry_at


def _release(rows: list[Notification], token: str, retry_at: datetime, report: DeliveryReport) -> None:
    """Queue claimed rows that were not tried again (no attempt counted)."""
    if rows:
        report.released += Notification.objects.filter(pk__in=[r.pk for r in rows], claim_token=token).update(
            status=Status.QUEUED, claim_token=None, next_attempt_at_utc=retry_at,
        )


def _renew_lease(token: str, rows: list[Notification]) -> bool:
    """Move the claim time of the batch's unsent rows to now; False when the lease was lost (swept)."""
    return bool(Notification.objects.filter(pk__in=[r.pk for r in rows], claim_token=token).update(
        claimed_at_utc=timezone.now()
    ))


def _deliver_batch(token: str, rows: list[Notification], report: DeliveryReport) -> datetime | None:
    """Send the claimed rows over one connection; returns the earliest retry time, if any.

    Raises _ConnectionLost when the server cannot be reached (the rest of the batch is queued again).
    """
    retry_at: datetime | None = None
    mail_connection = get_connection()
    try:
        mail_connection.open()
    except Exception as exc:
        logger.warning("Opening the mail connection failed: %s", exc)
        now = timezone.now()
        times = [_mark_retry(row, token, _describe(None, exc), report, now) for row in rows]
        raise _ConnectionLost(min((t for t in times if t), default=None)) from exc
    renewed = time.monotonic()
    try:
        for index, row in enumerate(rows):
            if time.monotonic() - renewed > lease_seconds() / 3:
                if not _renew_lease(token, rows[index:]):
                    logger.warning("Outbox lease %s lost; leaving the rest of the batch to the sweeper", token)
                    return retry_at
                renewed = time.monotonic()
            try:
                message = _message(row, mail_connection)
            except Exception as exc:
                logger.exception("Rendering notification %s (%s) failed", row.pk, row.kind)
                _mark_failed(row, token, f"could not be prepared — {exc}"[:2000], report)
                continue
            try:
                accepted = mail_connection.send_messages([message])
            except Exception as exc:
                now = timezone.now()
                code = _refusal_code(exc)
                error = _describe(code, getattr(exc, "smtp_error", None) or exc)
                if code is not None and code >= 500:
                    logger.warning("Mail to %s refused for good: %s", row.to_address, error)
                    _mark_failed(row, token, error, report)
                    continue
                when = _mark_retry(row, token, error, report, now)
                if code is not None:  # 4xx: this message later; the connection still works
                    retry_at = min(filter(None, (retry_at, when)), default=None)
                    continue
                logger.warning("Mail connection lost after %d message(s): %s", index, exc)
                rest_at = when or now + backoff(1)
                _release(rows[index + 1:], token, rest_at, report)
                raise _ConnectionLost(min(filter(None, (retry_at, rest_at)))) from exc
            if not accepted:
                when = _mark_retry(row, token, "could not be sent — the mail backend took no message",
                                   report, timezone.now())
                retry_at = min(filter(None, (retry_at, when)), default=None)
                continue
            report.sent += 1
            if not _mark_sent(row, token, message.extra_headers["Message-ID"]):
                logger.warning("Outbox lease %s lost; leaving the rest of the batch to the sweeper", token)
                return retry_at
    finally:
        try:
            mail_connection.close()
        except Exception:  # a broken connection may fail to close; it is dropped either way
            logger.debug("Closing the mail connection failed", exc_info=True)
    return retry_at


def outbox_deliver(*, max_batches: int | None = None) -> DeliveryReport:
    """Deliver due notifications, batch after batch, until none is due (or `max_batches` were sent).

    What a delivery task runs. If some rows must be tried again later, one task is enqueued to
    run then (where the task backend can defer).
    """
    report = DeliveryReport()
    retry_at: datetime | None = None
    while max_batches is None or report.batches < max_batches:
        token, rows = notifications_claim(limit=batch_size())
        if not rows:
            break
        report.batches += 1
        try:
            when = _deliver_batch(token, rows, report)
        except _ConnectionLost as lost:
            when = lost.args[0] if lost.args else None
            retry_at = min(filter(None, (retry_at, when)), default=None)
            break
        retry_at = min(filter(None, (retry_at, when)), default=None)
    if retry_at is not None:
        deliver_tasks_enqueue(run_after=retry_at)
    return report


@task()
def outbox_deliver_task() -> dict:
    """Deliver due notifications until none is due (the delivery tasks' one job)."""
    return outbox_deliver().as_dict()


# --- the sweeper -----------------------------------------------------------------------------


@dataclass
class SweepReport:
    expired: int  # rows whose lease had expired (their worker died): queued again
    waiting: int  # queued rows due for longer than the grace period (no task took them)
    tasks: int  # delivery tasks enqueued

    def __str__(self) -> str:
        return (
            f"Outbox: {self.expired} expired lease(s) queued again, {self.waiting} waiting row(s), "
            f"{self.tasks} delivery task(s) enqueued"
        )


def outbox_sweep(*, now: datetime | None = None, grace_seconds: float | None = None) -> SweepReport:
    """Queue again the rows whose lease expired, and enqueue delivery for rows nobody is delivering.

    Idempotent: run it as often as you like (cron, every few minutes). A row is stuck when it
    has been due for longer than the grace period (BCP_OUTBOX_SWEEP_GRACE_SECONDS, default 60 s):
    a working queue claims rows within seconds. An extra task finds nothing and ends.
    """
    now = now or timezone.now()
    grace = float(_setting("BCP_OUTBOX_SWEEP_GRACE_SECONDS", 60) if grace_seconds is None else grace_seconds)
    expired = Notification.objects.filter(
        status=Status.SENDING, claimed_at_utc__lt=now - timedelta(seconds=lease_seconds())
    ).update(status=Status.QUEUED, claim_token=None, next_attempt_at_utc=now)
    waiting = Notification.objects.filter(
        status=Status.QUEUED, next_attempt_at_utc__lte=now - timedelta(seconds=grace)
    ).count()
    tasks = 0
    if expired or waiting:
        tasks = deliver_tasks_enqueue(count=tasks_needed(expired + waiting))
    if expired:
        logger.warning("Outbox sweep: %d notification(s) with an expired lease queued again", expired)
    return SweepReport(expired=expired, waiting=waiting, tasks=tasks)


# --- sending again on request ----------------------------------------------------------------


def notifications_retry(*, notifications: QuerySet, actor) -> int:
    """Queue failed and given-up notifications again with fresh attempts; returns how many.

    Only on request (the admin's retry action): the outbox never resends a refused mail by
    itself. Audits `notifications_retried` per organisation.
    """
    from .services import audit_record  # services imports much of plans; outbox stays light to import

    now = timezone.now()
    with transaction.atomic():
        chosen = notifications.filter(status__in=[Status.FAILED, Status.GIVEN_UP])
        per_org = list(chosen.values("org_id").annotate(n=Count("id")).order_by("org_id"))
        count = Notification.objects.filter(pk__in=list(chosen.values_list("pk", flat=True))).update(
            status=Status.QUEUED, attempts=0, next_attempt_at_utc=now, claim_token=None, claimed_at_utc=None,
        )
        orgs = Organisation.objects.in_bulk([entry["org_id"] for entry in per_org if entry["org_id"]])
        for entry in per_org:
            audit_record(org=orgs.get(entry["org_id"]), actor=actor, action="notifications_retried",
                         details={"count": entry["n"]})
        if count:
            tasks = tasks_needed(count)
            transaction.on_commit(lambda: deliver_tasks_enqueue(count=tasks))
    return count


# --- reads -----------------------------------------------------------------------------------

LINK_KINDS = (Kind.ACK_LINK, Kind.ACK_LINK_RESEND)
_PREFERENCE = {Status.SENT: 4, Status.SENDING: 3, Status.QUEUED: 2, Status.FAILED: 1, Status.GIVEN_UP: 0}


def notification_status_text(status: str, last_error: str = "", *, what: str = "link") -> str:
    """How a row's state reads: 'link sent', 'failed: mailbox unavailable', 'not delivered: ...'."""
    reason = (last_error or "").split(" — ", 1)[0]
    if status == Status.SENT:
        return f"{what} sent"
    if status in (Status.QUEUED, Status.SENDING):
        return f"{what} queued" if not last_error else f"{what} queued (retrying: {reason})"
    if status == Status.FAILED:
        return f"failed: {reason or 'refused'}"
    return f"not delivered: {reason or 'gave up'}"


def notification_status_for(*, plan: Plan, version_number: int, user_ids: Iterable[int] | None = None) -> dict:
    """{user_id: status text} of the acknowledgement links for one version (one query).

    A person with a delivered link reads 'link sent' even if a later request failed; otherwise
    their newest link's state. People who were never sent a link are not in the dict.
    `user_ids` None means everyone who was sent one.
    """
    wanted = None if user_ids is None else set(user_ids)
    rows = Notification.objects.filter(plan=plan, version_number=version_number, kind__in=LINK_KINDS)
    if wanted is not None and len(wanted) <= 500:
        rows = rows.filter(recipient_user_id__in=wanted)
    best: dict[int, tuple] = {}
    for user_id, status, last_error, pk in rows.values_list("recipient_user_id", "status", "last_error", "pk"):
        if wanted is not None and user_id not in wanted:
            continue
        rank = (_PREFERENCE.get(status, 0) == 4, pk)  # sent wins, else the newest
        if user_id not in best or rank > best[user_id][0]:
            best[user_id] = (rank, status, last_error)
    return {user_id: notification_status_text(status, error) for user_id, (_, status, error) in best.items()}
