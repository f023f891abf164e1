"""The demo data holds the improvement loop: a held exercise of the approved version, its results, and a finding
that the draft revision addresses."""

from io import StringIO

import pytest
from django.core.management import call_command

from plans.findings import findings_ticked
from plans.models import Exercise, Finding, Plan
from reviews.management.commands.seed_demo import PLAN_TITLE

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_held_exercise_with_a_finding(client, monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)  # rendering is tested elsewhere
    call_command("seed_demo", stdout=StringIO())
    plan = Plan.objects.get(title=PLAN_TITLE)
    exercise = Exercise.objects.get(plan=plan)
    assert exercise.status == Exercise.Status.HELD and exercise.version == plan.approved_version
    assert plan.last_exercised_on == exercise.held_on and plan.next_exercise_due > exercise.held_on
    assert {o.result for o in exercise.objectives.all()} == {"met", "partly_met"}
    assert exercise.recoveries.count() == 2 and exercise.participant_rows.count() == 2
    finding = Finding.objects.get(exercise=exercise)
    assert finding.status == Finding.Status.OPEN
    assert list(findings_ticked(plan.current_version)) == [finding]  # the draft revision addresses it

    client.force_login(plan.owner_user)
    page = client.get(plan.get_absolute_url()).content.decode()
    testing = page.split('id="section-testing"')[1].split("</section>")[0]
    assert "Ransomware tabletop" in testing
    assert "Keep an offline copy of the call tree" in page.split('data-testid="open-findings"')[1]
