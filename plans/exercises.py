"""Exercises of a plan (ISO 22301 8.5 and 8.6): planned, held, results recorded, reported, closed.

    planned  -> held      exercise_hold (the version exercised is pinned; the plan's cadence moves on)
    held     -> reported  exercise_report_issue (results frozen; the after-action report is rendered by a task)
    reported -> closed    exercise_close (every finding done or its risk accepted)

Each function is atomic, leaves an audit row and saves with `save()` so model history records
the change. Recovery times achieved are compared with the RTO and MTPD of the version
exercised, read from its snapshot (`exercise_recoveries`), never with the live processes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bcp_site.errors import ServiceError

from .models import (
    Exercise,
    ExerciseObjective,
    ExerciseParticipant,
    ExerciseRecovery,
    Finding,
    Membership,
    Plan,
    PlanVersion,
)
from .plan_facts import exercise_due_on
from .recovery import Outcome, int_or_none, minutes_text, recovery_outcome, snapshot_processes
from .services import audit_record, member_check

Status = Exercise.Status

EXERCISE_FIELDS = ("title", "exercise_type", "scenario", "scheduled_on", "facilitator_user", "external_participants")
MAX_OBJECTIVES = 50


# --- recovery times against the version's snapshot (judged by plans.recovery) -----------------------


@dataclass(frozen=True)
class RecoveryRow:
    """One critical process of the version exercised, with the time achieved if one was recorded."""

    process_ref: int
    name: str
    rto_minutes: int | None
    mtpd_minutes: int | None
    achieved_minutes: int | None = None
    notes: str = ""
    in_version: bool = True  # False: recorded for a process the snapshot no longer names (cannot happen by the pages)

    @property
    def outcome(self) -> str | None:
        if self.achieved_minutes is None:
            return None
        return recovery_outcome(self.achieved_minutes, rto=self.rto_minutes, mtpd=self.mtpd_minutes)

    @property
    def outcome_label(self) -> str:
        return Outcome.LABELS.get(self.outcome, "Not exercised")

    @property
    def rto(self) -> str:
        return minutes_text(self.rto_minutes)

    @property
    def mtpd(self) -> str:
        return minutes_text(self.mtpd_minutes)

    @property
    def achieved(self) -> str:
        return minutes_text(self.achieved_minutes)


def exercise_recoveries(exercise: Exercise, *, recorded: Iterable[ExerciseRecovery] | None = None) -> list[RecoveryRow]:
    """Every critical process of the version exercised, with its RTO and MTPD from that version's snapshot
    and the time achieved where one was recorded. Queries: the version's content unless loaded, the
    recorded times unless given."""
    if recorded is None:
        recorded = exercise.recoveries.all()
    by_ref = {r.process_ref: r for r in recorded}
    rows = []
    for process in snapshot_processes(exercise.version):
        ref = int_or_none(process.get("id"))
        if ref is None:
            continue
        done = by_ref.pop(ref, None)
        rows.append(RecoveryRow(
            process_ref=ref, name=str(process.get("name") or ""),
            rto_minutes=int_or_none(process.get("rto_minutes")),
            mtpd_minutes=int_or_none(process.get("mtpd_minutes")),
            achieved_minutes=done.achieved_minutes if done else None, notes=done.notes if done else "",
        ))
    for done in by_ref.values():
        rows.append(RecoveryRow(process_ref=done.process_ref, name=done.process_name, rto_minutes=None,
                                mtpd_minutes=None, achieved_minutes=done.achieved_minutes, notes=done.notes,
                                in_version=False))
    return rows


# --- checks ---------------------------------------------------------------------------------------


def exercise_refusal(plan: Plan) -> ServiceError | None:
    """Why exercises and findings of the plan cannot change now, or None: an archived plan is read-only."""
    if plan.status == Plan.Status.ARCHIVED:
        return ServiceError("This plan is archived, so its exercises and findings cannot change. A BCP Admin "
                            "can restore it.", code="archived")
    return None


def _lock(exercise: Exercise, actor) -> Exercise:
    """Lock the exercise row (its plan read with it) and check the actor may change it. Call inside atomic()."""
    locked = Exercise.objects.select_for_update().select_related("plan").get(pk=exercise.pk)
    member_check(plan=locked.plan, actor=actor)
    refusal = exercise_refusal(locked.plan)
    if refusal is not None:
        raise refusal
    return locked


def _require_status(exercise: Exercise, allowed: tuple[str, ...], doing: str) -> None:
    if exercise.status not in allowed:
        raise ServiceError(
            f"This exercise is {exercise.get_status_display().lower()}, so {doing}.", code="invalid_transition",
        )


def _members_only(plan: Plan, people: Iterable) -> list:
    """`people` (None dropped, each once) when all are members of the plan's organisation; else refused."""
    people = list({p.pk: p for p in people if p is not None}.values())
    ids = set(Membership.objects.filter(organisation_id=plan.org_id, user__in=people)
              .values_list("user_id", flat=True)) if people else set()
    outsiders = [p for p in people if p.pk not in ids]
    if outsiders:
        raise ServiceError(f"{outsiders[0]} is not a member of this plan's organisation.", code="other_organisation")
    return people


def _clean_objectives(objectives: Iterable[str]) -> list[str]:
    texts = [" ".join(str(t).split()) for t in objectives]
    texts = [t for t in texts if t]
    if len(texts) > MAX_OBJECTIVES:
        raise ServiceError(f"An exercise has at most {MAX_OBJECTIVES} objectives.", code="too_many_objectives")
    return texts


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    values = {key: values.get(key) for key in EXERCISE_FIELDS}
    values["title"] = (values["title"] or "").strip()
    if not values["title"]:
        raise ServiceError("Give the exercise a title.", code="title_required")
    if values["exercise_type"] not in Exercise.Type.values:
        raise ServiceError("Choose the type of exercise.", code="invalid_type")
    if not isinstance(values["scheduled_on"], dt.date):
        raise ServiceError("Give the day the exercise is planned for.", code="date_required")
    values["scenario"] = values["scenario"] or ""
    values["external_participants"] = "\n".join(
        line.strip() for line in (values["external_participants"] or "").splitlines() if line.strip())
    return values


def _set_objectives(exercise: Exercise, texts: list[str]) -> None:
    """Make the exercise's objectives `texts`, in order, keeping the row (and any result) of an unchanged text."""
    existing = list(exercise.objectives.order_by("position"))
    by_text = {}
    for row in existing:
        by_text.setdefault(row.text, row)
    kept = []
    for position, text in enumerate(texts, start=1):
        row = by_text.pop(text, None)
        kept.append((position, text, row))
    for row in by_text.values():
        row.delete()  # one by one, so history records each
    # Park the kept rows out of the way first: (exercise, position) is unique.
    offset = MAX_OBJECTIVES + len(existing) + 1
    for position, _text, row in kept:
        if row is not None and row.position != position:
            row.position = offset + position
            row.save(update_fields=["position"])
    for position, text, row in kept:
        if row is None:
            ExerciseObjective.objects.create(exercise=exercise, position=position, text=text)
        elif row.position != position:
            row.position = position
            row.save(update_fields=["position"])


def _set_participants(exercise: Exercise, people: list) -> list[str]:
    """Make the exercise's participants `people`; returns their usernames."""
    wanted = {p.pk for p in people}
    for row in exercise.participant_rows.all():
        if row.user_id not in wanted:
            row.delete()
        wanted.discard(row.user_id)
    for user_id in sorted(wanted):
        ExerciseParticipant.objects.create(exercise=exercise, user_id=user_id)
    return sorted(p.get_username() for p in people)


# --- writes -----------------------------------------------------------------------------------------


def exercise_plan(*, plan: Plan, actor, values: dict[str, Any], objectives: Iterable[str] = (),
                  participants: Iterable = ()) -> Exercise:
    """Plan an exercise of `plan`: title, type, scenario, day, facilitator, objectives, participants.

    Until it is held, the version exercised is the plan's approved version (its active one
    while none is approved). Audits `exercise_planned`.
    """
    values = _clean_values(values)
    texts = _clean_objectives(objectives)
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        member_check(plan=locked, actor=actor)
        refusal = exercise_refusal(locked)
        if refusal is not None:
            raise refusal
        version_id = locked.approved_version_id or locked.current_version_id
        if version_id is None:
            raise ServiceError("Save a version of the plan before planning an exercise of it.", code="no_version")
        participants = _members_only(locked, participants)
        _members_only(locked, [values["facilitator_user"]])
        exercise = Exercise.objects.create(
            plan=locked, version_id=version_id, created_by_user=actor, created_at_utc=timezone.now(),
            status=Status.PLANNED, **values,
        )
        _set_objectives(exercise, texts)
        usernames = _set_participants(exercise, participants)
        audit_record(plan=locked, actor=actor, action="exercise_planned", details={
            "exercise": exercise.title, "id": exercise.pk, "type": exercise.exercise_type,
            "scheduled_on": exercise.scheduled_on.isoformat(), "participants": usernames,
        })
    return exercise


def exercise_update(*, exercise: Exercise, actor, values: dict[str, Any], objectives: Iterable[str] | None = None,
                    participants: Iterable | None = None) -> Exercise:
    """Change an exercise that is planned or held (its report not issued yet); audits `exercise_changed`.

    Objectives are kept by text: an unchanged objective keeps its result.
    """
    values = _clean_values(values)
    texts = _clean_objectives(objectives) if objectives is not None else None
    with transaction.atomic():
        locked = _lock(exercise, actor)
        _require_status(locked, (Status.PLANNED, Status.HELD), "it can no longer be changed")
        _members_only(locked.plan, [values["facilitator_user"]])
        if participants is not None:
            participants = _members_only(locked.plan, participants)
        changes = {}
        for field, new in values.items():
            old = getattr(locked, field)
            if old != new:
                changes[field] = [str(old) if old is not None else None, str(new) if new is not None else None]
            setattr(locked, field, new)
        locked.save()
        if texts is not None:
            before = list(locked.objectives.order_by("position").values_list("text", flat=True))
            _set_objectives(locked, texts)
            if before != texts:
                changes["objectives"] = [len(before), len(texts)]
        if participants is not None:
            before = sorted(locked.participant_rows.values_list("user__username", flat=True))
            after = _set_participants(locked, participants)
            if before != after:
                changes["participants"] = [before, after]
        audit_record(plan=locked.plan, actor=actor, action="exercise_changed",
                     details={"exercise": locked.title, "id": locked.pk, "changes": changes})
    return locked


def exercise_hold(*, exercise: Exercise, actor, held_on: dt.date) -> Exercise:
    """Record that a planned exercise was held on `held_on` (planned -> held).

    The version exercised becomes the plan's approved version on that day (its active version
    while none is approved) and stays so. The plan's `last_exercised_on` and
    `next_exercise_due` move on. Audits `exercise_held`.
    """
    if not isinstance(held_on, dt.date):
        raise ServiceError("Give the day the exercise was held.", code="date_required")
    if held_on > timezone.localdate():
        raise ServiceError("An exercise cannot be recorded as held on a day still to come.", code="future_date")
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=exercise.plan_id)  # the plan first, as every service locks
        locked = _lock(exercise, actor)
        _require_status(locked, (Status.PLANNED,), "it cannot be held again")
        locked.version_id = plan.approved_version_id or plan.current_version_id or locked.version_id
        locked.held_on = held_on
        locked.status = Status.HELD
        locked.save(update_fields=["version", "held_on", "status"])
        plan_exercised(plan)
        version_number = PlanVersion.objects.filter(pk=locked.version_id).values_list("version_number", flat=True)[0]
        audit_record(plan=plan, actor=actor, action="exercise_held", details={
            "exercise": locked.title, "id": locked.pk, "held_on": held_on.isoformat(), "version": version_number,
        })
    return locked


def plan_exercised(plan: Plan) -> None:
    """Set the plan's `last_exercised_on` (its latest held exercise) and `next_exercise_due`; saves the plan.

    Call inside a transaction with the plan row locked. One query (two for a plan never exercised) and the save.
    """
    plan.last_exercised_on = plan.exercises.exclude(held_on=None).aggregate(last=Max("held_on"))["last"]
    plan.next_exercise_due = exercise_due_on(plan)
    # Not `updated_at`: an exercise is not an edit of the plan (the list's order stays).
    plan.save(update_fields=["last_exercised_on", "next_exercise_due"])


def exercise_results_record(*, exercise: Exercise, actor, objectives: dict[int, tuple[str, str]],
                            recoveries: dict[int, tuple[int | None, str]], summary: str) -> Exercise:
    """Record what a held exercise achieved: each objective's result and notes (`objectives`: objective id
    -> (result, notes)), the recovery time achieved per critical process of the version exercised
    (`recoveries`: snapshot process id -> (minutes or None for "not exercised", notes)) and what happened.

    Audits `exercise_results_recorded`.
    """
    with transaction.atomic():
        locked = _lock(exercise, actor)
        _require_status(locked, (Status.HELD,), "its results can no longer be changed")
        changed_objectives = 0
        for objective in locked.objectives.order_by("position"):
            if objective.pk not in objectives:
                continue
            result, notes = objectives[objective.pk]
            if result not in ("", *ExerciseObjective.Result.values):
                raise ServiceError("Choose met, partly met or not met for each objective.", code="invalid_result")
            notes = (notes or "").strip()
            if (objective.result, objective.notes) != (result, notes):
                objective.result, objective.notes = result, notes
                objective.save(update_fields=["result", "notes"])
                changed_objectives += 1
        processes = {int_or_none(p.get("id")): p for p in snapshot_processes(locked.version)}
        recorded = {r.process_ref: r for r in locked.recoveries.all()}
        changed_processes = 0
        for ref, (minutes, notes) in recoveries.items():
            process = processes.get(ref)
            if process is None:
                raise ServiceError("That process is not one of the version exercised.", code="unknown_process")
            notes = (notes or "").strip()
            row = recorded.get(ref)
            if minutes is None:
                if row is not None:
                    row.delete()
                    changed_processes += 1
                continue
            if minutes < 0:
                raise ServiceError("A recovery time cannot be negative.", code="negative")
            outcome = recovery_outcome(minutes, rto=int_or_none(process.get("rto_minutes")),
                                       mtpd=int_or_none(process.get("mtpd_minutes")))
            if row is None:
                ExerciseRecovery.objects.create(exercise=locked, process_ref=ref, achieved_minutes=minutes,
                                                process_name=str(process.get("name") or "")[:255], notes=notes,
                                                outcome=outcome)
                changed_processes += 1
            elif (row.achieved_minutes, row.notes) != (minutes, notes):
                row.achieved_minutes, row.notes, row.outcome = minutes, notes, outcome
                row.save(update_fields=["achieved_minutes", "notes", "outcome"])
                changed_processes += 1
        summary = (summary or "").strip()
        if locked.summary != summary:
            locked.summary = summary
            locked.save(update_fields=["summary"])
        audit_record(plan=locked.plan, actor=actor, action="exercise_results_recorded", details={
            "exercise": locked.title, "id": locked.pk, "objectives": changed_objectives,
            "processes": changed_processes,
        })
    return locked


def exercise_report_issue(*, exercise: Exercise, actor) -> Exercise:
    """Issue the after-action report of a held exercise (held -> reported): its results are frozen,
    and a background task renders the PDF after the commit (`plans.exports.report`).

    Refused until every objective has a result. Audits `exercise_reported`.
    """
    from .exports.report import exercise_report_enqueue  # the exports package imports this module

    with transaction.atomic():
        locked = _lock(exercise, actor)
        _require_status(locked, (Status.HELD,), "its report cannot be issued now")
        missing = [o.text for o in locked.objectives.order_by("position") if not o.result]
        if missing:
            raise ServiceError(
                "Record a result for every objective before issuing the report: " + "; ".join(missing[:5]),
                code="results_missing", problems=missing,
            )
        now = timezone.now()
        locked.status = Status.REPORTED
        locked.reported_at_utc = now
        locked.save(update_fields=["status", "reported_at_utc"])
        Exercise.objects.filter(pk=locked.pk).update(report_requested_at_utc=now, report_error="")
        audit_record(plan=locked.plan, actor=actor, action="exercise_reported",
                     details={"exercise": locked.title, "id": locked.pk})
        exercise_id = locked.pk
        transaction.on_commit(lambda: exercise_report_enqueue(exercise_id=exercise_id))
    return locked


def exercise_close(*, exercise: Exercise, actor) -> Exercise:
    """Close a reported exercise (reported -> closed) once each of its findings is done or its risk accepted.

    Audits `exercise_closed`.
    """
    with transaction.atomic():
        locked = _lock(exercise, actor)
        _require_status(locked, (Status.REPORTED,), "it cannot be closed now")
        still_open = locked.findings.filter(status__in=Finding.OPEN_STATUSES).count()
        if still_open:
            raise ServiceError(
                f"{still_open} finding{'s' if still_open != 1 else ''} of this exercise "
                f"{'are' if still_open != 1 else 'is'} still open: each must be done, or its risk accepted, "
                "before the exercise closes.", code="findings_open",
            )
        locked.status = Status.CLOSED
        locked.save(update_fields=["status"])
        audit_record(plan=locked.plan, actor=actor, action="exercise_closed",
                     details={"exercise": locked.title, "id": locked.pk})
    return locked


# --- reads ------------------------------------------------------------------------------------------

EXERCISES_ON_PLAN_PAGE = 5
FINDINGS_ON_PLAN_PAGE = 10


def exercises_panel(plan: Plan, user, *, today: dt.date | None = None) -> dict:
    """What the plan page shows of exercises (in the testing section) and open findings.

    Two queries: the newest exercises, and the open findings by due date (with their owners);
    plus the user's permissions, cached per request.
    """
    today = today or timezone.localdate()
    exercises = list(plan.exercises.only(
        "id", "plan_id", "title", "exercise_type", "status", "scheduled_on", "held_on",
    ).order_by("-id")[:EXERCISES_ON_PLAN_PAGE + 1])
    findings = list(
        plan.findings.filter(status__in=Finding.OPEN_STATUSES).select_related("owner_user")
        .only("id", "plan_id", "description", "severity", "status", "due_on", "owner_user__id",
              "owner_user__username", "owner_user__first_name", "owner_user__last_name")
        .order_by("due_on", "id")[:FINDINGS_ON_PLAN_PAGE + 1]
    )
    writable = exercise_refusal(plan) is None
    return {
        "exercises": exercises[:EXERCISES_ON_PLAN_PAGE],
        "more_exercises": len(exercises) > EXERCISES_ON_PLAN_PAGE,
        "findings": findings[:FINDINGS_ON_PLAN_PAGE],
        "more_findings": len(findings) > FINDINGS_ON_PLAN_PAGE,
        "can_plan": writable and user.has_perm("plans.add_exercise"),
        "cadence": exercise_cadence(plan, today=today),
        "today": today,
    }


@dataclass(frozen=True)
class Cadence:
    """Whether the plan is due an exercise, and how to say it (no query)."""

    due: bool
    text: str


def exercise_cadence(plan: Plan, *, today: dt.date | None = None) -> Cadence:
    """The plan's exercise cadence from its stored facts: flagged when its next exercise is due (an
    approved plan with an exercise interval, whose last exercise is older than the interval, or
    that was never exercised). Archived plans are never flagged."""
    today = today or timezone.localdate()
    interval = plan.exercise_interval_months
    due_on = plan.next_exercise_due
    if not interval:
        return Cadence(False, "No exercise interval yet: it is taken from the approved version's exercise frequency.")
    every = f"every {interval} month{'s' if interval != 1 else ''}"
    if due_on is None:
        return Cadence(False, f"To be exercised {every}, once the plan is approved.")
    if plan.status == Plan.Status.ARCHIVED:
        return Cadence(False, f"Archived; was to be exercised {every}.")
    if plan.last_exercised_on is None:
        return Cadence(True, f"Never exercised: due since its approval on {due_on:%d %b %Y} ({every}).")
    if due_on <= today:
        when = "due today" if due_on == today else f"overdue since {due_on:%d %b %Y}"
        return Cadence(True, f"Exercise {when}: last held {plan.last_exercised_on:%d %b %Y} ({every}).")
    return Cadence(False, f"Last held {plan.last_exercised_on:%d %b %Y}; next due {due_on:%d %b %Y} ({every}).")
