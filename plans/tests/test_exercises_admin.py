"""Exercises and findings in the admin: read (exercises), changed only through the services (findings), the risk
accepted with a confirmation page that asks for the reason; nothing added or deleted, history for reading."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from bcp_site.testing import make_user
from plans.models import Audit, Exercise, Finding

from .exercise_support import approve, held_exercise, raise_finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding(plan, owner, reviewer):
    approve(plan, submitter=owner, approver=reviewer)
    return raise_finding(held_exercise(plan, actor=owner), actor=owner)


def test_the_exercise_admin_shows_results_readably_and_changes_nothing(client, finding, bcp_admin):
    exercise = finding.exercise
    client.force_login(bcp_admin)
    url = reverse("admin:plans_exercise_change", args=[exercise.pk])
    page = client.get(url).content.decode()
    assert "Activate the plan" in page and "Met" in page and str(finding) in page
    assert f"Version {exercise.version.version_number}" in page
    assert client.post(url, {"title": "HACKED"}).status_code == 403
    assert client.get(reverse("admin:plans_exercise_add")).status_code == 403
    assert client.post(reverse("admin:plans_exercise_delete", args=[exercise.pk]), {"post": "yes"}).status_code == 403
    assert Exercise.objects.get(pk=exercise.pk).title == exercise.title
    history = reverse("admin:plans_exercise_history", args=[exercise.pk])
    assert client.get(history).status_code == 200


def test_a_finding_changed_in_the_admin_goes_through_the_service(client, finding, bcp_admin, editor, plan):
    client.force_login(bcp_admin)
    url = reverse("admin:plans_finding_change", args=[finding.pk])
    assert "The call tree lives on the file server." in client.get(url).content.decode()
    response = client.post(url, {"description": "Print the call tree", "severity": "critical",
                                 "owner_user": editor.pk, "due_on": finding.due_on.isoformat(),
                                 "status": "in_progress"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.description, finding.severity, finding.owner_user, finding.status) == (
        "Print the call tree", "critical", editor, "in_progress")
    audit = Audit.objects.get(plan=plan, action="finding_changed")
    assert audit.actor_user == bcp_admin and audit.details_json["changes"]["severity"] == ["high", "critical"]
    # An owner from outside the organisation is refused (the picker offers only its people), the input kept.
    stranger = make_user(None, username="stranger")
    response = client.post(url, {"description": "Print it", "severity": "low", "owner_user": stranger.pk,
                                 "due_on": finding.due_on.isoformat(), "status": "open"})
    assert response.status_code == 200 and Finding.objects.get(pk=finding.pk).owner_user == editor
    assert client.get(reverse("admin:plans_finding_add")).status_code == 403
    assert client.post(reverse("admin:plans_finding_delete", args=[finding.pk]), {"post": "yes"}).status_code == 403


def test_accepting_the_risk_asks_for_the_reason_then_records_it(client, finding, bcp_admin):
    client.force_login(bcp_admin)
    changelist = reverse("admin:plans_finding_changelist")
    data = {"action": "accept_risk", ACTION_CHECKBOX_NAME: [finding.pk], "index": "0"}
    page = client.post(changelist, data).content.decode()
    assert "Accept the risk of 1 finding" in page and str(finding) in page
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.OPEN  # nothing done before the reason
    response = client.post(changelist, {**data, "apply": "yes", "reason": ""})
    assert "Say why the risk is accepted." in response.content.decode()
    response = client.post(changelist, {**data, "apply": "yes", "reason": "A second site costs too much"},
                           follow=True)
    assert "risk accepted." in response.content.decode()
    finding.refresh_from_db()
    assert (finding.status, finding.risk_accepted_reason) == (Finding.Status.RISK_ACCEPTED,
                                                              "A second site costs too much")
    # Closed: read-only from now on.
    url = reverse("admin:plans_finding_change", args=[finding.pk])
    assert client.post(url, {"description": "Reopened", "severity": "low", "owner_user": bcp_admin.pk,
                             "due_on": finding.due_on.isoformat(), "status": "open"}).status_code == 403


def test_the_action_is_for_bcp_admins_only(client, finding, reviewer):
    client.force_login(reviewer)  # staff, may read findings, may not accept their risk
    changelist = reverse("admin:plans_finding_changelist")
    page = client.get(changelist).content.decode()
    assert "The call tree lives on the file server." in page and 'value="accept_risk"' not in page
    client.post(changelist, {"action": "accept_risk", ACTION_CHECKBOX_NAME: [finding.pk], "index": "0",
                             "apply": "yes", "reason": "No"})
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.OPEN


def test_the_overdue_filter_lists_open_findings_past_due(client, finding, owner, bcp_admin):
    import datetime as dt

    from django.utils import timezone

    late = raise_finding(finding.exercise, actor=owner, description="Late one",
                         due_on=timezone.localdate() - dt.timedelta(days=2))
    client.force_login(bcp_admin)
    page = client.get(reverse("admin:plans_finding_changelist"), {"due": "overdue"}).content.decode()
    assert str(late) in page and str(finding) not in page
