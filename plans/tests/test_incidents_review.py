"""Stand-down, the post-incident review and its findings (into the exercises' improvement loop), closing, and the
post-incident report: rendered by a worker, issued once, verifiable by the page and the command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bcp_site.tasks_support import run_db_worker
from bcp_site.testing import make_user, pdf_text
from plans.findings import incident_finding_raise
from plans.incidents import (
    incident_close,
    incident_process_disrupted,
    incident_review_save,
    incident_stand_down,
)
from plans.models import Audit, Finding, Incident, IssuedFile
from plans.services import ServiceError

from .exercise_support import approve, save_revision
from .incident_support import ago, approved_crisis_plan, declared, snapshot_ref

pytestmark = pytest.mark.django_db

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


@pytest.fixture
def crisis(org, owner, reviewer):
    plan = approved_crisis_plan(org, owner, reviewer)
    return plan, declared(org, owner, plans=[plan])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_declarer_or_a_bcp_admin_stands_down_and_closes(client, org, owner, editor, crisis):
    _plan, incident = crisis
    admin = make_user(org, groups=["BCP Admin"])
    with pytest.raises(ServiceError, match="Only the person who declared this incident or a BCP Admin"):
        incident_stand_down(incident=incident, actor=editor)  # another editor
    client.force_login(editor)
    assert client.get(reverse("incidents:incident_stand_down", args=[incident.pk])).status_code == 403
    assert "Stand down" not in client.get(incident.get_absolute_url()).content.decode()
    client.force_login(owner)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Stand down…" in page
    response = client.post(reverse("incidents:incident_stand_down", args=[incident.pk]), {"note": "Water pumped out"})
    assert response.status_code == 302 and response["Location"] == reverse("incidents:incident_review",
                                                                           args=[incident.pk])
    incident.refresh_from_db()
    assert (incident.status, incident.stood_down_by_user) == (Incident.Status.STOOD_DOWN, owner)
    assert Audit.objects.get(action="incident_stood_down").org == org
    assert "Water pumped out" in incident.events.order_by("id").last().text
    with pytest.raises(ServiceError, match="Write the post-incident review before closing"):
        incident_close(incident=incident, actor=admin)
    incident_review_save(incident=incident, actor=admin, summary="Pumps were late.")  # a BCP Admin may too
    incident_close(incident=incident, actor=admin)
    incident.refresh_from_db()
    assert (incident.status, incident.closed_by_user) == (Incident.Status.CLOSED, admin)
    with pytest.raises(ServiceError, match="closed, so its review cannot be changed"):
        incident_review_save(incident=incident, actor=owner, summary="Changed later")


def test_a_stood_down_incident_activates_nothing_more_and_records_no_new_disruption(crisis, org, owner, reviewer,
                                                                                    member):
    plan, incident = crisis
    activation = incident.activations.get()
    ref = snapshot_ref(activation.version, "Payroll")
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=ago(minutes=20))
    incident = incident_stand_down(incident=incident, actor=owner)
    assert "1 process not recorded as recovered" in incident.events.order_by("id").last().text
    other = approved_crisis_plan(org, owner, reviewer, title="Warehouse plan")
    from plans.incidents import incident_plan_activate, incident_process_recovered

    with pytest.raises(ServiceError, match="stood down, so no more plans can be activated"):
        incident_plan_activate(incident=incident, plan=other, actor=owner)
    other_ref = snapshot_ref(activation.version, "Customer orders")
    with pytest.raises(ServiceError, match="no new disruption"):
        incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=other_ref,
                                   actor=member)
    incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member)


def test_the_review_raises_findings_into_the_improvement_loop(client, org, owner, reviewer, editor, member, crisis):
    plan, incident = crisis
    incident_stand_down(incident=incident, actor=owner)
    client.force_login(member)
    assert client.get(reverse("incidents:incident_finding_create", args=[incident.pk])).status_code == 403
    client.force_login(editor)  # editors raise findings
    url = reverse("incidents:incident_finding_create", args=[incident.pk])
    token = client.get(url).context["form"]["submission_token"].value()
    due = timezone.localdate() + timezone.timedelta(days=30)
    response = client.post(url, {
        "plan": plan.pk, "description": "Keep pumps on site", "severity": "high", "owner": owner.pk,
        "due_on": due.isoformat(), "submission_token": token,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    finding = Finding.objects.get()
    assert (finding.source_kind, finding.incident, finding.exercise, finding.plan) == (
        Finding.Source.INCIDENT, incident, None, plan)
    audit = Audit.objects.get(action="finding_raised")
    assert (audit.plan, audit.details_json["incident"]) == (plan, incident.title)
    # It is a finding of the plan like an exercise's: on its list, its page names the incident.
    listing = client.get(reverse("exercises:finding_list", args=[plan.pk])).content.decode()
    assert "Keep pumps on site" in listing and incident.title in listing
    detail = client.get(finding.get_absolute_url()).content.decode()
    assert "the review of the incident" in detail and incident.get_absolute_url() in detail
    # Ticked on a revision that is approved, it closes with it.
    version = save_revision(plan, actor=owner, findings=[finding])
    approve(plan, submitter=owner, approver=reviewer)
    finding.refresh_from_db()
    assert (finding.status, finding.closed_by_version) == (Finding.Status.DONE, version)


def test_findings_only_from_a_stood_down_incident_against_a_plan_it_activated(crisis, org, owner, reviewer):
    plan, incident = crisis
    due = timezone.localdate()
    with pytest.raises(ServiceError, match="once the incident is stood down"):
        incident_finding_raise(incident=incident, plan=plan, actor=owner, description="x", severity="low",
                               owner=owner, due_on=due)
    incident_stand_down(incident=incident, actor=owner)
    other = approved_crisis_plan(org, owner, reviewer, title="Not activated")
    with pytest.raises(ServiceError, match="against a plan it activated"):
        incident_finding_raise(incident=incident, plan=other, actor=owner, description="x", severity="low",
                               owner=owner, due_on=due)


def test_a_finding_has_exactly_one_source_in_the_database(crisis, owner):
    plan, incident = crisis
    now = timezone.now()
    base = {"plan": plan, "description": "x", "severity": "low", "owner_user": owner, "due_on": timezone.localdate(),
            "raised_at_utc": now}
    Finding.objects.create(source_kind="incident", incident=incident, **base)
    for wrong in ({"source_kind": "incident"}, {"source_kind": "exercise", "incident": incident}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Finding.objects.create(**wrong, **base)


def test_closing_issues_the_report_through_a_worker_once_and_it_verifies(client, settings, org, owner, member,
                                                                         crisis, django_capture_on_commit_callbacks,
                                                                         tmp_path):
    settings.TASKS = DATABASE
    plan, incident = crisis
    activation = incident.activations.get()
    ref = snapshot_ref(activation.version, "Payroll")
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=ago(minutes=100))
    from plans.incidents import incident_event_add, incident_process_recovered

    incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member)
    incident_event_add(incident=incident, actor=member, kind="communication", text="Customers emailed at noon")
    incident_stand_down(incident=incident, actor=owner)
    incident_review_save(incident=incident, actor=owner, summary="The pumps came late; payroll ran late.")
    incident_finding_raise(incident=incident, plan=plan, actor=owner, description="Contract a pump supplier",
                           severity="high", owner=owner, due_on=timezone.localdate())
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("incidents:incident_close", args=[incident.pk]))
    assert response.status_code == 302
    assert not IssuedFile.objects.filter(incident=incident).exists()  # nobody waits for WeasyPrint
    url = reverse("incidents:incident_report", args=[incident.pk])
    client.force_login(member)
    page = client.get(url)
    assert page.status_code == 202 and "is being prepared" in page.content.decode()
    assert run_db_worker() == 1
    issued = IssuedFile.objects.get(incident=incident)
    assert (issued.kind, issued.marking, issued.plan, issued.version, issued.org) == (
        IssuedFile.Kind.INCIDENT_REPORT, IssuedFile.Marking.FINAL, None, None, org)
    data = body(client.get(url))
    text = pdf_text(data, tmp_path)
    for expected in ("Head office flooded", "Post-incident report", "Head office plan, version 2", "Payroll",
                     "RTO missed", "Customers emailed at noon", "The pumps came late", "Contract a pump supplier"):
        assert expected in text, expected
    assert Audit.objects.filter(action="export_created", org=org, plan=None).exists()

    # The verify page (signed in: the organisation's file; anonymous: named only) and the command.
    upload = SimpleUploadedFile("report.pdf", data, content_type="application/pdf")
    answer = client.post(reverse("files:verify"), {"file": upload}).content.decode()
    assert "post-incident report of the incident" in answer and "Head office flooded" in answer
    client.logout()
    upload = SimpleUploadedFile("report.pdf", data, content_type="application/pdf")
    assert "post-incident report" in client.post(reverse("files:verify"), {"file": upload}).content.decode()
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    out = StringIO()
    call_command("verify_export", str(path), stdout=out)
    assert "post-incident report" in out.getvalue() and f"Organisation: {org.name}" in out.getvalue()
    # Closed: a second render would find it issued; the page offers the download.
    from plans.exports.incident_report import incident_report_store

    assert incident_report_store(incident=incident) == (issued, False)
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Download the post-incident report" in page and issued.sha256 in page
