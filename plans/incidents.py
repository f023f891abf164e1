"""Incidents (ISO 22301 8.4): declared, plans activated, a timeline kept, processes recovered, stood down,
reviewed and closed.

    declare     -> active      incident_declare (editors and BCP Admins; an organisation event until a plan
                                                  is activated)
    active      -> stood down  incident_stand_down (the declarer or a BCP Admin)
    stood down  -> closed      incident_close (the post-incident review written; the report is rendered by a task)

While active, editors and BCP Admins activate plans (`incident_plan_activate`): each activation keeps
the version in force at that moment (the approved version; a plan with none, its newest version,
marked "not approved"). Every member adds timeline entries (`incident_event_add`; the timeline is
append-only: nothing here or anywhere else changes or deletes an entry) and records when an
affected critical process was disrupted and when it recovered (`incident_process_disrupted`,
`incident_process_recovered`); the time achieved is judged against the activated version's
snapshot with the exercises' rule (`plans.recovery`). Stood down, the post-incident review is
written (`incident_review_save`) and raises findings into the improvement loop
(`plans.findings.incident_finding_raise`).

Each function is atomic, leaves an audit row (the organisation's while the incident names no plan;
the plan's for what concerns one plan) and saves with `save()` so model history records it.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from bcp_site.errors import ServiceError
from bcp_site.limits import datetime_problem

from .models import (
    Incident,
    IncidentActivation,
    IncidentEvent,
    IncidentRecovery,
    Membership,
    Organisation,
    Plan,
    PlanVersion,
)
from .recovery import Outcome, int_or_none, minutes_between, minutes_text, recovery_outcome, snapshot_processes
from .services import audit_record

Status = Incident.Status
Kind = IncidentEvent.Kind

PERM_DECLARE = "plans.add_incident"
PERM_ACTIVATE = "plans.add_incidentactivation"
PERM_TIMELINE = "plans.add_incidentevent"
PERM_RECOVERY = "plans.change_incidentrecovery"
PERM_STAND_DOWN = "plans.stand_down_incident"  # any incident of the organisation (BCP Admins)
MAX_EVENT_TEXT = 2000
# A time given as "now" from a phone whose clock runs a little ahead is still accepted.
CLOCK_SKEW = dt.timedelta(minutes=2)


# --- checks ---------------------------------------------------------------------------------------


def member_of(org_id: int, actor) -> None:
    """Refuse anyone who is not an active member of the organisation (superusers too: decision 6)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ServiceError("You need to be logged in to do this.", code="anonymous")
    if not Membership.objects.filter(user_id=actor.pk, organisation_id=org_id).exists():
        raise ServiceError("This incident belongs to another organisation.", code="other_organisation")


def _perm(actor, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise ServiceError(message, code="permission_denied")


def may_stand_down(incident: Incident, user) -> bool:
    """The declarer or someone allowed to stand down any incident (BCP Admins). No query beyond permissions."""
    if not getattr(user, "is_authenticated", False):
        return False
    return incident.declared_by_user_id == user.pk or user.has_perm(PERM_STAND_DOWN)


def _lock(incident: Incident, actor) -> Incident:
    """Lock the incident row and check the actor is a member of its organisation. Call inside atomic()."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    member_of(locked.org_id, actor)
    return locked


def _require_status(incident: Incident, allowed: tuple[str, ...], doing: str) -> None:
    if incident.status not in allowed:
        raise ServiceError(f"This incident is {incident.get_status_display().lower()}, so {doing}.",
                           code="invalid_transition")


def _moment(value, *, label: str, default: dt.datetime) -> dt.datetime:
    """A time people gave (aware, not in the future), or `default` when they gave none; to the minute, as people
    give times (a recovery entered for the minute its disruption was recorded is not "before" it)."""
    if value is None:
        return default.replace(second=0, microsecond=0)
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise ServiceError(f"Give the time {label} as a date and time.", code="invalid_time")
    problem = datetime_problem(value)
    if problem:
        raise ServiceError(f"The time {label} {problem}.", code="invalid_time")
    if value > timezone.now() + CLOCK_SKEW:
        raise ServiceError(f"The time {label} cannot be in the future.", code="future_time")
    return value.replace(second=0, microsecond=0)


def _at(moment: dt.datetime) -> str:
    """A time as the timeline's own entries say it (the site's time zone)."""
    return date_format(timezone.localtime(moment), "j M Y H:i")


def _event(incident: Incident, actor, kind: str, text: str, *, at: dt.datetime | None = None) -> IncidentEvent:
    return IncidentEvent.objects.create(incident=incident, at_utc=at or timezone.now(), kind=kind, text=text[:4000],
                                        author_user=actor if getattr(actor, "is_authenticated", False) else None)


def _sync(incident: Incident, locked: Incident) -> Incident:
    """Give the caller's object the new state (status and who did what when) of the row just saved."""
    for name in ("status", "stood_down_at_utc", "stood_down_by_user_id", "review_summary", "closed_at_utc",
                 "closed_by_user_id"):
        setattr(incident, name, getattr(locked, name))
    return locked


def _details(incident: Incident, **extra) -> dict:
    return {"incident": incident.title, "id": incident.pk, **extra}


# --- declaring and activating ---------------------------------------------------------------------


def incident_declare(*, organisation: Organisation, actor, title: str, severity: str, description: str = "",
                     plans=()) -> Incident:
    """Declare an incident of `organisation` (editors and BCP Admins), activating `plans` at once if given.

    Audited `incident_declared` in the organisation's trail (it names no plan yet); each plan
    activated is audited in the plan's trail.
    """
    title = " ".join((title or "").split())[:255]
    if not title:
        raise ServiceError("Give the incident a title: what is happening, in a few words.", code="title_required")
    if severity not in Incident.Severity.values:
        raise ServiceError("Choose the incident's severity.", code="invalid_severity")
    member_of(organisation.pk, actor)
    _perm(actor, PERM_DECLARE, "Your role does not allow declaring incidents.")
    with transaction.atomic():
        now = timezone.now()
        incident = Incident.objects.create(
            org=organisation, title=title, description=(description or "").strip(), severity=severity,
            status=Status.ACTIVE, declared_at_utc=now, declared_by_user=actor,
        )
        _event(incident, actor, Kind.UPDATE, f"Incident declared ({incident.get_severity_display().lower()} "
                                             "severity).", at=now)
        audit_record(org=organisation, actor=actor, action="incident_declared",
                     details=_details(incident, severity=severity))
        for plan in plans:
            incident_plan_activate(incident=incident, plan=plan, actor=actor)
    return incident


def version_in_force(plan: Plan) -> tuple[int | None, bool]:
    """(version id, approved) of the plan now: its approved version, else its newest version, else None."""
    if plan.approved_version_id is not None:
        return plan.approved_version_id, True
    return plan.current_version_id, False


def incident_plan_activate(*, incident: Incident, plan: Plan, actor) -> IncidentActivation:
    """Activate `plan` for an active incident, at the version in force now; that version stays the
    activation's whatever is approved later. A plan never approved is activated at its newest version,
    marked not approved (a crisis is no time to refuse). Audited `incident_plan_activated` on the plan."""
    _perm(actor, PERM_ACTIVATE, "Your role does not allow activating plans.")
    with transaction.atomic():
        locked_plan = Plan.objects.select_for_update().defer("draft_content_json").get(pk=plan.pk)  # the plan first
        locked = _lock(incident, actor)
        if locked_plan.org_id != locked.org_id:
            raise ServiceError("That plan belongs to another organisation.", code="other_organisation")
        _require_status(locked, (Status.ACTIVE,), "no more plans can be activated")
        if locked_plan.status == Plan.Status.ARCHIVED:
            raise ServiceError(f"“{locked_plan.title}” is archived, so it cannot be activated.", code="archived")
        version_id, approved = version_in_force(locked_plan)
        if version_id is None:
            raise ServiceError(f"“{locked_plan.title}” has no saved version to activate.", code="no_version")
        if locked.activations.filter(plan_id=locked_plan.pk).exists():
            raise ServiceError(f"“{locked_plan.title}” is already activated for this incident.",
                               code="already_activated")
        now = timezone.now()
        try:
            with transaction.atomic():
                activation = IncidentActivation.objects.create(
                    incident=locked, plan=locked_plan, version_id=version_id, version_approved=approved,
                    activated_at_utc=now, activated_by_user=actor,
                )
        except IntegrityError:  # activated by someone else at the same instant
            raise ServiceError(f"“{locked_plan.title}” is already activated for this incident.",
                               code="already_activated") from None
        number = PlanVersion.objects.filter(pk=version_id).values_list("version_number", flat=True)[0]
        warning = "" if approved else " (not approved: the plan has no approved version)"
        _event(locked, actor, Kind.UPDATE, f"Plan “{locked_plan.title}” activated at version {number}{warning}.",
               at=now)
        audit_record(plan=locked_plan, actor=actor, action="incident_plan_activated",
                     details=_details(locked, version=number, approved=approved))
    activation.plan, activation.incident = locked_plan, locked
    return activation


# --- the timeline (append-only) ---------------------------------------------------------------------


def incident_event_add(*, incident: Incident, actor, kind: str, text: str) -> IncidentEvent:
    """Add an entry to the timeline of an active or stood-down incident (every member but auditors).

    The timeline is append-only: there is no function that changes or deletes an entry. Audited
    `incident_event_added` in the organisation's trail.
    """
    text = (text or "").strip()
    if not text:
        raise ServiceError("Write what happened, was decided or was said.", code="text_required")
    if len(text) > MAX_EVENT_TEXT:
        raise ServiceError(f"A timeline entry has at most {MAX_EVENT_TEXT} characters.", code="too_long")
    if kind not in Kind.values:
        raise ServiceError("Choose decision, action, communication or update.", code="invalid_kind")
    member_of(incident.org_id, actor)
    _perm(actor, PERM_TIMELINE, "Your role does not allow adding to an incident's timeline.")
    with transaction.atomic():
        locked = _lock(incident, actor)
        _require_status(locked, (Status.ACTIVE, Status.STOOD_DOWN), "its timeline is closed")
        event = _event(locked, actor, kind, text)
        audit_record(org=locked.org, actor=actor, action="incident_event_added",
                     details=_details(locked, kind=kind, entry=event.pk))
    return event


# --- recovery of the affected critical processes ----------------------------------------------------


def _process(activation: IncidentActivation, process_ref: int) -> dict:
    for process in snapshot_processes(activation.version):
        if int_or_none(process.get("id")) == process_ref:
            return process
    raise ServiceError("That process is not one of the activated version's critical processes.",
                       code="unknown_process")


def _lock_activation(incident: Incident, activation_id, actor) -> tuple[Incident, IncidentActivation]:
    member_of(incident.org_id, actor)
    _perm(actor, PERM_RECOVERY, "Your role does not allow recording the recovery of processes.")
    plan_id = (IncidentActivation.objects.filter(pk=activation_id, incident_id=incident.pk)
               .values_list("plan_id", flat=True).first())
    if plan_id is None:
        raise ServiceError("That plan is not activated for this incident.", code="unknown_activation")
    plan = Plan.objects.select_for_update().defer("draft_content_json").get(pk=plan_id)  # the plan first
    locked = _lock(incident, actor)
    activation = IncidentActivation.objects.select_related("version").get(pk=activation_id)
    activation.plan, activation.incident = plan, locked
    return locked, activation


def _recovery_row(activation: IncidentActivation, process_ref: int) -> IncidentRecovery | None:
    return IncidentRecovery.objects.select_for_update().filter(activation=activation, process_ref=process_ref).first()


def incident_process_disrupted(*, incident: Incident, activation_id: int, process_ref: int, actor,
                               at: dt.datetime | None = None, notes: str = "") -> IncidentRecovery:
    """Record that a critical process of an activated version is disrupted since `at` (now by default);
    a second call corrects the time while it is not recovered. Audited `incident_process_disrupted`."""
    with transaction.atomic():
        locked, activation = _lock_activation(incident, activation_id, actor)
        _require_status(locked, (Status.ACTIVE,), "no new disruption can be recorded")
        process = _process(activation, process_ref)
        at = _moment(at, label="the disruption started", default=timezone.now())
        name = str(process.get("name") or "")[:255]
        row = _recovery_row(activation, process_ref)
        if row is not None and row.recovered_at_utc is not None:
            raise ServiceError(f"“{name}” was recorded as recovered at {_at(row.recovered_at_utc)}.",
                               code="already_recovered")
        if row is None:
            row = IncidentRecovery(activation=activation, process_ref=process_ref, process_name=name)
        row.disrupted_at_utc = at
        if notes:
            row.notes = notes.strip()
        row.save()
        _event(locked, actor, Kind.UPDATE, f"“{name}” ({activation.plan.title}) disrupted since {_at(at)}.")
        audit_record(plan=activation.plan, actor=actor, action="incident_process_disrupted",
                     details=_details(locked, process=name, since=at.isoformat()))
    return row


def incident_process_recovered(*, incident: Incident, activation_id: int, process_ref: int, actor,
                               at: dt.datetime | None = None, notes: str = "") -> IncidentRecovery:
    """Record that a disrupted process recovered at `at` (now by default), judged against the RTO and MTPD
    of the activated version's snapshot; a second call corrects the time. Allowed while the incident is
    active or stood down. Audited `incident_process_recovered` with the time achieved and its outcome."""
    with transaction.atomic():
        locked, activation = _lock_activation(incident, activation_id, actor)
        _require_status(locked, (Status.ACTIVE, Status.STOOD_DOWN), "its recovery times are final")
        process = _process(activation, process_ref)
        name = str(process.get("name") or "")[:255]
        row = _recovery_row(activation, process_ref)
        if row is None:
            raise ServiceError(f"Record when “{name}” was disrupted first.", code="not_disrupted")
        at = _moment(at, label="it recovered", default=timezone.now())
        if at < row.disrupted_at_utc:
            raise ServiceError(f"“{name}” cannot recover before its disruption started ({_at(row.disrupted_at_utc)}).",
                               code="before_disruption")
        achieved = minutes_between(row.disrupted_at_utc, at)
        outcome = recovery_outcome(achieved, rto=int_or_none(process.get("rto_minutes")),
                                   mtpd=int_or_none(process.get("mtpd_minutes")))
        row.recovered_at_utc, row.outcome = at, outcome
        if notes:
            row.notes = notes.strip()
        row.save()
        _event(locked, actor, Kind.UPDATE, f"“{name}” ({activation.plan.title}) recovered at {_at(at)} after "
                                           f"{minutes_text(achieved)}: {Outcome.LABELS[outcome]}.")
        audit_record(plan=activation.plan, actor=actor, action="incident_process_recovered",
                     details=_details(locked, process=name, at=at.isoformat(), achieved_minutes=achieved,
                                      outcome=outcome))
    return row


# --- standing down, the review, closing ---------------------------------------------------------------


def _check_may_stand_down(incident: Incident, actor, doing: str) -> None:
    if not may_stand_down(incident, actor):
        raise ServiceError(f"Only the person who declared this incident or a BCP Admin may {doing}.",
                           code="permission_denied")


def incident_stand_down(*, incident: Incident, actor, note: str = "") -> Incident:
    """Stand the incident down (active -> stood down): the declarer or a BCP Admin. The post-incident
    review follows. Audited `incident_stood_down` in the organisation's trail."""
    with transaction.atomic():
        locked = _lock(incident, actor)
        _check_may_stand_down(locked, actor, "stand it down")
        _require_status(locked, (Status.ACTIVE,), "it cannot be stood down")
        now = timezone.now()
        locked.status = Status.STOOD_DOWN
        locked.stood_down_at_utc, locked.stood_down_by_user = now, actor
        locked.save(update_fields=["status", "stood_down_at_utc", "stood_down_by_user"])
        still = IncidentRecovery.objects.filter(activation__incident=locked, recovered_at_utc=None).count()
        text = "Incident stood down." + (f" {note.strip()}" if (note or "").strip() else "")
        if still:
            text += f" {still} process{'es' if still != 1 else ''} not recorded as recovered."
        _event(locked, actor, Kind.UPDATE, text, at=now)
        audit_record(org=locked.org, actor=actor, action="incident_stood_down",
                     details=_details(locked, not_recovered=still))
    return _sync(incident, locked)


def incident_review_save(*, incident: Incident, actor, summary: str) -> Incident:
    """Write the post-incident review of a stood-down incident: what happened, what worked, what must
    change (the declarer or a BCP Admin). Audited `incident_review_saved`."""
    summary = (summary or "").strip()
    if not summary:
        raise ServiceError("Write the review: what happened, what worked and what must change.",
                           code="summary_required")
    with transaction.atomic():
        locked = _lock(incident, actor)
        _check_may_stand_down(locked, actor, "write its review")
        _require_status(locked, (Status.STOOD_DOWN,), "its review cannot be changed")
        if locked.review_summary != summary:
            locked.review_summary = summary
            locked.save(update_fields=["review_summary"])
            audit_record(org=locked.org, actor=actor, action="incident_review_saved", details=_details(locked))
    return _sync(incident, locked)


def incident_close(*, incident: Incident, actor) -> Incident:
    """Close a stood-down incident whose review is written (stood down -> closed): the timeline, recovery
    times and findings are final and a background task renders the post-incident report
    (`plans.exports.incident_report`). Audited `incident_closed`."""
    from .exports.incident_report import incident_report_enqueue  # the exports package imports this module

    with transaction.atomic():
        locked = _lock(incident, actor)
        _check_may_stand_down(locked, actor, "close it")
        _require_status(locked, (Status.STOOD_DOWN,), "it cannot be closed now")
        if not locked.review_summary.strip():
            raise ServiceError("Write the post-incident review before closing the incident.", code="review_missing")
        now = timezone.now()
        locked.status = Status.CLOSED
        locked.closed_at_utc, locked.closed_by_user = now, actor
        locked.save(update_fields=["status", "closed_at_utc", "closed_by_user"])
        Incident.objects.filter(pk=locked.pk).update(report_requested_at_utc=now, report_error="")
        _event(locked, actor, Kind.UPDATE, "Incident closed after its post-incident review.", at=now)
        audit_record(org=locked.org, actor=actor, action="incident_closed", details=_details(locked))
        incident_id = locked.pk
        transaction.on_commit(lambda: incident_report_enqueue(incident_id=incident_id))
    return _sync(incident, locked)


# --- reads -------------------------------------------------------------------------------------------


def incidents_visible_to(user):
    """The incidents of the user's organisation (none for anonymous users or users without one)."""
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    return Incident.objects.filter(org__memberships__user=user)

