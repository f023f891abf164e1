"""Declaring an incident and activating plans: the version in force is kept, a plan without an approved version
is activated with a visible warning, the rules hold in the services and the pages, and a plan an incident
activated is never deleted."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.urls import reverse

from bcp_site.testing import make_plan, make_user
from plans.attachments import plan_delete
from plans.incidents import incident_declare, incident_plan_activate
from plans.models import Audit, Incident, IncidentActivation, IncidentEvent, Plan
from plans.services import ServiceError

from .exercise_support import approve, save_revision
from .incident_support import activate, approved_crisis_plan, crisis_plan, declared

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)  # rendering is tested elsewhere


def test_an_incident_declared_without_a_plan_is_an_organisation_event(client, org, owner):
    client.force_login(owner)
    page = client.get(reverse("incidents:incident_create"))
    token = page.context["form"]["submission_token"].value()
    response = client.post(reverse("incidents:incident_create"), {
        "title": "  Head office   flooded ", "severity": "critical", "description": "Water in the basement.",
        "plan": "", "submission_token": token,
    })
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert (incident.title, incident.status, incident.declared_by_user, incident.org) == (
        "Head office flooded", Incident.Status.ACTIVE, owner, org)
    row = Audit.objects.get(action="incident_declared")
    assert (row.org, row.plan, row.actor_user) == (org, None, owner)  # the organisation's trail: no plan yet
    assert row.details_json["incident"] == "Head office flooded"
    assert incident.events.get().text == "Incident declared (critical severity)."
    # The same POST again (a double click): one incident.
    again = client.post(reverse("incidents:incident_create"), {
        "title": "Head office flooded", "severity": "critical", "plan": "", "submission_token": token})
    assert again.status_code == 302 and Incident.objects.count() == 1
    # The organisation's audit page lists it in words.
    trail = client.get(reverse("changes:org_audit")).content.decode()
    assert "Incident declared" in trail


def test_activation_keeps_the_version_in_force_after_later_approvals(client, org, owner, reviewer, member):
    plan = approved_crisis_plan(org, owner, reviewer)
    in_force = plan.approved_version
    incident = declared(org, owner, plans=[plan])
    activation = incident.activations.get()
    assert (activation.version, activation.version_approved) == (in_force, True)
    row = Audit.objects.get(action="incident_plan_activated")
    assert (row.plan, row.details_json["version"], row.details_json["approved"]) == (plan, in_force.version_number,
                                                                                     True)

    # A later revision is approved: the activation still names the version that was in force.
    later = save_revision(plan, actor=owner, text="After the flood")
    approve(plan, submitter=owner, approver=reviewer)
    plan.refresh_from_db()
    assert plan.approved_version == later != in_force
    activation.refresh_from_db()
    assert activation.version == in_force
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert f"version {in_force.version_number}" in page and "NOT APPROVED" not in page
    # The database keeps one activation per plan and incident.
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentActivation.objects.create(incident=incident, plan=plan, version=later, version_approved=True,
                                          activated_at_utc=activation.activated_at_utc)


def test_a_plan_never_approved_is_activated_at_its_newest_version_with_a_warning(client, org, owner, member):
    plan = crisis_plan(org, owner)  # versions 1 and 2, never approved
    newest = plan.current_version
    assert plan.approved_version is None and newest.version_number == 2
    incident = declared(org, owner)
    client.force_login(owner)
    response = client.post(reverse("incidents:incident_activate", args=[incident.pk]), {"plan": plan.pk},
                           follow=True)
    page = response.content.decode()
    assert "It has no approved version: its newest version is shown, marked NOT APPROVED." in page
    activation = incident.activations.get()
    assert (activation.version, activation.version_approved) == (newest, False)
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'data-testid="not-approved"' in page and "NOT APPROVED." in page
    assert "version 2, its newest, is shown" in page
    assert "Priya Shah" in page  # the crisis page still shows who to call
    assert "not approved" in incident.events.order_by("id").last().text


def test_activation_rules(org, owner, reviewer, member, outsider, other_org):
    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner)
    with pytest.raises(ServiceError, match="does not allow activating"):
        incident_plan_activate(incident=incident, plan=plan, actor=member)  # a viewer
    activate(incident, plan, owner)
    with pytest.raises(ServiceError, match="already activated"):
        activate(incident, plan, owner)
    theirs = make_plan(other_org, outsider, title="Their plan")
    with pytest.raises(ServiceError):
        activate(incident, theirs, owner)
    with pytest.raises(ServiceError, match="another organisation"):
        incident_plan_activate(incident=incident, plan=theirs, actor=outsider)  # not a member of the incident's
    from reviews.services import plan_archive

    archived = approved_crisis_plan(org, owner, reviewer, title="Old site plan")
    admin = make_user(org, groups=["BCP Admin"])
    plan_archive(plan=archived, actor=admin)
    with pytest.raises(ServiceError, match="archived"):
        activate(incident, archived, owner)
    with pytest.raises(ServiceError, match="does not allow declaring"):
        incident_declare(organisation=org, actor=member, title="Nope", severity="low")
    with pytest.raises(ServiceError, match="another organisation"):
        incident_declare(organisation=org, actor=outsider, title="Nope", severity="low")
    assert IncidentActivation.objects.count() == 1


def test_pages_refuse_what_the_role_does_not_allow(client, org, owner, member, outsider):
    incident = declared(org, owner)
    client.force_login(member)
    assert client.get(reverse("incidents:incident_create")).status_code == 403
    assert client.get(incident.get_absolute_url()).status_code == 200  # every member reads it
    assert client.post(reverse("incidents:incident_activate", args=[incident.pk]), {"plan": 1}).status_code == 403
    client.force_login(outsider)
    assert client.get(incident.get_absolute_url()).status_code == 404
    assert client.get(reverse("incidents:incident_timeline", args=[incident.pk])).status_code == 404
    client.logout()
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_plan_an_incident_activated_cannot_be_deleted_only_archived(client, org, owner, reviewer):
    admin = make_user(org, groups=["BCP Admin"], is_staff=True)
    plan = approved_crisis_plan(org, owner, reviewer)
    spare = make_plan(org, owner, title="Spare plan")
    declared(org, owner, plans=[plan])
    with pytest.raises(ServiceError, match="activated for an incident, so it cannot be deleted") as refused:
        plan_delete(plan=plan, actor=admin)
    assert "Archive it instead" in refused.value.message
    client.force_login(admin)
    url = reverse("admin:plans_plan_delete", args=[plan.pk])
    response = client.get(url, follow=True)
    assert "Nothing was deleted." in response.content.decode() and "activated for an incident" in \
        response.content.decode()
    response = client.post(url, {"post": "yes"}, follow=True)
    assert Plan.objects.filter(pk=plan.pk).exists()
    # The bulk action refuses it too (Django lists the incident's activation as protected); the spare plan goes.
    client.post(reverse("admin:plans_plan_changelist"), {
        "action": "delete_selected", "_selected_action": [plan.pk], "post": "yes"}, follow=True)
    assert Plan.objects.filter(pk=plan.pk).exists()
    plan_delete(plan=spare, actor=admin)
    assert not Plan.objects.filter(pk=spare.pk).exists()
    # Archiving it works.
    from reviews.services import plan_archive

    plan_archive(plan=plan, actor=admin)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.ARCHIVED


def test_the_declarer_needs_the_permission_editors_and_bcp_admins_hold(org):
    codename = Permission.objects.get(codename="add_incident").codename
    groups = {g.name for g in Permission.objects.get(codename=codename).group_set.all()}
    assert groups == {"BCP Editor", "BCP Admin"}
    timeline = {g.name for g in Permission.objects.get(codename="add_incidentevent").group_set.all()}
    assert timeline == {"BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin"}  # not the read-only auditors
    readers = {g.name for g in Permission.objects.get(codename="view_incident").group_set.all()}
    assert readers == {"BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin", "BCP Auditor"}
    stand_down = {g.name for g in Permission.objects.get(codename="stand_down_incident").group_set.all()}
    assert stand_down == {"BCP Admin"}


def test_history_records_the_incident_and_its_activation(org, owner, reviewer):
    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner, plans=[plan])
    assert incident.history.count() == 1 and IncidentActivation.history.count() == 1
    assert IncidentEvent.objects.filter(incident=incident).count() == 2  # declared, activated
