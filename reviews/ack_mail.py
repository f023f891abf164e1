"""Acknowledgement mail: links after approval, new links on request, and reminders.

Every message goes through the outbox (`plans.outbox`): these functions queue rows in the
caller's transaction and return; workers render and deliver them (`reviews.outbox_renderers`
renders them with `ack_mail_render`). Uniqueness keys in `bc_notification` keep the same link
to a person to once per version and reminders to one per person per plan per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bcp_site.mail import RenderedEmail, render_email
from bcp_site.text import display_name
from plans.models import Notification, Plan
from plans.outbox import dedupe_key, notification_queue
from plans.services import ServiceError, audit_record

from .ack_coverage import ack_coverage
from .ack_links import ack_link_url
from .ack_records import ACK_REFUSALS, LinkState, acknowledgeable
from .distribution import distribution_users

Kind = Notification.Kind

# "Send me a new link": at most this many per person per hour (counted in the database,
# so it holds across app processes) and per client IP per hour (counted in the cache).
RESEND_PER_USER_PER_HOUR = 3
RESEND_PER_IP_PER_HOUR = 10


class AckRateLimited(Exception):
    """Too many new links were asked for."""


# --- rendering (at delivery) -------------------------------------------------------------

TEMPLATES = {Kind.ACK_LINK: "ack_link", Kind.ACK_LINK_RESEND: "ack_link", Kind.ACK_REMINDER: "ack_reminder"}


def ack_mail_render(notification: Notification) -> RenderedEmail:
    """The link, new-link or reminder email of one outbox row, with a fresh personal link."""
    plan, user = notification.plan, notification.recipient_user
    version_number = notification.version_number
    ctx = {
        "recipient_name": display_name(user),
        "plan_title": plan.title,
        "organisation": str(plan.org) if plan.org_id else "",
        "version_number": version_number,
        "approved_at": plan.approved_at_utc,
        "ack_url": ack_link_url(user=user, plan=plan, version_number=version_number),
        "plan_url": settings.SITE_URL + plan.get_absolute_url(),
        "link_days": settings.BCP_ACK_LINK_DAYS,
        "expires_on": (timezone.now() + timedelta(days=settings.BCP_ACK_LINK_DAYS)).date(),
    }
    return render_email(f"reviews/email/{TEMPLATES[notification.kind]}", ctx)


# --- links after approval ----------------------------------------------------------------


def ack_links_queue(*, plan: Plan, version_number: int, actor=None) -> int:
    """Queue a personal acknowledgement link to everyone on the plan's distribution.

    Runs in the caller's transaction (the approval): nothing is rendered or sent here. A person
    who already has a link for this version is not queued again (the uniqueness key). Audits
    `ack_links_sent` with how many were queued. Returns that number.
    """
    users = distribution_users(plan)
    queued = notification_queue(
        kind=Kind.ACK_LINK, recipients=users, org=plan.org, plan=plan, version_number=version_number,
        dedupe=dedupe_key(Kind.ACK_LINK, plan.pk, version_number, "{user}"),
    )
    audit_record(plan=plan, actor=actor, action="ack_links_sent",
                 details={"version": version_number, "recipients": users.count(), "queued": queued})
    return queued


def ack_links_send_for_version(*, plan_id: int, version_number: int, actor=None) -> int:
    """Queue the version's links for everyone on the distribution who has none yet; returns how many.

    Safe to call again ("send links again"): people who were already sent this version's link
    are not mailed twice. Nothing is queued unless `version_number` is the plan's approved one.
    """
    with transaction.atomic():
        plan = Plan.objects.select_related("org", "approved_version").filter(pk=plan_id).first()
        if plan is None or acknowledgeable(plan, version_number) is not None:
            return 0
        return ack_links_queue(plan=plan, version_number=version_number, actor=actor)


# --- new links on request ----------------------------------------------------------------


def _queue_resend(*, plan: Plan, user, version_number: int) -> bool:
    """Queue a new link unless the person had RESEND_PER_USER_PER_HOUR in the last hour.

    The user row is locked, so concurrent requests (any app process) are counted one by one.
    """
    User = get_user_model()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        since = timezone.now() - timedelta(hours=1)
        recent = Notification.objects.filter(
            recipient_user=user, kind=Kind.ACK_LINK_RESEND, created_at_utc__gte=since
        ).count()
        if recent >= RESEND_PER_USER_PER_HOUR:
            return False
        notification_queue(kind=Kind.ACK_LINK_RESEND, recipients=[user], org=plan.org, plan=plan,
                           version_number=version_number)
    return True


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
    if not _queue_resend(plan=plan, user=user, version_number=number):
        raise AckRateLimited()
    return number


def ack_link_request_by_email(*, plan_id: int, email: str) -> bool:
    """"Send me a new link" from an expired link: mail the address a fresh link for the plan's
    approved version, but only if it belongs to an active user on the plan's distribution.

    Returns whether a link was queued. The caller answers the same whatever the result, so the
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
    return _queue_resend(plan=plan, user=user, version_number=number)


# --- reminders ---------------------------------------------------------------------------


@dataclass
class ReminderSummary:
    queued: int = 0
    skipped: int = 0  # outstanding, but already reminded today
    plans: int = 0

    def __str__(self) -> str:
        return (
            f"Reminders: {self.queued} queued, {self.skipped} skipped (already reminded today) "
            f"across {self.plans} plan{'' if self.plans == 1 else 's'}"
        )


def ack_reminders_send(*, days: int = 7, today: date | None = None) -> ReminderSummary:
    """Remind everyone still outstanding on plans approved at least `days` days ago.

    Only plans with an approved version that are not archived; only active users (the
    distribution). At most one reminder per person per plan per (UTC) day: the outbox's
    uniqueness key refuses a second one, so running twice a day mails nobody twice. Audits
    `ack_reminders_sent` per plan that had someone to remind.
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
        outstanding = [row.user for row in ack_coverage(plan).outstanding if row.user.email]
        queued = _remind(plan, people=outstanding, actor=None, today=today, details={"days": days})
        summary.queued += queued
        summary.skipped += len(outstanding) - queued
    return summary


def _remind(plan: Plan, *, people: list, actor, today: date, details: dict) -> int:
    """Queue reminders of the approved version for `people`; one per person per plan per day (the outbox's key)."""
    if not people:
        return 0
    number = plan.approved_version.version_number
    with transaction.atomic():
        queued = notification_queue(
            kind=Kind.ACK_REMINDER, recipients=people, org=plan.org, plan=plan, version_number=number,
            dedupe=dedupe_key(Kind.ACK_REMINDER, plan.pk, "{user}", today.isoformat()),
        )
        if queued:
            audit_record(plan=plan, actor=actor, action="ack_reminders_sent",
                         details={"version": number, "count": queued, **details})
    return queued


def ack_reminders_send_for_plan(*, plan: Plan, actor, user=None) -> tuple[int, int]:
    """Remind everyone outstanding on `plan` (or only `user`) now, from the coverage page: (queued, skipped).

    The plan's owner, reviewers (approve permission) and BCP Admins may; a person already
    reminded today is skipped (the outbox's one-reminder-a-day key), and so is anyone who has
    acknowledged. Refused with a ServiceError when the plan has nothing to acknowledge.
    """
    if not (actor.pk == plan.owner_user_id or actor.has_perm("plans.approve_plan")
            or actor.has_perm("plans.restore_plan")):
        raise ServiceError("Only the plan's owner, reviewers and BCP Admins can send reminders.", code="forbidden")
    refusal = acknowledgeable(plan)
    if refusal is not None:
        raise ServiceError(ACK_REFUSALS.get(refusal, "This plan has no approved version to acknowledge."),
                           code="nothing_to_acknowledge")
    outstanding = [row.user for row in ack_coverage(plan).outstanding if row.user.email]
    if user is not None:
        outstanding = [person for person in outstanding if person.pk == user.pk]
        if not outstanding:
            raise ServiceError(f"{display_name(user)} has nothing outstanding on this plan.", code="not_outstanding")
    queued = _remind(plan, people=outstanding, actor=actor, today=timezone.now().date(),
                     details={"from": "coverage page", **({"person": user.get_username()} if user else {})})
    return queued, len(outstanding) - queued
