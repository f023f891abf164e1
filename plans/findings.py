"""Findings and the improvement loop (ISO 22301 10.1): raised, worked on, closed by an approved revision.

A finding is raised from a held exercise (`finding_raise`) or from the post-incident review of a
stood-down incident, against one of the plans it activated (`incident_finding_raise`). One that needs a plan change is
ticked on the revision that addresses it: the save-revision page offers the plan's open
findings (`findings_open`), and `plans.services.version_create` records the ticks with the
version (`findings_tick`); without a choice, the ticks of the version it supersedes carry
forward, so a revision sent back with "changes requested" keeps them. When a version is
approved, its ticked findings close with a reference to it (`findings_close_on_approval`, called
by the approval service in `reviews`). A finding may also be done by hand, or its risk accepted
by someone holding `plans.accept_risk_finding` (BCP Admins), with a reason.

Overdue findings (open or in progress, due date passed) are flagged on the plan page, and their
owners get one email a day listing them (`findings_overdue_remind`, run daily by
`manage.py send_finding_reminders`, through the outbox).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bcp_site.errors import ServiceError
from bcp_site.mail import RenderedEmail, render_email
from bcp_site.text import display_name

from .exercises import exercise_refusal
from .models import Exercise, Finding, FindingTick, Incident, Membership, Notification, Plan, PlanVersion
from .outbox import dedupe_key, notification_queue
from .services import audit_record, member_check

Status = Finding.Status
OPEN = Finding.OPEN_STATUSES
PERM_ACCEPT_RISK = "plans.accept_risk_finding"
FINDINGS_IN_REMINDER = 50  # listed in one reminder; the rest are counted


def findings_open(plan: Plan) -> QuerySet:
    """The plan's open findings (open or in progress), soonest due first."""
    return Finding.objects.filter(plan_id=plan.pk, status__in=OPEN).order_by("due_on", "id")


def is_overdue(finding: Finding, today: dt.date | None = None) -> bool:
    return finding.status in OPEN and finding.due_on < (today or timezone.localdate())


# --- raising and changing findings ------------------------------------------------------------------


def _check_owner(plan: Plan, owner) -> None:
    if owner is None or not Membership.objects.filter(user_id=owner.pk, organisation_id=plan.org_id).exists():
        raise ServiceError(f"{display_name(owner) or 'Nobody'} is not a member of this plan's organisation: "
                           "choose an owner from it.", code="other_organisation")


def _clean(description: str, severity: str, due_on) -> str:
    description = (description or "").strip()
    if not description:
        raise ServiceError("Describe the finding.", code="description_required")
    if severity not in Finding.Severity.values:
        raise ServiceError("Choose the finding's severity.", code="invalid_severity")
    if not isinstance(due_on, dt.date):
        raise ServiceError("Give the day the finding is due.", code="date_required")
    return description


def finding_raise(*, exercise: Exercise, actor, description: str, severity: str, owner, due_on: dt.date) -> Finding:
    """Raise a finding from a held exercise (its report, issued later, lists it); audits `finding_raised`."""
    description = _clean(description, severity, due_on)
    with transaction.atomic():
        locked = Exercise.objects.select_for_update().select_related("plan").get(pk=exercise.pk)
        plan = locked.plan
        member_check(plan=plan, actor=actor)
        refusal = exercise_refusal(plan)
        if refusal is not None:
            raise refusal
        if locked.status != Exercise.Status.HELD:
            raise ServiceError(
                "Findings are raised from an exercise once it is held, until its report is issued; this one is "
                f"{locked.get_status_display().lower()}.", code="invalid_transition",
            )
        _check_owner(plan, owner)
        finding = Finding.objects.create(
            plan=plan, source_kind=Finding.Source.EXERCISE, exercise=locked, description=description,
            severity=severity, owner_user=owner, due_on=due_on, status=Status.OPEN, raised_by_user=actor,
            raised_at_utc=timezone.now(),
        )
        audit_record(plan=plan, actor=actor, action="finding_raised", details={
            "finding": str(finding), "id": finding.pk, "exercise": locked.title, "severity": severity,
            "owner": owner.get_username(), "due_on": due_on.isoformat(),
        })
    return finding


def incident_finding_raise(*, incident: Incident, plan: Plan, actor, description: str, severity: str, owner,
                           due_on: dt.date) -> Finding:
    """Raise a finding from the post-incident review of a stood-down incident, against `plan`, one of the
    plans it activated (the post-incident report, issued when the incident closes, lists it). Audits
    `finding_raised` on the plan."""
    description = _clean(description, severity, due_on)
    with transaction.atomic():
        locked_plan = Plan.objects.select_for_update().defer("draft_content_json").get(pk=plan.pk)  # the plan first
        member_check(plan=locked_plan, actor=actor)
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.org_id != locked_plan.org_id or not locked.activations.filter(plan_id=locked_plan.pk).exists():
            raise ServiceError("Findings of an incident are raised against a plan it activated.",
                               code="plan_not_activated")
        refusal = exercise_refusal(locked_plan)
        if refusal is not None:
            raise refusal
        if locked.status != Incident.Status.STOOD_DOWN:
            raise ServiceError(
                "Findings are raised in the post-incident review, once the incident is stood down and until it "
                f"closes; this one is {locked.get_status_display().lower()}.", code="invalid_transition",
            )
        _check_owner(locked_plan, owner)
        finding = Finding.objects.create(
            plan=locked_plan, source_kind=Finding.Source.INCIDENT, incident=locked, description=description,
            severity=severity, owner_user=owner, due_on=due_on, status=Status.OPEN, raised_by_user=actor,
            raised_at_utc=timezone.now(),
        )
        audit_record(plan=locked_plan, actor=actor, action="finding_raised", details={
            "finding": str(finding), "id": finding.pk, "incident": locked.title, "severity": severity,
            "owner": owner.get_username(), "due_on": due_on.isoformat(),
        })
    return finding


def _lock(finding: Finding, actor) -> Finding:
    locked = Finding.objects.select_for_update().select_related("plan").get(pk=finding.pk)
    member_check(plan=locked.plan, actor=actor)
    refusal = exercise_refusal(locked.plan)
    if refusal is not None:
        raise refusal
    if locked.status not in OPEN:
        raise ServiceError(f"This finding is {locked.get_status_display().lower()}, so it cannot change any more.",
                           code="finding_closed")
    return locked


def finding_update(*, finding: Finding, actor, description: str, severity: str, owner, due_on: dt.date,
                   status: str) -> Finding:
    """Change an open finding: what it says, severity, owner, due date, and its status (open, in
    progress, or done by hand). Accepting its risk is `finding_accept_risk`. Audits `finding_changed`."""
    description = _clean(description, severity, due_on)
    if status not in (Status.OPEN, Status.IN_PROGRESS, Status.DONE):
        raise ServiceError("Set the finding open, in progress or done; accepting its risk is a decision of its own.",
                           code="invalid_status")
    with transaction.atomic():
        locked = _lock(finding, actor)
        _check_owner(locked.plan, owner)
        changes = {}
        for field, new in (("description", description), ("severity", severity), ("owner_user", owner),
                           ("due_on", due_on), ("status", status)):
            old = getattr(locked, field)
            if old != new:
                changes[field] = [_word(old), _word(new)]
            setattr(locked, field, new)
        if status == Status.DONE:
            locked.closed_at_utc = timezone.now()
        locked.save()
        audit_record(plan=locked.plan, actor=actor, action="finding_changed",
                     details={"finding": str(locked), "id": locked.pk, "changes": changes})
    return locked


def _word(value):
    if hasattr(value, "get_username"):
        return value.get_username()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def finding_accept_risk(*, finding: Finding, actor, reason: str) -> Finding:
    """Accept the risk of an open finding instead of fixing it: needs `plans.accept_risk_finding` (BCP
    Admins) and a reason. Audits `finding_risk_accepted`."""
    reason = (reason or "").strip()
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(PERM_ACCEPT_RISK):
        raise ServiceError("Only a BCP Admin can accept the risk of a finding.", code="permission_denied")
    if not reason:
        raise ServiceError("Say why the risk is accepted.", code="reason_required")
    with transaction.atomic():
        locked = _lock(finding, actor)
        locked.status = Status.RISK_ACCEPTED
        locked.risk_accepted_reason = reason
        locked.risk_accepted_by_user = actor
        locked.closed_at_utc = timezone.now()
        locked.save(update_fields=["status", "risk_accepted_reason", "risk_accepted_by_user", "closed_at_utc"])
        audit_record(plan=locked.plan, actor=actor, action="finding_risk_accepted",
                     details={"finding": str(locked), "id": locked.pk, "reason": reason})
    return locked


# --- the revision that addresses a finding ---------------------------------------------------------


def findings_tick(*, plan: Plan, version: PlanVersion, previous_id: int | None,
                  chosen: Iterable | None = None) -> list[Finding]:
    """Record which open findings the new `version` addresses; returns them.

    `chosen` (findings or their ids) from the save-revision form; None carries forward the ticks
    of the version it supersedes (`previous_id`) that are still open. Call inside the revision's
    transaction. Refused when a chosen finding is not open (closed meanwhile) or is another plan's.
    """
    still_open = Finding.objects.filter(plan_id=plan.pk, status__in=OPEN)
    if chosen is None:
        if previous_id is None:
            return []
        findings = list(still_open.filter(ticks__version_id=previous_id).order_by("id"))
    else:
        wanted = {int(getattr(item, "pk", item)) for item in chosen}
        findings = list(still_open.filter(pk__in=wanted).order_by("id")) if wanted else []
        if len(findings) != len(wanted):
            raise ServiceError("A finding you ticked is no longer open (or is not this plan's): open the form "
                               "again to see the plan's open findings.", code="finding_closed")
    FindingTick.objects.bulk_create([FindingTick(finding=finding, version=version) for finding in findings])
    return findings


def findings_ticked(version: PlanVersion) -> QuerySet:
    """The findings a version addresses (its ticks)."""
    return Finding.objects.filter(ticks__version=version).order_by("id")


def findings_close_on_approval(*, plan: Plan, version: PlanVersion, actor) -> list[Finding]:
    """Close the open findings ticked on `version`, now approved, with a reference to it.

    Called by the approval service in the approval's transaction (plan row locked). Each closed
    finding is audited `finding_closed` with the version; a version approved again (a
    re-confirmation) finds nothing left to close.
    """
    findings = list(Finding.objects.select_for_update().filter(
        plan_id=plan.pk, status__in=OPEN, ticks__version=version).order_by("id"))
    now = timezone.now()
    for finding in findings:
        finding.status = Status.DONE
        finding.closed_at_utc = now
        finding.closed_by_version = version
        finding.save(update_fields=["status", "closed_at_utc", "closed_by_version"])
        audit_record(plan=plan, actor=actor, action="finding_closed", details={
            "finding": str(finding), "id": finding.pk, "version": version.version_number,
        })
    return findings


# --- overdue findings: one email per owner per day ---------------------------------------------------


@dataclass
class ReminderSummary:
    queued: int = 0
    skipped: int = 0  # owners already reminded today
    findings: int = 0
    no_address: int = 0  # owners who cannot be mailed (no address, deactivated)

    def __str__(self) -> str:
        text = (f"Overdue findings: {self.findings} overdue, {self.queued} reminder{'s' if self.queued != 1 else ''} "
                f"queued, {self.skipped} skipped (already reminded today)")
        if self.no_address:
            text += f", {self.no_address} owner{'s' if self.no_address != 1 else ''} without an address or account"
        return text


def findings_overdue(today: dt.date) -> QuerySet:
    """Open findings due before `today`, of plans that are not archived (idx_bc_finding_status_due)."""
    return (Finding.objects.filter(status__in=OPEN, due_on__lt=today)
            .exclude(plan__status=Plan.Status.ARCHIVED))


def findings_overdue_remind(*, today: dt.date | None = None) -> ReminderSummary:
    """Queue one email per owner of overdue findings, listing them; at most one per owner per day
    (the outbox's uniqueness key holds the day, so running it twice a day is harmless).

    Each organisation whose people were reminded gets an audit row `finding_reminders_sent`.
    """
    today = today or timezone.localdate()
    summary = ReminderSummary()
    by_owner: dict[int, list[Finding]] = {}
    rows = findings_overdue(today).select_related("owner_user", "plan__org").defer(
        "plan__draft_content_json").order_by("owner_user_id", "due_on", "id")
    for finding in rows.iterator(chunk_size=500):
        by_owner.setdefault(finding.owner_user_id, []).append(finding)
        summary.findings += 1
    reminded: dict = {}
    for findings in by_owner.values():
        owner, org = findings[0].owner_user, findings[0].plan.org
        if not owner.is_active or not owner.email:
            summary.no_address += 1
            continue
        with transaction.atomic():
            added = notification_queue(
                kind=Notification.Kind.FINDINGS_OVERDUE, recipients=[owner], org=org,
                dedupe=dedupe_key(Notification.Kind.FINDINGS_OVERDUE, "{user}", today.isoformat()),
                context={"findings": [f.pk for f in findings[:FINDINGS_IN_REMINDER]], "count": len(findings),
                         "date": today.isoformat()},
            )
        if added:
            summary.queued += 1
            reminded.setdefault(org, []).append(owner.get_username())
        else:
            summary.skipped += 1
    for org, people in reminded.items():
        audit_record(org=org, actor=None, action="finding_reminders_sent",
                     details={"count": len(people), "people": people, "date": today.isoformat()})
    return summary


def findings_overdue_render(notification: Notification) -> RenderedEmail:
    """The reminder: the recipient's findings listed when it was queued that are still open, with links."""
    context = notification.context_json or {}
    today = dt.date.fromisoformat(context.get("date") or timezone.localdate().isoformat())
    findings = list(
        Finding.objects.filter(pk__in=context.get("findings") or [], owner_user_id=notification.recipient_user_id,
                               status__in=OPEN)
        .select_related("plan").defer("plan__draft_content_json").order_by("due_on", "id")
    )
    count = int(context.get("count") or len(findings))
    items = [{
        "finding": finding, "plan_title": finding.plan.title, "days": (today - finding.due_on).days,
        "url": f"{settings.SITE_URL}{finding.get_absolute_url()}",
    } for finding in findings]
    return render_email("plans/exercises/email/findings_overdue", {
        "recipient_name": display_name(notification.recipient_user), "items": items, "count": count,
        "more": max(count - len(context.get("findings") or []), 0), "date": today,
    })
