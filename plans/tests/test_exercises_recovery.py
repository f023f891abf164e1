"""Recovery times achieved are judged against the exercised version's snapshot, never the live processes.

Boundaries: achieved = RTO is met; achieved = MTPD is an RTO missed, one minute more breaches the MTPD;
a process whose version sets no RTO has no objective (unless the MTPD is breached).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from bcp_site.errors import ServiceError
from plans.exercises import Outcome, exercise_hold, exercise_recoveries, exercise_results_record, recovery_outcome
from plans.models import Process
from plans.services import process_save

from .exercise_support import approve, planned_exercise, save_revision

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("achieved, rto, mtpd, outcome", [
    (60, 60, 240, Outcome.MET),
    (61, 60, 240, Outcome.MISSED),
    (240, 60, 240, Outcome.MISSED),
    (241, 60, 240, Outcome.BREACHED),
    (0, 0, None, Outcome.MET),
    (10_000, 60, None, Outcome.MISSED),
    (50, None, None, Outcome.NO_OBJECTIVE),
    (50, None, 60, Outcome.NO_OBJECTIVE),
    (61, None, 60, Outcome.BREACHED),
])
def test_recovery_outcome(achieved, rto, mtpd, outcome):
    assert recovery_outcome(achieved, rto=rto, mtpd=mtpd) == outcome


@pytest.fixture
def exercised(plan, owner, reviewer):
    """Version 2 approved with "Payroll" (RTO 1 h, MTPD 4 h) and "Canteen" (no RTO), then exercised;
    afterwards the live processes change and version 3 is approved."""
    payroll = Process.objects.create(plan=plan, name="Payroll", rto_minutes=60, mtpd_minutes=240)
    canteen = Process.objects.create(plan=plan, name="Canteen", rto_minutes=None, mtpd_minutes=None)
    save_revision(plan, actor=owner)
    approve(plan, submitter=owner, approver=reviewer)
    exercised_version = plan.approved_version
    exercise = planned_exercise(plan, actor=owner)
    exercise = exercise_hold(exercise=exercise, actor=owner, held_on=exercise.scheduled_on)
    # The live rows change after the exercise, and a newer version is approved.
    process_save(plan=plan, actor=owner, expected_revision=None, process_id=payroll.pk,
                 values={"name": "Payroll", "rto_minutes": 15, "mtpd_minutes": 30})
    process_save(plan=plan, actor=owner, expected_revision=None, process_id=canteen.pk,
                 values={"name": "Canteen", "rto_minutes": 5, "mtpd_minutes": 10})
    save_revision(plan, actor=owner)
    approve(plan, submitter=owner, approver=reviewer)
    exercise.refresh_from_db()
    assert exercise.version_id == exercised_version.pk != plan.approved_version_id
    return exercise, payroll, canteen


def test_boundaries_are_judged_against_the_exercised_versions_snapshot(exercised, owner):
    exercise, payroll, canteen = exercised
    rows = {row.name: row for row in exercise_recoveries(exercise)}
    assert (rows["Payroll"].rto_minutes, rows["Payroll"].mtpd_minutes) == (60, 240)  # the snapshot, not 15 / 30
    assert rows["Canteen"].rto_minutes is None  # the snapshot had none; the live row has 5 now
    assert rows["Payroll"].outcome is None and rows["Payroll"].outcome_label == "Not exercised"

    exercise_results_record(exercise=exercise, actor=owner, objectives={}, summary="",
                            recoveries={payroll.pk: (60, ""), canteen.pk: (60, "")})
    rows = {row.name: row for row in exercise_recoveries(exercise)}
    assert rows["Payroll"].outcome == Outcome.MET  # = RTO (the live RTO of 15 min would call it breached)
    assert rows["Canteen"].outcome == Outcome.NO_OBJECTIVE  # the live MTPD of 10 min would call it breached

    exercise_results_record(exercise=exercise, actor=owner, objectives={}, summary="",
                            recoveries={payroll.pk: (240, "")})
    assert {r.name: r for r in exercise_recoveries(exercise)}["Payroll"].outcome == Outcome.MISSED  # = MTPD
    exercise_results_record(exercise=exercise, actor=owner, objectives={}, summary="",
                            recoveries={payroll.pk: (241, "Slow restore")})
    row = {r.name: r for r in exercise_recoveries(exercise)}["Payroll"]
    assert (row.outcome, row.notes) == (Outcome.BREACHED, "Slow restore")
    with pytest.raises(ServiceError) as refused:  # a process the version exercised does not name
        exercise_results_record(exercise=exercise, actor=owner, objectives={}, summary="",
                                recoveries={payroll.pk + 1000: (5, "")})
    assert refused.value.code == "unknown_process"


def test_the_results_page_records_times_and_the_exercise_page_shows_the_outcomes(client, exercised, owner):
    exercise, payroll, canteen = exercised
    client.force_login(owner)
    url = reverse("exercises:exercise_results", args=[exercise.plan_id, exercise.pk])
    page = client.get(url).content.decode()
    assert "RTO 1 h, MTPD 4 h in version exercised" in page
    objective = exercise.objectives.get()
    response = client.post(url, {
        f"objective_{objective.pk}": "partly_met", f"objective_{objective.pk}_notes": "Slow start",
        f"process_{payroll.pk}": "1h", f"process_{payroll.pk}_notes": "",
        f"process_{canteen.pk}": "45m", f"process_{canteen.pk}_notes": "Cold food only",
        "summary": "Restored in time.",
    })
    assert response.status_code == 302
    page = client.get(exercise.get_absolute_url()).content.decode()
    table = page.split('data-testid="recoveries"')[1].split("</table>")[0]
    assert "RTO met" in table and "No objective" in table and "Cold food only" in table
    assert "Partly met" in page and "Restored in time." in page

    response = client.post(url, {f"process_{payroll.pk}": "-5", f"objective_{objective.pk}": "met"})
    assert response.status_code == 400 and "A duration cannot be negative" in response.content.decode()
