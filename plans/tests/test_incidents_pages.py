"""The incident pages: the activation page costs a fixed number of queries whatever the data's size (plans
activated, contacts, processes, recoveries, timeline), works without JavaScript (its refresh script is a static
file), and the list shows active incidents first."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.incidents import incident_event_add, incident_process_disrupted, incident_stand_down
from plans.models import IncidentEvent

from .incident_support import ago, approved_crisis_plan, declared, snapshot_ref

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


def _incident(org, owner, reviewer, member, *, plans: int, extra: int, events: int):
    activated = [approved_crisis_plan(org, owner, reviewer, title=f"Plan {i}", extra=extra) for i in range(plans)]
    incident = declared(org, owner, plans=activated)
    for activation in incident.activations.select_related("version"):
        for process in activation.version.content_json["processes"][: max(2, extra // 2)]:
            incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=process["id"],
                                       actor=member, at=ago(minutes=45))
    now = timezone.now()
    IncidentEvent.objects.bulk_create(IncidentEvent(incident=incident, at_utc=now, author_user=member, kind="update",
                                                    text=f"Entry {i}") for i in range(events))
    return incident


ACTIVATION_PAGE_QUERIES = (
    1    # session
    + 1  # user
    + 1  # the incident within the user's organisation (+ the people it names)
    + 1  # the activations (+ plan, version with its snapshot, template, who activated)
    + 1  # the templates' section rows (prefetched for every activation at once)
    + 1  # the recovery rows of every activation
    + 1  # the people the versions name (one query for all of them)
    + 1  # the newest timeline entries (+ authors), one more than shown
    + 2  # permissions of the user (cached for the request)
    + 1  # the plans that can still be activated (the form's choices)
    + 1  # the navigation's counts
)


def test_the_activation_page_costs_the_same_at_any_size(client, org, owner, reviewer, django_assert_num_queries):
    """One test, small and large data: the same number of queries."""
    member = make_user(org, groups=["BCP Viewer"])
    small = _incident(org, owner, reviewer, member, plans=1, extra=0, events=2)
    large = _incident(org, owner, reviewer, member, plans=3, extra=60, events=300)
    client.force_login(owner)
    for incident, marker in ((small, "Plan 0"), (large, "Process 59")):
        with django_assert_num_queries(ACTIVATION_PAGE_QUERIES):
            response = client.get(incident.get_absolute_url())
        page = response.content.decode()
        assert response.status_code == 200 and marker in page
    assert page.count('data-testid="process"') == 3 * (4 + 60)  # every process of the three plans
    assert "The whole timeline" in page  # the newest entries, and a link to the rest


def test_the_page_works_without_javascript_and_refreshes_itself_with_it(client, org, owner, member):
    incident = declared(org, owner)
    client.force_login(member)
    response = client.get(incident.get_absolute_url())
    page = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert f'<a href="{incident.get_absolute_url()}">Refresh</a>' in page  # reload by hand without JavaScript
    assert 'id="auto-refresh" data-seconds="30"' in page
    assert '<script src="/static/js/incident-refresh.js" defer></script>' in page
    assert "<script>" not in page and " onclick=" not in page  # the CSP forbids inline scripts
    assert client.get("/static/js/incident-refresh.js").status_code in (200, 404)  # served by WhiteNoise/staticfiles
    # Every form of the page is a plain POST form.
    assert f'action="{reverse("incidents:incident_timeline", args=[incident.pk])}"' in page


def test_the_timeline_page_pages_the_whole_timeline(client, org, owner, member):
    incident = declared(org, owner)
    for i in range(130):
        incident_event_add(incident=incident, actor=member, kind="update", text=f"Entry {i}")
    client.force_login(member)
    page = client.get(reverse("incidents:incident_timeline", args=[incident.pk]))
    text = page.content.decode()
    assert "Entry 129" in text and "Entry 20" not in text and "Older" in text
    older = page.context["page"].older_cursor
    text = client.get(reverse("incidents:incident_timeline", args=[incident.pk]), {"cursor": older}).content.decode()
    assert "Entry 20" in text and "Incident declared" in text


def test_the_list_shows_active_incidents_first(client, org, owner, member, outsider, other_org):
    over = declared(org, owner, title="Power cut last week")
    incident_stand_down(incident=over, actor=owner)
    active = declared(org, owner, title="Head office flooded")
    declared(other_org, make_user(other_org, groups=["BCP Editor"]), title="Their incident")
    client.force_login(member)
    response = client.get(reverse("incidents:incident_list"))
    page = response.content.decode()
    block = page[page.index('data-testid="active-incidents"'):page.index('id="h-all"')]
    assert active.title in block and over.title not in block
    assert over.title in page and "Their incident" not in page
    assert "Declare an incident" not in page  # a viewer cannot
    client.force_login(owner)
    assert "Declare an incident" in client.get(reverse("incidents:incident_list")).content.decode()
    assert "Incidents" in client.get(reverse("plans:plan_list")).content.decode()  # in the navigation


def test_a_process_row_shows_its_state_and_the_forms_the_person_may_use(client, org, owner, reviewer, member):
    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner, plans=[plan])
    activation = incident.activations.get()
    incident_process_disrupted(incident=incident, activation_id=activation.pk, actor=member, at=ago(minutes=10),
                               process_ref=snapshot_ref(activation.version, "Payroll"))
    client.force_login(member)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert page.count(">Mark recovered</button>") == 1 and page.count(">Mark disrupted</button>") == 3
    auditor = make_user(org, groups=["BCP Auditor"], is_staff=True)
    client.force_login(auditor)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Mark recovered" not in page and "Mark disrupted" not in page and "Disrupted: Within RTO so far" in page
