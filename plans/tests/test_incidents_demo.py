"""The demo data holds a closed incident of the sample plan: activated at the approved version, a timeline,
processes recovered (one after its RTO), a review with a finding, and its post-incident report."""

from io import StringIO

import pytest
from django.core.management import call_command

from plans.models import Finding, Incident, IssuedFile, Plan
from reviews.management.commands.seed_demo import PLAN_TITLE

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_closed_incident(client, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)  # rendering is tested elsewhere
    with django_capture_on_commit_callbacks(execute=True):  # the closed incident's report, after the commit
        call_command("seed_demo", stdout=StringIO())
    plan = Plan.objects.get(title=PLAN_TITLE)
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.CLOSED and incident.review_summary
    activation = incident.activations.get()
    assert (activation.plan, activation.version, activation.version_approved) == (plan, plan.approved_version, True)
    assert {e.kind for e in incident.events.all()} >= {"decision", "communication", "action", "update"}
    assert sorted(r.process_name for r in activation.recoveries.all()) == [
        "Customer order processing", "Customer support line"]
    finding = Finding.objects.get(incident=incident)
    assert (finding.plan, finding.status) == (plan, Finding.Status.OPEN)
    assert IssuedFile.objects.filter(incident=incident, kind=IssuedFile.Kind.INCIDENT_REPORT).exists()

    client.force_login(plan.owner_user)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Power cut at head office" in page and "Recovered: RTO missed" in page and "Recovered: RTO met" in page
    assert "Download the post-incident report" in page
    call_command("seed_demo", stdout=StringIO())  # harmless to run again: still one incident
    assert Incident.objects.count() == 1
