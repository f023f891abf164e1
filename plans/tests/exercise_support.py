"""Helpers shared by the exercise and finding tests (plans/tests/test_exercises*.py, test_findings*.py)."""

from __future__ import annotations

import copy
import datetime as dt

from django.utils import timezone

from bcp_site.testing import SMALL_SCHEMA, make_template
from plans.exercises import exercise_hold, exercise_plan, exercise_results_record
from plans.findings import finding_raise
from plans.models import Exercise, Finding, Plan, PlanVersion
from plans.services import plan_section_update, revision_save

# The small test template with a "Testing and exercises" section whose frequency is the template's
# exercise interval (quarterly: 3 months).
CADENCE_SCHEMA = copy.deepcopy(SMALL_SCHEMA)
CADENCE_SCHEMA["sections"].append({
    "key": "testing", "title": "Testing and exercises", "order": 3, "fields": [
        {"key": "exercise_frequency", "label": "Exercise frequency", "type": "select", "required": True,
         "choices": ["quarterly", "annually"], "default": "quarterly"},
    ],
})
CADENCE_SCHEMA["roles"] = {"exercise_interval": "testing.exercise_frequency"}


def cadence_template(**kwargs):
    return make_template(schema=CADENCE_SCHEMA, **kwargs)


def approve(plan: Plan, *, submitter, approver) -> Plan:
    """Submit the plan's active version and approve it through the workflow services (reviews)."""
    from reviews.services import plan_submit_for_review, review_approve

    [review] = plan_submit_for_review(plan=plan, actor=submitter, reviewers=[approver])
    review_approve(review=review, actor=approver)
    plan.refresh_from_db()
    return plan


def request_changes(plan: Plan, *, submitter, reviewer, notes: str = "Not yet") -> Plan:
    from reviews.services import plan_submit_for_review, review_request_changes

    [review] = plan_submit_for_review(plan=plan, actor=submitter, reviewers=[reviewer])
    review_request_changes(review=review, actor=reviewer, notes=notes)
    plan.refresh_from_db()
    return plan


def change_purpose(plan: Plan, *, actor, text: str) -> None:
    """Change the working copy (an approved plan goes back to draft), so a revision has something to save."""
    plan.refresh_from_db()
    values = dict((plan.draft_content_json or {}).get("overview") or {})
    values["purpose"] = text
    plan_section_update(plan=plan, section_key="overview", values=values, actor=actor, expected_revision=None)


def save_revision(plan: Plan, *, actor, findings=None, text: str = "") -> PlanVersion:
    """A change to the working copy saved as the next version; `findings` as ticked on the form."""
    number = plan.versions.count() + 1
    change_purpose(plan, actor=actor, text=text or f"Purpose as of version {number}.")
    version = revision_save(plan=plan, actor=actor, note=f"Revision {number}", findings=findings)
    plan.refresh_from_db()
    return version


def planned_exercise(plan: Plan, *, actor, title: str = "Ransomware tabletop", objectives=("Activate the plan",),
                     scheduled_on: dt.date | None = None, participants=()) -> Exercise:
    return exercise_plan(plan=plan, actor=actor, values={
        "title": title, "exercise_type": Exercise.Type.TABLETOP, "scenario": "Files are encrypted.",
        "scheduled_on": scheduled_on or timezone.localdate(), "facilitator_user": actor,
        "external_participants": "",
    }, objectives=objectives, participants=participants)


def held_exercise(plan: Plan, *, actor, held_on: dt.date | None = None, **kwargs) -> Exercise:
    """An exercise planned and held on `held_on` (today by default), every objective met."""
    held_on = held_on or timezone.localdate()
    exercise = planned_exercise(plan, actor=actor, scheduled_on=held_on, **kwargs)
    exercise = exercise_hold(exercise=exercise, actor=actor, held_on=held_on)
    results = {o.pk: ("met", "") for o in exercise.objectives.all()}
    return exercise_results_record(exercise=exercise, actor=actor, objectives=results, recoveries={},
                                   summary="Went well.")


def raise_finding(exercise: Exercise, *, actor, owner=None, due_on: dt.date | None = None,
                  description: str = "The call tree lives on the file server.") -> Finding:
    return finding_raise(exercise=exercise, actor=actor, description=description, severity=Finding.Severity.HIGH,
                         owner=owner or actor, due_on=due_on or timezone.localdate() + dt.timedelta(days=30))
