"""The improvement loop: exercise held -> finding -> a revision ticks it -> its approval closes it.

Ticks carry forward to later revisions until a version is approved; an unapproved revision leaves the
finding open; a finding done by hand, or whose risk is accepted, is not carried and not closed again.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from bcp_site.errors import ServiceError
from plans.findings import finding_accept_risk, finding_update, findings_ticked
from plans.models import Audit, Finding

from .exercise_support import (
    approve,
    change_purpose,
    held_exercise,
    raise_finding,
    request_changes,
    save_revision,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding(plan, owner, reviewer):
    """Version 1 approved, exercised, and a finding raised from the exercise."""
    approve(plan, submitter=owner, approver=reviewer)
    exercise = held_exercise(plan, actor=owner)
    return raise_finding(exercise, actor=owner)


def test_the_loop_end_to_end_through_changes_requested(plan, owner, reviewer, finding):
    v2 = save_revision(plan, actor=owner, findings=[finding])
    assert list(findings_ticked(v2)) == [finding]
    request_changes(plan, submitter=owner, reviewer=reviewer)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN  # an unapproved revision leaves it open

    v3 = save_revision(plan, actor=owner)  # no choice made: the tick carries forward
    assert list(findings_ticked(v3)) == [finding]
    approve(plan, submitter=owner, approver=reviewer)

    finding.refresh_from_db()
    assert finding.status == Finding.Status.DONE
    assert finding.closed_by_version_id == v3.pk and finding.closed_at_utc is not None
    closed = Audit.objects.get(plan=plan, action="finding_closed")
    assert closed.details_json["version"] == 3 and closed.details_json["id"] == finding.pk
    assert Audit.objects.get(plan=plan, action="version_created", details_json__version=2).details_json[
        "findings"] == [str(finding)]
    # Closed findings are history: the next revision carries nothing, and the finding stays closed.
    v4 = save_revision(plan, actor=owner)
    assert list(findings_ticked(v4)) == []
    assert finding.history.filter(status=Finding.Status.DONE).exists()


def test_the_save_revision_page_offers_the_open_findings_with_the_carried_ticks(client, plan, owner, reviewer,
                                                                                 finding):
    client.force_login(owner)
    save_revision(plan, actor=owner, findings=[finding])
    request_changes(plan, submitter=owner, reviewer=reviewer)
    change_purpose(plan, actor=owner, text="Offline call tree added.")
    url = reverse("plans:version_create", args=[plan.pk])
    page = client.get(url).content.decode()
    assert "Findings this revision addresses" in page
    assert f'value="{finding.pk}"' in page and "checked" in page.split(f'value="{finding.pk}"')[1].split(">")[0]
    plan.refresh_from_db()
    response = client.post(url, {"note": "Call tree copy", "edit_revision": plan.edit_revision,
                                 "findings": [finding.pk]})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert list(findings_ticked(plan.current_version)) == [finding]
    approve(plan, submitter=owner, approver=reviewer)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.DONE and finding.closed_by_version_id == plan.approved_version_id
    page = client.get(finding.get_absolute_url()).content.decode()
    assert f"version {plan.approved_version.version_number}</a> on" in page  # "Closed by the approval of ..."


def test_unticking_on_a_later_revision_leaves_the_finding_open_after_approval(plan, owner, reviewer, finding):
    save_revision(plan, actor=owner, findings=[finding])
    request_changes(plan, submitter=owner, reviewer=reviewer)
    v3 = save_revision(plan, actor=owner, findings=[])  # the editor unticked it
    assert list(findings_ticked(v3)) == []
    approve(plan, submitter=owner, approver=reviewer)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN and finding.closed_by_version is None


def test_a_finding_done_by_hand_is_not_carried_nor_closed_again(plan, owner, reviewer, finding):
    save_revision(plan, actor=owner, findings=[finding])
    finding_update(finding=finding, actor=owner, description=finding.description, severity=finding.severity,
                   owner=owner, due_on=finding.due_on, status=Finding.Status.DONE)
    v3 = save_revision(plan, actor=owner)
    assert list(findings_ticked(v3)) == []
    approve(plan, submitter=owner, approver=reviewer)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.DONE and finding.closed_by_version is None
    assert not Audit.objects.filter(action="finding_closed").exists()


def test_ticking_a_closed_or_foreign_finding_is_refused(plan, owner, reviewer, finding, org, template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template, title="Warehouse plan")
    approve(other, submitter=owner, approver=reviewer)
    foreign = raise_finding(held_exercise(other, actor=owner), actor=owner)
    with pytest.raises(ServiceError) as refused:
        save_revision(plan, actor=owner, findings=[foreign])
    assert refused.value.code == "finding_closed"
    assert plan.versions.count() == 1  # nothing saved


def test_accepting_a_risk_needs_the_bcp_admin_permission_and_a_reason(plan, owner, bcp_admin, finding):
    with pytest.raises(ServiceError) as refused:
        finding_accept_risk(finding=finding, actor=owner, reason="We live with it")
    assert refused.value.code == "permission_denied"
    with pytest.raises(ServiceError) as refused:
        finding_accept_risk(finding=finding, actor=bcp_admin, reason="  ")
    assert refused.value.code == "reason_required"
    finding_accept_risk(finding=finding, actor=bcp_admin, reason="The supplier fixes it next year.")
    finding.refresh_from_db()
    assert finding.status == Finding.Status.RISK_ACCEPTED and finding.risk_accepted_by_user == bcp_admin
    reason = Audit.objects.get(action="finding_risk_accepted").details_json["reason"]
    assert reason == "The supplier fixes it next year."
    with pytest.raises(ServiceError):  # closed: nothing changes any more
        finding_update(finding=finding, actor=owner, description="x", severity="low", owner=owner,
                       due_on=finding.due_on, status=Finding.Status.OPEN)


def test_accept_risk_page_for_bcp_admins_only(client, plan, owner, bcp_admin, finding):
    url = reverse("exercises:finding_accept_risk", args=[plan.pk, finding.pk])
    client.force_login(owner)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "No"}).status_code == 403
    client.force_login(bcp_admin)
    assert "Why the risk is accepted" in client.get(url).content.decode()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and "Say why the risk is accepted." in response.content.decode()
    response = client.post(url, {"reason": "Too costly for what it protects."})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Risk accepted" in page and "Too costly for what it protects." in page
