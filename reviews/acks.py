"""Acknowledgements: distribution, signed links, recording, coverage and reminders.

Who must acknowledge a plan is its *distribution*: every active member of the plan's
organisation, unless the plan has `PlanDistribution` rows (users and/or groups).
An acknowledgement is bound to one version: acknowledging v3 says nothing about v4.

Email links are signed tokens (`ack_token_make`) bound to one person, one plan and one
version; they expire after `settings.BCP_ACK_LINK_DAYS` days. Opening a link never
records anything (mail scanners open links); the person confirms with a POST.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from bcp_site.mail import render_email
from bcp_site.text import display_name
from plans.models import Membership, Plan, PlanVersion
from plans.services import ServiceError, audit_record
from templates_app.schema import template_sections
from templates_app.values import display_value, format_minutes

from .models import Ack, AckNotice, PlanDistribution

logger = logging.getLogger(__name__)

SALT = "bcp.ack"
# Retries of one mail batch after a connection failure, and the pause before each retry
# (doubled every time). Module constants so tests can make the pause zero.
SEND_ATTEMPTS = 3
SEND_BACKOFF_SECONDS = 1.0
# "Send me a new link": at most this many per person per hour (counted in the database,
# so it holds across app processes) and per client IP per hour (counted in the cache).
RESEND_PER_USER_PER_HOUR = 3
RESEND_PER_IP_PER_HOUR = 10
# How many key contacts and processes the acknowledgement page shows.
SUMMARY_CONTACTS = 5
SUMMARY_PROCESSES = 10


# --- distribution ------------------------------------------------------------------------


def distribution_users(plan: Plan) -> QuerySet:
    """Active users who must acknowledge the plan, by name (one query when evaluated).

    No distribution rows: every active member of the plan's organisation. Otherwise the
    listed users plus the active members who are in a listed group — always limited to
    the plan's organisation.
    """
    User = get_user_model()
    rows = PlanDistribution.objects.filter(plan_id=plan.pk)
    return (
        User.objects.filter(is_active=True, membership__organisation_id=plan.org_id)
        .filter(
            ~Exists(rows)
            | Exists(rows.filter(user_id=OuterRef("pk")))
            | Exists(rows.filter(group__user=OuterRef("pk")))
        )
        .order_by("last_name", "first_name", "username")
    )


def distribution_groups() -> QuerySet:
    """The groups a distribution may name: the BCP permission groups."""
    return Group.objects.filter(name__startswith="BCP ").order_by("name")


def distribution_set(*, plan: Plan, actor, users, groups) -> list[PlanDistribution]:
    """Replace the plan's distribution. No users and no groups = everyone in the organisation.

    Users must be members of the plan's organisation. Audits `distribution_changed`.
    """
    users = list({u.pk: u for u in users}.values())
    groups = list({g.pk: g for g in groups}.values())
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if not Membership.objects.filter(user_id=getattr(actor, "pk", None), organisation_id=locked.org_id).exists():
            raise ServiceError("Only members of the plan's organisation change its distribution.",
                               code="other_organisation")
        if any(not g.name.startswith("BCP ") for g in groups):
            raise ServiceError("A distribution names people or the BCP groups only.", code="invalid_group")
        members = set(
            Membership.objects.filter(user__in=users, organisation_id=locked.org_id).values_list("user_id", flat=True)
        )
        outsiders = [u for u in users if u.pk not in members]
        if outsiders:
            raise ServiceError(
                f"{_name(outsiders[0])} is not a member of this plan's organisation.", code="other_organisation"
            )
        PlanDistribution.objects.filter(plan=locked).delete()
        rows = PlanDistribution.objects.bulk_create(
            [PlanDistribution(plan=locked, user=u) for u in users]
            + [PlanDistribution(plan=locked, group=g) for g in groups]
        )
        audit_record(
            plan=locked, actor=actor, action="distribution_changed",
            details={
                "everyone": not rows,
                "users": sorted(u.get_username() for u in users),
                "groups": sorted(g.name for g in groups),
            },
        )
    return rows


def distribution_add(*, plan: Plan, actor, user=None, group=None) -> None:
    """Add one person or one group to the plan's distribution (`distribution_set` does the checks)."""
    rows = list(PlanDistribution.objects.filter(plan=plan).select_related("user", "group"))
    users = [r.user for r in rows if r.user_id] + ([user] if user is not None else [])
    groups = [r.group for r in rows if r.group_id] + ([group] if group is not None else [])
    distribution_set(plan=plan, actor=actor, users=users, groups=groups)


def distribution_remove(*, row: PlanDistribution, actor) -> None:
    """Remove one row of the plan's distribution (no rows left = everyone in the organisation)."""
    rows = [r for r in PlanDistribution.objects.filter(plan_id=row.plan_id).select_related("user", "group")
            if r.pk != row.pk]
    distribution_set(plan=row.plan, actor=actor, users=[r.user for r in rows if r.user_id],
                     groups=[r.group for r in rows if r.group_id])


# --- signed links ------------------------------------------------------------------------


@dataclass(frozen=True)
class AckClaim:
    """What a valid link says: this person may acknowledge this version of this plan."""

    user_id: int
    plan_id: int
    version_number: int


class AckLinkInvalid(Exception):
    """The link was not made by us, was altered, or names something that does not exist."""


class AckLinkExpired(Exception):
    """The link was genuine but is older than BCP_ACK_LINK_DAYS; `claim` says whose it was."""

    def __init__(self, claim: AckClaim):
        super().__init__("This acknowledgement link has expired.")
        self.claim = claim


class AckRateLimited(Exception):
    """Too many new links were asked for."""


def _signer() -> signing.TimestampSigner:
    # "." is not in the signature alphabet, so the token is URL-safe without a colon.
    return signing.TimestampSigner(salt=SALT, sep=".")


def ack_token_make(*, user, plan, version_number: int) -> str:
    """A signed, timestamped token naming the person, the plan and the version (about 60 characters)."""
    payload = "-".join(signing.b62_encode(n) for n in (user.pk, plan.pk, int(version_number)))
    return _signer().sign(payload)


def _claim(payload: str) -> AckClaim:
    try:
        user_id, plan_id, version_number = (signing.b62_decode(part) for part in payload.split("-"))
    except (ValueError, TypeError):
        raise AckLinkInvalid("malformed payload") from None
    if min(user_id, plan_id, version_number) <= 0:
        raise AckLinkInvalid("malformed payload")
    return AckClaim(user_id=user_id, plan_id=plan_id, version_number=version_number)


def ack_token_read(token: str) -> AckClaim:
    """The claim of a token; AckLinkInvalid if it is not genuine, AckLinkExpired (with the claim) if too old."""
    signer = _signer()
    max_age = timedelta(days=settings.BCP_ACK_LINK_DAYS)
    try:
        return _claim(signer.unsign(token, max_age=max_age))
    except signing.SignatureExpired:
        # The signature is genuine, only old: the claim is trustworthy enough to offer a new
        # link to the person's own address.
        raise AckLinkExpired(_claim(signer.unsign(token))) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise AckLinkInvalid("bad signature") from None


def ack_link_url(*, user, plan, version_number: int) -> str:
    """The absolute acknowledgement link for the person (built from settings.SITE_URL)."""
    token = ack_token_make(user=user, plan=plan, version_number=version_number)
    return settings.SITE_URL + reverse("acks:link", args=[token])


class LinkState:
    OK = "ok"  # may acknowledge (or already did: see `ack`)
    SUPERSEDED = "superseded"  # a newer version was approved since
    ARCHIVED = "archived"
    INACTIVE = "inactive"  # the person's account is deactivated
    NOT_APPROVED = "not_approved"  # the plan has no approved version (approval was undone)


# What a person is told when a version cannot be acknowledged (`acknowledgeable`'s reasons).
ACK_REFUSALS = {
    LinkState.INACTIVE: "This account is deactivated, so it cannot acknowledge plans.",
    LinkState.ARCHIVED: "This plan is archived: there is nothing to acknowledge.",
    LinkState.NOT_APPROVED: "This plan has no approved version to acknowledge.",
    LinkState.SUPERSEDED: "A newer version of this plan has been approved since; read that version and "
                          "acknowledge it instead.",
}


def acknowledgeable(plan: Plan, version_number: int | None = None, *, user=None) -> str | None:
    """Why `version_number` of the plan cannot be acknowledged now (a `LinkState` code), or None.

    The one home of the rule: only the approved version of a plan that is not archived, by an
    active person (`user`, when given). `version_number` None asks about the approved version.
    Runs one query unless the plan's approved version is loaded.
    """
    if user is not None and not user.is_active:
        return LinkState.INACTIVE
    if plan.status == Plan.Status.ARCHIVED:
        return LinkState.ARCHIVED
    approved = _approved_number(plan)
    if approved is None or (version_number is not None and approved < int(version_number)):
        return LinkState.NOT_APPROVED
    if version_number is not None and approved > int(version_number):
        return LinkState.SUPERSEDED
    return None


@dataclass
class AckTarget:
    """What a link points at, resolved from the database, and whether it can be acknowledged now."""

    user: object
    plan: Plan
    version: PlanVersion
    state: str
    approved_version: PlanVersion | None = None
    ack: Ack | None = None


def ack_link_target(claim: AckClaim) -> AckTarget:
    """Resolve a claim (three queries). AckLinkInvalid when the person, plan or version is gone,
    or the person is not a member of the plan's organisation (organisations are walls)."""
    User = get_user_model()
    user = User.objects.select_related("membership").filter(pk=claim.user_id).first()
    plan = (
        Plan.objects.select_related("org", "template", "approved_version")
        .filter(pk=claim.plan_id).first()
    )
    if user is None or plan is None:
        raise AckLinkInvalid("user or plan gone")
    membership = getattr(user, "membership", None)  # None when the user has no organisation
    if membership is None or membership.organisation_id != plan.org_id:
        raise AckLinkInvalid("not a member of the plan's organisation")
    version = plan.versions.filter(version_number=claim.version_number).first()
    if version is None:
        raise AckLinkInvalid("version gone")
    approved = plan.approved_version
    state = acknowledgeable(plan, version.version_number, user=user) or LinkState.OK
    ack = Ack.objects.filter(plan=plan, user=user, ack_version_number=version.version_number).first()
    return AckTarget(user=user, plan=plan, version=version, state=state, approved_version=approved, ack=ack)


# --- recording ---------------------------------------------------------------------------


def ack_record(*, plan: Plan, user, version_number: int, via: str) -> tuple[Ack, bool]:
    """Record that `user` read `version_number` of the plan (`via` is "link" or "page").

    Only the plan's approved version of a non-archived plan, by an active user. Idempotent:
    a second call returns the first acknowledgement with created=False. Audits `ack_recorded`.
    """
    if not user.is_active:
        raise ServiceError(ACK_REFUSALS[LinkState.INACTIVE], code=LinkState.INACTIVE)
    current = Plan.objects.select_related("approved_version").defer("approved_version__content_json").get(pk=plan.pk)
    refusal = acknowledgeable(current, version_number, user=user)
    if refusal == LinkState.SUPERSEDED:
        raise ServiceError(
            f"Version {current.approved_version.version_number} of this plan has been approved since; "
            f"read that version and acknowledge it instead.",
            code=refusal,
        )
    if refusal is not None:
        raise ServiceError(ACK_REFUSALS[refusal], code=refusal)
    approved = current.approved_version
    try:
        with transaction.atomic():
            ack, created = Ack.objects.get_or_create(
                plan=current, user=user, ack_version_number=approved.version_number,
                defaults={"ack_at_utc": timezone.now()},
            )
            if created:
                audit_record(
                    plan=current, actor=user, action="ack_recorded",
                    details={"version": approved.version_number, "via": via, "user": user.get_username()},
                )
    except IntegrityError:
        # Two confirmations at the same moment: the other one won; read it in a fresh transaction.
        ack = Ack.objects.get(plan=current, user=user, ack_version_number=approved.version_number)
        created = False
    return ack, created


# --- coverage ----------------------------------------------------------------------------


@dataclass
class CoverageRow:
    user: object
    ack_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        return self.ack_at is not None


@dataclass
class Coverage:
    """Who on the distribution acknowledged the approved version, and who is outstanding."""

    version_number: int | None
    approved_at: datetime | None
    acknowledged: list[CoverageRow] = field(default_factory=list)
    outstanding: list[CoverageRow] = field(default_factory=list)
    # Every acknowledgement of the version by user id, including people no longer on the
    # distribution (they do not count in the numbers).
    ack_at_by_user: dict[int, datetime] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.acknowledged) + len(self.outstanding)

    @property
    def acknowledged_count(self) -> int:
        return len(self.acknowledged)

    @property
    def outstanding_count(self) -> int:
        return len(self.outstanding)

    @property
    def percent(self) -> int:
        """Rounded down, so 100% means everyone."""
        return self.acknowledged_count * 100 // self.total if self.total else 0

    @property
    def rows(self) -> list[CoverageRow]:
        """Outstanding first, then acknowledged; each by name."""
        return self.outstanding + self.acknowledged

    def summary(self) -> str:
        if self.version_number is None:
            return "No approved version yet"
        return (
            f"{self.acknowledged_count} of {self.total} ({self.percent}%) acknowledged v{self.version_number}"
        )


def _approved_number(plan: Plan) -> int | None:
    if plan.approved_version_id is None:
        return None
    if "approved_version" in plan._state.fields_cache:
        return plan.approved_version.version_number
    return (
        PlanVersion.objects.filter(pk=plan.approved_version_id).values_list("version_number", flat=True).first()
    )


def ack_coverage(plan: Plan) -> Coverage:
    """Coverage of the plan's approved version: at most three queries whatever the numbers."""
    number = _approved_number(plan)
    coverage = Coverage(version_number=number, approved_at=plan.approved_at_utc)
    if number is None:
        return coverage
    users = list(distribution_users(plan))
    coverage.ack_at_by_user = dict(
        Ack.objects.filter(plan_id=plan.pk, ack_version_number=number).values_list("user_id", "ack_at_utc")
    )
    for user in users:
        ack_at = coverage.ack_at_by_user.get(user.pk)
        (coverage.acknowledged if ack_at else coverage.outstanding).append(CoverageRow(user=user, ack_at=ack_at))
    return coverage


# --- the summary shown with a link -------------------------------------------------------


def version_summary(plan: Plan, version: PlanVersion) -> dict:
    """What the acknowledgement page shows of a version: purpose, key contacts, critical processes.

    Reads the version's own content (not the working copy); one query for the template's sections.
    """
    content = version.content_json or {}
    contacts = list(content.get("contacts") or [])
    purpose = ""
    sections = template_sections(version.template)
    ordered = sorted(sections, key=lambda s: s["key"] != "overview")  # the overview section first
    for section in ordered:
        for fld in section["fields"]:
            if fld["key"] == "purpose":
                value = (content.get(section["key"]) or {}).get("purpose")
                if value not in (None, "", [], {}):
                    purpose = display_value(fld, value, contacts={c.get("id"): c.get("name") for c in contacts})
                break
        if purpose:
            break
    processes = [
        {
            "name": p.get("name", ""),
            "impact": p.get("impact_rating", ""),
            "rto": format_minutes(p.get("rto_minutes")),
            "mtpd": format_minutes(p.get("mtpd_minutes")),
        }
        for p in (content.get("processes") or [])
    ]
    return {
        "purpose": purpose,
        "contacts": contacts[:SUMMARY_CONTACTS],
        "more_contacts": max(len(contacts) - SUMMARY_CONTACTS, 0),
        "processes": processes[:SUMMARY_PROCESSES],
        "more_processes": max(len(processes) - SUMMARY_PROCESSES, 0),
    }


# --- sending mail ------------------------------------------------------------------------


def _name(user) -> str:
    return display_name(user)


def _message(prefix: str, *, user, plan: Plan, version_number: int, approved_at, connection) -> EmailMultiAlternatives:
    link = ack_link_url(user=user, plan=plan, version_number=version_number)
    ctx = {
        "recipient_name": _name(user),
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
