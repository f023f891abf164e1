"""Recovery of the affected critical processes: judged with the exercises' rule against the activated version's
snapshot (never the live processes), at the boundaries, and shown on the activation page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from plans.incidents import incident_process_disrupted, incident_process_recovered
from plans.models import Audit, IncidentRecovery, Process
from plans.recovery import Outcome, minutes_between, recovery_outcome
from plans.services import ServiceError, process_save

from .exercise_support import approve, save_revision
from .incident_support import ago, approved_crisis_plan, declared, snapshot_ref

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


@pytest.fixture
def crisis(org, owner, reviewer):
    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner, plans=[plan])
    return plan, incident, incident.activations.get()


def _recover(incident, activation, name: str, actor, *, minutes: int) -> IncidentRecovery:
    """Disrupted `minutes` ago, recovered now (times are kept to the minute)."""
    ref = snapshot_ref(activation.version, name)
    now = timezone.now()
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=actor,
                               at=now - dt.timedelta(minutes=minutes))
    return incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=actor,
                                      at=now)


def test_the_exercises_rule_is_the_one_rule():
    from plans import exercises

    assert exercises.recovery_outcome is recovery_outcome and exercises.Outcome is Outcome


@pytest.mark.parametrize(("seconds", "minutes"), [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (3600, 60), (3601, 61)])
def test_a_started_minute_counts(seconds, minutes):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert minutes_between(start, start + dt.timedelta(seconds=seconds)) == minutes


# Payroll: RTO 60 min, MTPD 240 min in the activated version.
@pytest.mark.parametrize(("minutes", "outcome", "label"), [
    (60, Outcome.MET, "RTO met"),  # back exactly at the RTO
    (61, Outcome.MISSED, "RTO missed"),
    (240, Outcome.MISSED, "RTO missed"),  # exactly at the MTPD: tolerable, still
    (241, Outcome.BREACHED, "MTPD breached"),
])
def test_achieved_recovery_at_the_boundaries(client, crisis, owner, member, minutes, outcome, label):
    plan, incident, activation = crisis
    row = _recover(incident, activation, "Payroll", member, minutes=minutes)
    audit = Audit.objects.get(action="incident_process_recovered")
    assert (audit.plan, audit.details_json["outcome"]) == (plan, outcome)
    assert audit.details_json["achieved_minutes"] == minutes == minutes_between(row.disrupted_at_utc,
                                                                                 row.recovered_at_utc)
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert f"Recovered: {label}" in page
    assert f"{label}." in incident.events.order_by("id").last().text


def test_a_process_without_objectives_has_none(crisis, member):
    _plan, incident, activation = crisis
    _recover(incident, activation, "Marketing", member, minutes=5000)
    assert Audit.objects.get(action="incident_process_recovered").details_json["outcome"] == Outcome.NO_OBJECTIVE


def test_judged_against_the_activated_version_not_the_live_process(client, crisis, owner, reviewer, member):
    plan, incident, activation = crisis
    payroll = Process.objects.get(plan=plan, name="Payroll")
    # After the activation the plan changes: Payroll's RTO becomes 10 min and MTPD 20 min, approved.
    process_save(plan=plan, actor=owner, expected_revision=None, process_id=payroll.pk,
                 values={"name": "Payroll", "rto_minutes": 10, "mtpd_minutes": 20})
    save_revision(plan, actor=owner)
    approve(plan, submitter=owner, approver=reviewer)
    _recover(incident, activation, "Payroll", member, minutes=60)  # the live MTPD would call this breached
    assert Audit.objects.get(action="incident_process_recovered").details_json["outcome"] == Outcome.MET
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "RTO 1 h · MTPD 4 h" in page and "Recovered: RTO met" in page


def test_a_disrupted_process_shows_how_long_so_far_and_its_deadlines(client, crisis, member):
    _plan, incident, activation = crisis
    ref = snapshot_ref(activation.version, "Payroll")
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=ago(minutes=90))
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Disrupted: RTO passed" in page and "so far" in page and "RTO at" in page and "MTPD at" in page
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=ago(minutes=300))  # the start corrected: now past the MTPD
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Disrupted: MTPD breached" in page
    assert IncidentRecovery.objects.count() == 1


def test_recovery_rules(crisis, member, owner, outsider):
    _plan, incident, activation = crisis
    ref = snapshot_ref(activation.version, "Payroll")
    with pytest.raises(ServiceError, match="disrupted first"):
        incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member)
    with pytest.raises(ServiceError, match="not one of the activated version"):
        incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=999999, actor=member)
    with pytest.raises(ServiceError, match="cannot be in the future"):
        incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                                   at=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(ServiceError, match="another organisation"):
        incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=outsider)
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=ago(minutes=30))
    with pytest.raises(ServiceError, match="cannot recover before its disruption started"):
        incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                                   at=ago(minutes=45))
    incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member)
    with pytest.raises(ServiceError, match="recorded as recovered"):
        incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member)
    # The database refuses a recovery before its disruption, whatever writes it.
    row = IncidentRecovery.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRecovery.objects.filter(pk=row.pk).update(recovered_at_utc=row.disrupted_at_utc - dt.timedelta(1))


def test_the_page_records_disruption_and_recovery(client, crisis, member, outsider):
    _plan, incident, activation = crisis
    ref = snapshot_ref(activation.version, "Customer orders")
    url = reverse("incidents:incident_recovery", args=[incident.pk])
    client.force_login(member)
    response = client.post(url, {"activation": activation.pk, "process": ref, "action": "disrupted", "at": ""})
    assert response.status_code == 302 and response["Location"].endswith(f"#process-{activation.pk}-{ref}")
    row = IncidentRecovery.objects.get()
    assert row.recovered_at_utc is None and timezone.now() - row.disrupted_at_utc < dt.timedelta(minutes=2)
    assert row.disrupted_at_utc.second == 0  # kept to the minute, as people give times
    local = timezone.localtime(row.disrupted_at_utc + dt.timedelta(minutes=20))
    if local > timezone.localtime():
        local = timezone.localtime()
    client.post(url, {"activation": activation.pk, "process": ref, "action": "recovered",
                      "at": local.strftime("%Y-%m-%dT%H:%M")})
    row.refresh_from_db()
    assert row.recovered_at_utc is not None
    bad = client.post(url, {"activation": activation.pk, "process": ref, "action": "recovered", "at": "yesterday"},
                      follow=True)
    assert "Nothing was recorded" in bad.content.decode()
    client.force_login(outsider)
    assert client.post(url, {"activation": activation.pk, "process": ref, "action": "disrupted"}).status_code == 404
