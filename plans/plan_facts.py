"""Stored plan facts (decision 5): what lists and home pages filter by, kept in indexed plan columns.

A template marks, through its roles (`templates_app.schema.ROLES`), which field holds the next
review date, the review interval and the exercise interval. When a version is approved those
values are read from the version's snapshot and copied to the plan (`plan_facts_approved`);
the services keep the other facts (`review_needed` when a linked change arrives after the
approval, `changes_requested` when a review round asks for changes, `last_exercised_on` and
`next_exercise_due` when an exercise is held: `plans.exercises`).

The review date rule has one home here: the approved version's review date while it lies after
the approval, else the approval day plus the review interval (12 months when the template gives
none).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from templates_app.schema import interval_months, template_roles, template_sections

from .models import ChangeLogMap, Plan, PlanVersion

DEFAULT_REVIEW_MONTHS = 12
# Templates without a `next_review_date` role: a date field with one of these keys, in any section.
LEGACY_REVIEW_DATE_KEYS = ("next_review", "next_review_date")
DUE_SOON_DAYS = 30  # "due soon" on home pages and lists


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months` calendar months; the 31st becomes the month's last day (29 Feb -> 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _field(sections: list[dict], path: str | None) -> dict | None:
    if not path:
        return None
    section_key, _, field_key = path.partition(".")
    for section in sections:
        if section["key"] == section_key:
            return next((f for f in section["fields"] if f["key"] == field_key), None)
    return None


def _value(content: dict | None, path: str | None):
    if not path:
        return None
    section_key, _, field_key = path.partition(".")
    values = (content or {}).get(section_key)
    return values.get(field_key) if isinstance(values, dict) else None


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def version_facts(version: PlanVersion, *, sections: list[dict] | None = None) -> dict:
    """What a version's snapshot says through its template's roles.

    {"review_date": date | None, "review_interval_months": int | None, "exercise_interval_months": int | None}
    """
    template = version.template if version.template_id else version.plan.template
    roles = template_roles(template)
    content = version.content_json or {}
    if sections is None:
        sections = template_sections(template)
    if "next_review_date" in roles:
        review_date = _date(_value(content, roles["next_review_date"]))
    else:
        review_date = next(
            (d for values in content.values() if isinstance(values, dict)
             for key in LEGACY_REVIEW_DATE_KEYS if (d := _date(values.get(key))) is not None),
            None,
        )
    return {
        "review_date": review_date,
        "review_interval_months": interval_months(
            _field(sections, roles.get("review_interval")), _value(content, roles.get("review_interval"))),
        "exercise_interval_months": interval_months(
            _field(sections, roles.get("exercise_interval")), _value(content, roles.get("exercise_interval"))),
    }


def review_due_on(facts: dict, approved_on: dt.date) -> dt.date:
    """When an approved version is due for review: its review date while after the approval,
    else the approval day plus its review interval (DEFAULT_REVIEW_MONTHS without one)."""
    review_date = facts.get("review_date")
    if review_date is not None and review_date > approved_on:
        return review_date
    return add_months(approved_on, facts.get("review_interval_months") or DEFAULT_REVIEW_MONTHS)


def first_approved_on(plan: Plan) -> dt.date | None:
    """The day of the plan's first approval: its versions' first approvals, or the approval being
    recorded now (`plan.approved_at_utc`). One query."""
    first = PlanVersion.objects.filter(plan_id=plan.pk).aggregate(first=Min("approved_at_utc"))["first"]
    moments = [moment for moment in (first, plan.approved_at_utc) if moment is not None]
    return timezone.localdate(min(moments)) if moments else None


def exercise_due_on(plan: Plan) -> dt.date | None:
    """When the plan is next due an exercise: its last held exercise plus its exercise interval; never
    exercised, the day of its first approval (due at once). None without an interval, or never approved.
    One query for a plan never exercised, none otherwise."""
    interval = plan.exercise_interval_months
    if not interval:
        return None
    if plan.last_exercised_on is not None:
        return add_months(plan.last_exercised_on, interval)
    return first_approved_on(plan)


def plan_facts_approved(plan: Plan, version: PlanVersion) -> list[str]:
    """Copy the approved `version`'s facts to `plan` (not saved); returns the fields to save.

    Call after `plan.approved_at_utc` is set, inside the approval's transaction. Approval also
    answers every linked change so far, ends a "changes requested" state, and sets when the plan is
    next due an exercise from the (possibly new) exercise interval.
    """
    facts = version_facts(version)
    approved_on = timezone.localdate(plan.approved_at_utc)
    plan.next_review_due = review_due_on(facts, approved_on)
    plan.review_interval_months = facts["review_interval_months"]
    plan.exercise_interval_months = facts["exercise_interval_months"]
    plan.next_exercise_due = exercise_due_on(plan)
    plan.changes_requested = False
    plan.review_needed = ChangeLogMap.objects.filter(
        plan_id=plan.pk, change__occurred_at_utc__gt=plan.approved_at_utc).exists()  # a change dated later
    return ["next_review_due", "review_interval_months", "exercise_interval_months", "next_exercise_due",
            "changes_requested", "review_needed"]


def plans_review_needed_refresh(plan_ids: Iterable[int]) -> None:
    """Recompute `review_needed` for these plans from their linked changes (one UPDATE).

    Review is needed when a linked change occurred after the last approval; a plan never
    approved is never flagged (there is no approved plan to re-review yet).
    """
    ids = sorted(set(plan_ids))
    if not ids:
        return
    newer = ChangeLogMap.objects.filter(
        plan_id=OuterRef("pk"), change__occurred_at_utc__gt=OuterRef("approved_at_utc"))
    Plan.objects.filter(pk__in=ids).update(review_needed=Exists(newer))


def plan_changes_requested(plan: Plan, requested: bool) -> list[str]:
    """Mark (or clear) that the plan's last review round asked for changes; returns the fields to save."""
    plan.changes_requested = requested
    return ["changes_requested"]
