"""Acknowledgement mail: links after approval, new links on request, and reminders.

Mail goes out in batches of `settings.BCP_MAIL_BATCH_SIZE` over one connection, with
retries; a failure is logged and counted, never raised to the caller.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.utils import timezone

from bcp_site.mail import render_email
from bcp_site.text import display_name
from plans.models import Plan
from plans.services import ServiceError, audit_record

from .ack_coverage import ack_coverage
from .ack_links import ack_link_url
from .ack_records import ACK_REFUSALS, LinkState, acknowledgeable
from .distribution import distribution_users
from .models import AckNotice

logger = logging.getLogger(__name__)

# Retries of one mail batch after a connection failure, and the pause before each retry
# (doubled every time). Module constants so tests can make the pause zero.
SEND_ATTEMPTS = 3
SEND_BACKOFF_SECONDS = 1.0
# "Send me a new link": at most this many per person per hour (counted in the database,
# so it holds across app processes) and per client IP per hour (counted in the cache).
RESEND_PER_USER_PER_HOUR = 3
RESEND_PER_IP_PER_HOUR = 10


class AckRateLimited(Exception):
    """Too many new links were asked for."""


# --- sending mail ------------------------------------------------------------------------


def _message(prefix: str, *, user, plan: Plan, version_number: int, approved_at, connection) -> EmailMultiAlternatives:
    link = ack_link_url(user=user, plan=plan, version_number=version_number)
    ctx = {
        "recipient_name": display_name(user),
        "plan_title": plan.title,
        "organisation": str(plan.org) if plan.org_id else "",
        "version_number": version_number,
        "approved_at": approved_at,
        "ack_url": link,
        "plan_url": settings.SITE_URL + plan.get_absolute_url(),
        "link_days": settings.BCP_ACK_LINK_DAYS,
        "expires_on": (timezone.now() + timedelta(days=settings.BCP_ACK_LINK_DAYS)).date(),
    }
    email = render_email(f"reviews/email/{prefix}", ctx)
    message = EmailMultiAlternatives(
        email.subject, email.text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection,
    )
    message.attach_alternative(email.html, "text/html")
    return message


class _Progress:
    """A batch handed to `send_messages` that counts how many messages the backend has taken.

    The SMTP backend sends in order and stops at the first error, so after a failure the
    messages before the one being sent were delivered: a retry resumes there instead of
    mailing those people twice.
    """

    def __init__(self, messages):
        self.messages = messages
        self.taken = 0

    def __len__(self):
        return len(self.messages)

    def __iter__(self):
        for message in self.messages:
            self.taken += 1
            yield message


def _reconnect(mail_connection) -> None:
    try:
        mail_connection.close()
    except Exception:  # a broken connection may fail to close; it is dropped either way
        logger.debug("Closing the mail connection failed", exc_info=True)
    try:
        mail_connection.open()
    except Exception:
        logger.warning("Reopening the mail connection failed; the next attempt tries again", exc_info=True)


def _send_batch(mail_connection, batch: list) -> tuple[list, list]:
    """Send one batch with `send_messages`; returns (delivered, failed) items of the batch.

    `batch` is a list of (message, key). A refused recipient fails that message only; any
    other error (connection lost, server down) is retried after a pause on a new connection,
    SEND_ATTEMPTS times, after which the rest of the batch counts as failed.
    """
    delivered, failed = [], []
    start, attempt = 0, 0
    while start < len(batch):
        progress = _Progress([message for message, _ in batch[start:]])
        try:
            mail_connection.send_messages(progress)
            delivered.extend(key for _, key in batch[start:])
            return delivered, failed
        except Exception as exc:
            done = max(progress.taken - 1, 0)
            delivered.extend(key for _, key in batch[start:start + done])
            start += done
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                logger.warning("Mail to %s refused: %s", batch[start][0].to, exc)
                failed.append(batch[start][1])
                start += 1
                continue
            attempt += 1
            if attempt >= SEND_ATTEMPTS:
                logger.error(
                    "Giving up on %d acknowledgement message(s) after %d attempts: %s",
                    len(batch) - start, attempt, exc,
                )
                failed.extend(key for _, key in batch[start:])
                return delivered, failed
            logger.warning("Sending mail failed (attempt %d of %d), retrying: %s", attempt, SEND_ATTEMPTS, exc)
            time.sleep(SEND_BACKOFF_SECONDS * 2 ** (attempt - 1))
            _reconnect(mail_connection)
    return delivered, failed


def _send_all(prefix: str, *, plan: Plan, version_number: int, users: list, on_batch) -> tuple[int, int]:
    """Mail `users` in batches of BCP_MAIL_BATCH_SIZE over one SMTP connection.

    `on_batch(delivered_users, failed_users)` runs after each batch (records the notices).
    Returns (sent, failed); never raises for a mail failure.
    """
    size = max(int(settings.BCP_MAIL_BATCH_SIZE), 1)
    sent = failed = 0
    mail_connection = get_connection()
    try:
        mail_connection.open()
    except Exception:
        logger.warning("Opening the mail connection failed; sending will retry", exc_info=True)
    try:
        for start in range(0, len(users), size):
            chunk = users[start:start + size]
            batch, bad = [], []
            for user in chunk:
                try:
                    batch.append((_message(prefix, user=user, plan=plan, version_number=version_number,
                                           approved_at=plan.approved_at_utc, connection=mail_connection), user))
                except Exception:
                    logger.exception("Preparing the %s mail for user %s failed", prefix, user.pk)
                    bad.append(user)
            delivered, refused = _send_batch(mail_connection, batch)
            refused += bad
            sent += len(delivered)
            failed += len(refused)
            try:
                on_batch(delivered, refused)
            except Exception:
                logger.exception("Recording %s mail for plan %s failed", prefix, plan.pk)
    finally:
        try:
            mail_connection.close()
        except Exception:
            logger.debug("Closing the mail connection failed", exc_info=True)
    return sent, failed


def _notices(users, *, plan: Plan, version_number: int, kind: str) -> list[AckNotice]:
    now = timezone.now()
    return AckNotice.objects.bulk_create(
        AckNotice(plan=plan, user=u, version_number=version_number, kind=kind, sent_at_utc=now, sent_on=now.date())
        for u in users
    )


def _links_job(plan_id: int, version_number: int) -> dict | None:
    plan = Plan.objects.select_related("org", "approved_version").filter(pk=plan_id).first()
    if plan is None or acknowledgeable(plan, version_number) is not None:
        logger.info("Not sending acknowledgement links for plan %s v%s: no longer its approved version",
                    plan_id, version_number)
        return None
    users = [u for u in distribution_users(plan) if u.email]

    def record(delivered, refused):
        _notices(delivered, plan=plan, version_number=version_number, kind=AckNotice.Kind.LINK)

    sent, failed = _send_all("ack_link", plan=plan, version_number=version_number, users=users, on_batch=record)
    result = {"version": version_number, "recipients": len(users), "sent": sent, "failed": failed}
    audit_record(plan=plan, actor=None, action="ack_links_sent", details=result)
    if failed:
        logger.error("Acknowledgement links for plan %s v%s: %d sent, %d failed", plan_id, version_number, sent, failed)
    return result


def _links_job_in_thread(plan_id: int, version_number: int) -> None:
    try:
        _links_job(plan_id, version_number)
    except Exception:
        logger.exception("Sending acknowledgement links for plan %s v%s failed", plan_id, version_number)
    finally:
        connection.close()  # this thread's own database connection


def ack_links_send_for_version(*, plan_id: int, version_number: int) -> threading.Thread | None:
    """Email a personal acknowledgement link to everyone on the plan's distribution.

    Called after the approval commits. Up to BCP_MAIL_BATCH_SIZE recipients are mailed at
    once; above that a (non-daemon) background thread does it, so the approval returns at
    once, and the thread is returned (callers may ignore it; tests join it). Never raises:
    failures are logged and counted in the `ack_links_sent` audit row.
    """
    try:
        plan = Plan.objects.only("pk", "org_id").filter(pk=plan_id).first()
        if plan is None:
            return None
        if distribution_users(plan).count() > settings.BCP_MAIL_BATCH_SIZE:
            thread = threading.Thread(
                target=_links_job_in_thread, args=(plan_id, version_number), daemon=False,
                name=f"ack-links-{plan_id}-v{version_number}",
            )
            thread.start()
            return thread
        _links_job(plan_id, version_number)
    except Exception:
        logger.exception("Sending acknowledgement links for plan %s v%s failed", plan_id, version_number)
    return None


# --- new links on request ----------------------------------------------------------------


def _claim_resend(*, plan: Plan, user, version_number: int) -> bool:
    """Record a resend notice unless the person had RESEND_PER_USER_PER_HOUR in the last hour.

    The user row is locked, so concurrent requests (any app process) are counted one by one.
    """
    User = get_user_model()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        since = timezone.now() - timedelta(hours=1)
        recent = AckNotice.objects.filter(user=user, kind=AckNotice.Kind.RESEND, sent_at_utc__gte=since).count()
        if recent >= RESEND_PER_USER_PER_HOUR:
            return False
        _notices([user], plan=plan, version_number=version_number, kind=AckNotice.Kind.RESEND)
    return True


def _send_one(prefix: str, *, plan: Plan, user, version_number: int) -> bool:
    sent, _ = _send_all(prefix, plan=plan, version_number=version_number, users=[user], on_batch=lambda d, f: None)
    return sent == 1


def ack_link_resend(*, plan: Plan, user) -> int:
    """Send the person a fresh link for the plan's current approved version, to their own address.

    Used from a superseded link (the token proved who they are). Raises AckRateLimited after
    RESEND_PER_USER_PER_HOUR in an hour, ServiceError when there is nothing to acknowledge.
    Returns the version number the new link is for.
    """
    plan = Plan.objects.select_related("org", "approved_version").get(pk=plan.pk)
    if acknowledgeable(plan) is not None:
        raise ServiceError(ACK_REFUSALS[LinkState.NOT_APPROVED], code=LinkState.NOT_APPROVED)
    if not user.is_active or not user.email:
        raise ServiceError("There is no active account with an email address to send the link to.", code="inactive")
    number = plan.approved_version.version_number
    if not _claim_resend(plan=plan, user=user, version_number=number):
        raise AckRateLimited()
    _send_one("ack_link", plan=plan, user=user, version_number=number)
    return number


def ack_link_request_by_email(*, plan_id: int, email: str) -> bool:
    """"Send me a new link" from an expired link: mail the address a fresh link for the plan's
    approved version, but only if it belongs to an active user on the plan's distribution.

    Returns whether a link was sent. The caller answers the same whatever the result, so the
    form cannot be used to find out who is on a list; for the same reason the per-person limit
    is silent here (a refusal would only happen for addresses that are on the list).
    """
    plan = Plan.objects.select_related("org", "approved_version").filter(pk=plan_id).first()
    if plan is None or acknowledgeable(plan) is not None:
        return False
    email = (email or "").strip()
    if not email:
        return False
    user = distribution_users(plan).filter(email__iexact=email).first()
    if user is None:
        return False
    number = plan.approved_version.version_number
    if not _claim_resend(plan=plan, user=user, version_number=number):
        logger.warning("New acknowledgement link for user %s refused: hourly limit reached", user.pk)
        return False
    return _send_one("ack_link", plan=plan, user=user, version_number=number)


# --- reminders ---------------------------------------------------------------------------


@dataclass
class ReminderSummary:
    sent: int = 0
    skipped: int = 0  # outstanding, but already reminded today
    failed: int = 0
    plans: int = 0

    def __str__(self) -> str:
        return (
            f"Reminders: {self.sent} sent, {self.skipped} skipped (already reminded today), "
            f"{self.failed} failed across {self.plans} plan{'' if self.plans == 1 else 's'}"
        )


def ack_reminders_send(*, days: int = 7, today: date | None = None) -> ReminderSummary:
    """Remind everyone still outstanding on plans approved at least `days` days ago.

    Only plans with an approved version that are not archived; only active users (the
    distribution). At most one reminder per person per plan per (UTC) day: the day's
    notices are claimed under a lock on the plan row before sending, so two runs on the
    same day never mail the same person twice; a failed send releases its claim.
    Audits `ack_reminders_sent` per plan that had someone to remind.
    """
    if days < 0:
        raise ValueError("days must be zero or more")
    today = today or timezone.now().date()
    cutoff = today - timedelta(days=days)
    summary = ReminderSummary()
    # Approved on or before the cutoff day (UTC), whatever the display time zone.
    approved_before = datetime.combine(cutoff + timedelta(days=1), dt_time.min, tzinfo=UTC)
    plans = (
        Plan.objects.select_related("org", "approved_version")
        .exclude(status=Plan.Status.ARCHIVED)
        .filter(approved_version__isnull=False, approved_at_utc__lt=approved_before)
        .defer("draft_content_json", "approved_version__content_json")
        .order_by("pk")
    )
    for plan in plans:
        if acknowledgeable(plan) is not None:  # the query above narrows; this is the rule
            continue
        summary.plans += 1
        number = plan.approved_version.version_number
        with transaction.atomic():
            Plan.objects.select_for_update().filter(pk=plan.pk).first()
            outstanding = [row.user for row in ack_coverage(plan).outstanding if row.user.email]
            reminded = set(
                AckNotice.objects.filter(
                    plan=plan, kind=AckNotice.Kind.REMINDER, sent_on=today
                ).values_list("user_id", flat=True)
            )
            due = [u for u in outstanding if u.pk not in reminded]
            summary.skipped += len(outstanding) - len(due)
            now = timezone.now()
            AckNotice.objects.bulk_create(
                AckNotice(plan=plan, user=u, version_number=number, kind=AckNotice.Kind.REMINDER,
                          sent_at_utc=now, sent_on=today)
                for u in due
            )
        if not due:
            continue
        refused_users: list = []
        sent, failed = _send_all(
            "ack_reminder", plan=plan, version_number=number, users=due,
            on_batch=lambda d, f, acc=refused_users: acc.extend(f),
        )
        if refused_users:
            # Release the claims of failed sends so a later run today may try again.
            AckNotice.objects.filter(
                plan=plan, kind=AckNotice.Kind.REMINDER, sent_on=today, sent_at_utc=now, user__in=refused_users,
            ).delete()
        summary.sent += sent
        summary.failed += failed
        audit_record(
            plan=plan, actor=None, action="ack_reminders_sent",
            details={"version": number, "count": sent, "failed": failed, "days": days},
        )
    return summary
