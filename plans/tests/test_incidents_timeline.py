"""The timeline is append-only: every member adds entries (auditors read them), and nothing in the product
changes or deletes one: no service, no URL, no admin. Each is proved by enumeration, so a path added later
fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import plans
from bcp_site.testing import make_user
from bcp_site.tests import wall_support as ws
from plans.incidents import incident_event_add
from plans.models import Audit, IncidentEvent
from plans.services import ServiceError

from .incident_support import ago, approved_crisis_plan, declared, snapshot_ref

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


def _entries(incident) -> list[tuple]:
    return list(IncidentEvent.objects.filter(incident=incident).order_by("id")
                .values_list("id", "at_utc", "author_user_id", "kind", "text"))


def test_every_member_adds_entries_with_the_one_line_form(client, org, owner, member):
    incident = declared(org, owner)
    client.force_login(member)  # a viewer
    page = client.get(incident.get_absolute_url())
    form = page.context["event_form"]
    token = form["submission_token"].value()
    data = {"kind": "decision", "text": "Staff work from home today", "submission_token": token}
    response = client.post(reverse("incidents:incident_timeline", args=[incident.pk]), data)
    assert response.status_code == 302 and response["Location"].endswith("#timeline")
    client.post(reverse("incidents:incident_timeline", args=[incident.pk]), data)  # a double tap: once
    event = incident.events.get(kind="decision")
    assert (event.author_user, event.text) == (member, "Staff work from home today")
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Staff work from home today" in page and page.index("Staff work from home today") < page.index(
        "Incident declared")  # newest first
    row = Audit.objects.get(action="incident_event_added")
    assert (row.org, row.plan, row.actor_user, row.details_json["kind"]) == (org, None, member, "decision")


def test_auditors_read_the_timeline_and_add_nothing(client, org, owner):
    incident = declared(org, owner)
    auditor = make_user(org, groups=["BCP Auditor"], is_staff=True)
    client.force_login(auditor)
    page = client.get(incident.get_absolute_url())
    assert page.status_code == 200 and page.context["event_form"] is None
    response = client.post(reverse("incidents:incident_timeline", args=[incident.pk]),
                           {"kind": "update", "text": "Hello"})
    assert response.status_code == 403
    with pytest.raises(ServiceError, match="does not allow"):
        incident_event_add(incident=incident, actor=auditor, kind="update", text="Hello")
    assert incident.events.count() == 1


def test_entries_are_checked(org, owner, member, outsider):
    incident = declared(org, owner)
    with pytest.raises(ServiceError, match="Write what happened"):
        incident_event_add(incident=incident, actor=member, kind="update", text="   ")
    with pytest.raises(ServiceError, match="decision, action, communication or update"):
        incident_event_add(incident=incident, actor=member, kind="rumour", text="Hm")
    with pytest.raises(ServiceError, match="another organisation"):
        incident_event_add(incident=incident, actor=outsider, kind="update", text="Hm")
    with pytest.raises(ServiceError, match="at most 2000"):
        incident_event_add(incident=incident, actor=member, kind="update", text="x" * 2001)


def test_no_service_changes_or_deletes_an_entry(org, owner, reviewer, member, tmp_path):
    """The services: the module offers adding and nothing else; no source file of the project updates or deletes
    an entry; and a whole incident's life (every service, the report) never sends UPDATE or DELETE to the table."""
    from django.db import connection

    from plans import incidents
    from plans.exports.incident_report import incident_report_store
    from plans.findings import incident_finding_raise

    event_functions = [name for name, _ in inspect.getmembers(incidents, inspect.isfunction) if "event" in name]
    assert sorted(event_functions) == ["_event", "incident_event_add"]

    root = Path(plans.__file__).resolve().parent.parent
    pattern = re.compile(r"(IncidentEvent\.(objects|_base_manager)|events)\b[^\n]*\.(update|delete|bulk_update)\(")
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        assert not pattern.search(path.read_text()), f"{path} changes or deletes timeline entries"

    sql: list[str] = []

    def watch(execute, statement, params, many, context):
        sql.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(watch):
        plan = approved_crisis_plan(org, owner, reviewer)
        incident = declared(org, owner, plans=[plan])
        activation = incident.activations.get()
        ref = snapshot_ref(activation.version, "Payroll")
        incidents.incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref,
                                             actor=member, at=ago(minutes=30))
        incidents.incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref,
                                             actor=member)
        incident_event_add(incident=incident, actor=member, kind="communication", text="Customers told")
        incidents.incident_stand_down(incident=incident, actor=owner, note="Back to normal")
        incidents.incident_review_save(incident=incident, actor=owner, summary="Fine.")
        incident_finding_raise(incident=incident, plan=plan, actor=owner, description="Buy pumps", severity="low",
                               owner=owner, due_on=timezone.localdate())
        incidents.incident_close(incident=incident, actor=owner)
        incident_report_store(incident=incident)
    table = IncidentEvent._meta.db_table
    writes = [s for s in sql if re.match(rf'\s*(UPDATE|DELETE FROM)\s+[`"]?{table}\b', s, re.IGNORECASE)]
    assert not writes
    assert any(re.match(rf'\s*INSERT INTO\s+[`"]?{table}\b', s, re.IGNORECASE) for s in sql)
    assert incident.events.count() >= 7


def test_no_change_or_delete_permission_exists():
    assert set(Permission.objects.filter(content_type__model="incidentevent").values_list("codename", flat=True)) \
        == {"add_incidentevent", "view_incidentevent"}
    assert IncidentEvent._meta.default_permissions == ("add", "view")


def test_no_url_takes_an_entry_and_no_page_changes_one(client, org, owner, reviewer):
    """The URL resolver: no pattern names a timeline entry, and POSTing anything to every incident page (as a BCP
    Admin who declared the incident, and as a superuser) leaves every existing entry exactly as it was."""
    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner, plans=[plan])
    incident_event_add(incident=incident, actor=owner, kind="action", text="Generators on")
    before = _entries(incident)
    endpoints = [e for e in ws.endpoints() if not e.is_admin]
    for endpoint in endpoints:
        params = ws.url_params(endpoint)
        assert not any("event" in p for p in params), f"{endpoint.label} takes a timeline entry: {params}"
    incident_urls = [e for e in endpoints if e.name and e.name.startswith("incidents:")
                     and "incident_id" in ws.url_params(e)]
    assert len(incident_urls) >= 8
    admin_user = make_user(org, groups=["BCP Admin"], is_staff=True)
    root = make_user(org, is_staff=True, is_superuser=True)
    for person in (owner, admin_user, root):
        client = Client(raise_request_exception=False)
        client.force_login(person)
        for endpoint in incident_urls:
            url = ws.build_url(endpoint, {"incident_id": incident.pk})
            for data in ({}, {"kind": "update", "text": "HACKED", "id": before[0][0], "event": before[0][0],
                              "delete": "1", "at": "2020-01-01T00:00"}):
                response = client.post(url, data)
                assert response.status_code < 500, f"POST {url}: {response.status_code}"
    after = _entries(incident)
    assert after[:len(before)] == before  # nothing changed, nothing removed (entries may only be added)
    assert all(row[4] == "HACKED" or row[3] == "update" for row in after[len(before):])


def test_no_admin_changes_or_deletes_an_entry(client, org, owner):
    """The admin registry: no registered admin (or inline) lets anyone change or delete an entry, superusers
    included, and its pages refuse a POST."""
    incident = declared(org, owner)
    entry = incident.events.get()
    root = make_user(org, is_staff=True, is_superuser=True)
    request = ws.superuser_request(type("W", (), {"superuser": root})())
    for model, model_admin in admin.site._registry.items():
        inlines = [i for i in model_admin.inlines if i.model is IncidentEvent]
        for inline in inlines:
            instance = inline(model, admin.site)
            assert not instance.has_change_permission(request) and not instance.has_delete_permission(request)
        if model is not IncidentEvent:
            continue
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, entry)
        assert not model_admin.has_delete_permission(request, entry)
        assert not model_admin.get_actions(request), "the timeline admin offers actions"
    client.force_login(root)
    before = _entries(incident)
    change = reverse("admin:plans_incidentevent_change", args=[entry.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(change, {"text": "HACKED", "kind": "update"}).status_code == 403
    assert client.post(reverse("admin:plans_incidentevent_delete", args=[entry.pk]), {"post": "yes"}).status_code \
        == 403
    assert client.post(reverse("admin:plans_incidentevent_changelist"), {
        "action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}).status_code in (200, 302)
    assert _entries(incident) == before


def test_a_closed_incident_takes_no_more_entries(org, owner, member):
    from plans.incidents import incident_close, incident_review_save, incident_stand_down

    incident = declared(org, owner)
    incident_stand_down(incident=incident, actor=owner)
    incident_event_add(incident=incident, actor=member, kind="update", text="Debrief booked")  # stood down: still open
    incident_review_save(incident=incident, actor=owner, summary="Went fine.")
    incident_close(incident=incident, actor=owner)
    with pytest.raises(ServiceError, match="closed, so its timeline is closed"):
        incident_event_add(incident=incident, actor=member, kind="update", text="Too late")
