"""Rules of exercises and findings that the database itself holds, whatever code writes the row.

Each bad row is written directly (no service, no form) and must be refused with IntegrityError.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from plans.models import (
    Exercise,
    ExerciseObjective,
    ExerciseRecovery,
    Finding,
    FindingTick,
    IssuedFile,
    Notification,
)

from .exercise_support import held_exercise, raise_finding

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def exercise(plan, owner):
    return held_exercise(plan, actor=owner)


@pytest.fixture
def finding(exercise, owner):
    return raise_finding(exercise, actor=owner)


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def _exercise(plan, **changes):
    values = {"plan": plan, "version": plan.current_version, "exercise_type": Exercise.Type.TABLETOP,
              "title": "Drill", "scheduled_on": TODAY, "created_at_utc": timezone.now(),
              "status": Exercise.Status.PLANNED, **changes}
    return Exercise.objects.create(**values)


def test_exercise_status_and_type_are_limited_to_their_values(plan):
    refused(lambda: _exercise(plan, status="cancelled"))
    refused(lambda: _exercise(plan, exercise_type="picnic"))
    assert _exercise(plan).status == Exercise.Status.PLANNED  # the good row is accepted


def test_a_held_exercise_has_a_day_and_a_planned_one_has_none(plan):
    refused(lambda: _exercise(plan, status=Exercise.Status.HELD, held_on=None))
    refused(lambda: _exercise(plan, status=Exercise.Status.REPORTED, held_on=None))
    refused(lambda: _exercise(plan, status=Exercise.Status.PLANNED, held_on=TODAY))
    assert _exercise(plan, status=Exercise.Status.CLOSED, held_on=TODAY).held_on == TODAY


def test_recovery_times_are_never_negative_and_recorded_once_per_process(exercise):
    refused(lambda: ExerciseRecovery.objects.create(exercise=exercise, process_ref=1, process_name="Payroll",
                                                    achieved_minutes=-1))
    ExerciseRecovery.objects.create(exercise=exercise, process_ref=1, process_name="Payroll", achieved_minutes=0)
    refused(lambda: ExerciseRecovery.objects.create(exercise=exercise, process_ref=1, process_name="Payroll",
                                                    achieved_minutes=5))
    refused(lambda: ExerciseRecovery.objects.filter(exercise=exercise).update(achieved_minutes=-30))


def test_objective_results_are_limited_to_met_partly_met_not_met(exercise):
    objective = exercise.objectives.get()
    refused(lambda: ExerciseObjective.objects.filter(pk=objective.pk).update(result="passed"))
    refused(lambda: ExerciseObjective.objects.create(exercise=exercise, position=objective.position, text="Again"))
    ExerciseObjective.objects.filter(pk=objective.pk).update(result="partly_met")


def _finding(plan, exercise, owner, **changes):
    values = {"plan": plan, "exercise": exercise, "description": "Stale numbers", "severity": Finding.Severity.LOW,
              "owner_user": owner, "due_on": TODAY, "raised_at_utc": timezone.now(), **changes}
    return Finding.objects.create(**values)


def test_a_finding_belongs_to_exactly_one_source(plan, exercise, owner):
    refused(lambda: _finding(plan, None, owner))  # no source at all
    refused(lambda: _finding(plan, exercise, owner, source_kind="incident"))  # a kind that names no column
    refused(lambda: _finding(plan, None, owner, source_kind="incident"))
    assert _finding(plan, exercise, owner).source_kind == Finding.Source.EXERCISE


def test_finding_status_severity_and_description(plan, exercise, owner, finding):
    refused(lambda: _finding(plan, exercise, owner, status="ignored"))
    refused(lambda: _finding(plan, exercise, owner, severity="apocalyptic"))
    refused(lambda: _finding(plan, exercise, owner, description=""))
    refused(lambda: Finding.objects.filter(pk=finding.pk).update(status="closed"))


def test_an_accepted_risk_says_why_and_only_a_done_finding_names_the_version_that_closed_it(plan, finding):
    refused(lambda: Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.RISK_ACCEPTED))
    Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.RISK_ACCEPTED, risk_accepted_reason="Cheap")
    refused(lambda: Finding.objects.filter(pk=finding.pk).update(closed_by_version=plan.current_version))
    Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.DONE, closed_by_version=plan.current_version)


def test_a_finding_is_ticked_once_per_version(plan, finding):
    FindingTick.objects.create(finding=finding, version=plan.current_version)
    refused(lambda: FindingTick.objects.create(finding=finding, version=plan.current_version))


def test_an_exercise_report_names_its_exercise_and_no_version(plan, exercise):
    def issued(**changes):
        values = {"kind": IssuedFile.Kind.EXERCISE_REPORT, "org": plan.org, "plan": plan, "exercise": exercise,
                  "marking": IssuedFile.Marking.FINAL, "sha256": "a" * 64, "storage_path": "x.pdf", "size_bytes": 1,
                  "issued_at_utc": timezone.now(), **changes}
        return IssuedFile.objects.create(**values)

    refused(lambda: issued(exercise=None))
    refused(lambda: issued(version=plan.current_version))
    refused(lambda: issued(kind=IssuedFile.Kind.PLAN_PDF))  # a plan export names no exercise
    refused(lambda: issued(marking=IssuedFile.Marking.APPROVED))  # a report is final
    refused(lambda: issued(kind=IssuedFile.Kind.PLAN_PDF, exercise=None, version=plan.current_version))  # nor final
    issued()
    refused(lambda: issued(sha256="b" * 64))  # one report per exercise


def test_the_overdue_findings_mail_is_a_kind_the_outbox_accepts(owner, org):
    now = timezone.now()
    row = Notification.objects.create(recipient_user=owner, to_address=owner.email, org=org,
                                      kind=Notification.Kind.FINDINGS_OVERDUE, next_attempt_at_utc=now,
                                      created_at_utc=now)
    refused(lambda: Notification.objects.filter(pk=row.pk).update(kind="findings_nagging"))
