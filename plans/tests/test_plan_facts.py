"""Stored plan facts (template roles, decision 5) and drift that people notice (banner, filter, digest)."""

from __future__ import annotations

import datetime as dt
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan
from plans.changes import changes_import
from plans.models import Notification, Plan, PlanVersion
from plans.outbox import outbox_deliver
from plans.plan_facts import add_months, plan_facts_approved
from plans.tests.test_changes_import import change_doc
from templates_app.models import Template
from templates_app.schema import TemplateSchemaError, validate_template_schema

pytestmark = pytest.mark.django_db

SECTIONS = [
    {"key": "upkeep", "title": "Upkeep", "fields": [
        {"key": "review_on", "label": "Review on", "type": "date"},
        {"key": "cadence", "label": "Cadence", "type": "select",
         "choices": [{"value": "quarterly", "label": "Quarterly"}, {"value": "annually", "label": "Annually"}]},
        {"key": "drill_months", "label": "Drill every (months)", "type": "integer"},
        {"key": "notes", "label": "Notes", "type": "text"},
        {"key": "mood", "label": "Mood", "type": "select", "choices": ["calm", "busy"]},
    ]},
    {"key": "respond", "title": "Respond", "fields": [
        {"key": "callers", "label": "Callers", "type": "table",
         "columns": [{"key": "who", "label": "Who", "type": "contact"}]},
    ]},
]
ROLES = {"next_review_date": "upkeep.review_on", "review_interval": "upkeep.cadence",
         "exercise_interval": "upkeep.drill_months", "incident_response": "respond", "key_contacts": "respond.callers"}


def test_roles_are_checked_with_the_path_of_each_mistake():
    validate_template_schema({"sections": SECTIONS, "roles": ROLES})  # a good declaration passes
    with pytest.raises(TemplateSchemaError) as caught:
        validate_template_schema({"sections": SECTIONS, "roles": {
            "next_review_date": "upkeep.notes", "review_interval": "upkeep.mood", "exercise_interval": "upkeep.gone",
            "incident_response": "nowhere", "key_contacts": "elsewhere.who",
        }})
    errors = caught.value.errors
    assert "roles.next_review_date: 'upkeep.notes' is a 'text' field; this role needs 'date'" in errors
    assert any(e.startswith("roles.review_interval: choice 'calm' of 'upkeep.mood' is not an interval") for e in errors)
    assert "roles.exercise_interval: 'upkeep.gone' names no field of section 'upkeep'" in errors
    assert "roles.incident_response: 'nowhere' names no section of this template" in errors
    assert "roles.key_contacts: 'elsewhere.who' names no section of this template" in errors
    with pytest.raises(TemplateSchemaError) as caught:
        validate_template_schema({"sections": SECTIONS, "roles": {"favourite_colour": "upkeep.notes"}})
    assert "favourite_colour" in str(caught.value)


def _approved(plan: Plan, content: dict, *, approved_on: dt.date) -> Plan:
    """Approve the plan's version 1 holding `content`, as the approval service records it."""
    version = plan.current_version
    PlanVersion.objects.filter(pk=version.pk).update(content_json={**version.content_json, **content})
    version.refresh_from_db()
    plan.status, plan.approved_version = Plan.Status.APPROVED, version
    plan.approved_at_utc = datetime.combine(approved_on, dt.time(9), tzinfo=UTC)
    plan.save(update_fields=["status", "approved_version", "approved_at_utc", *plan_facts_approved(plan, version)])
    return plan


@pytest.mark.parametrize("content, due, review_months, exercise_months", [
    ({"upkeep": {"review_on": "2026-09-01", "cadence": "quarterly", "drill_months": 6}}, "2026-09-01", 3, 6),
    ({"upkeep": {"review_on": "2026-01-01", "cadence": "quarterly"}}, "2026-06-15", 3, None),  # date already met
    ({"upkeep": {"cadence": "annually"}}, "2027-03-15", 12, None),
    ({"upkeep": {}}, "2027-03-15", None, None),  # no interval: 12 months
])
def test_approval_copies_the_roles_values_to_the_plan(org, owner, content, due, review_months, exercise_months):
    template = Template.objects.create(name="Roles", version=1, schema_json={"sections": SECTIONS, "roles": ROLES})
    plan = _approved(make_plan(org, owner, template=template), content, approved_on=dt.date(2026, 3, 15))
    plan.refresh_from_db()
    assert plan.next_review_due == dt.date.fromisoformat(due)
    assert (plan.review_interval_months, plan.exercise_interval_months) == (review_months, exercise_months)


def test_the_shipped_template_marks_its_roles_and_the_approval_service_fills_the_facts(
    org, owner, reviewer, django_capture_on_commit_callbacks
):
    from reviews import services

    template = Template.objects.get(is_default=True)
    plan = make_plan(org, owner, template=template, title="Shipped template plan")
    content = dict(plan.draft_content_json)
    content["maintenance"] = {**content["maintenance"], "review_cadence": "six_monthly",
                              "next_review": (timezone.localdate() - timedelta(days=1)).isoformat()}
    content["testing"] = {**content["testing"], "exercise_frequency": "quarterly"}
    plan.draft_content_json = content
    plan.save(update_fields=["draft_content_json"])
    PlanVersion.objects.filter(pk=plan.current_version_id).update(content_json={
        **plan.current_version.content_json, "maintenance": content["maintenance"], "testing": content["testing"]})
    with django_capture_on_commit_callbacks(execute=False):
        (review,) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        services.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()
    # The review date lies before the approval, so the interval counts from the approval.
    assert plan.next_review_due == add_months(timezone.localdate(), 6)
    assert (plan.review_interval_months, plan.exercise_interval_months) == (6, 3)


def test_add_months_keeps_to_the_end_of_short_months():
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)


# --- drift -----------------------------------------------------------------------------------

APPROVED_ON = dt.date(2026, 6, 1)


def _import(*docs):
    report = changes_import(files=[(f"{d['guid']}.json", json.dumps(d).encode()) for d in docs])
    assert report.ok, report.errors
    return report


def _at(days: int) -> str:
    return (datetime.combine(APPROVED_ON, dt.time(9), tzinfo=UTC) + timedelta(days=days)).isoformat()


def test_changes_after_approval_flag_the_plan_and_send_one_digest_per_plan_per_import(
    org, owner, member, smtp_server, template
):
    drifting = _approved(make_plan(org, owner, template=template, title="Drifting plan"), {}, approved_on=APPROVED_ON)
    steady = _approved(make_plan(org, owner, template=template, title="Steady plan"), {}, approved_on=APPROVED_ON)
    draft = make_plan(org, owner, template=template, title="Never approved")

    _import(
        change_doc(occurred_at=_at(3), summary="Core switch replaced", plans=[drifting.pk, draft.pk]),
        change_doc(occurred_at=_at(4), summary="Payroll moved to SaaS", plans=[drifting.pk]),
        change_doc(occurred_at=_at(-2), summary="Old printer retired", plans=[steady.pk]),  # before the approval
    )
    flags = dict(Plan.objects.values_list("title", "review_needed"))
    assert flags == {"Drifting plan": True, "Steady plan": False, "Never approved": False}
    digests = Notification.objects.filter(kind=Notification.Kind.DRIFT)
    assert list(digests.values_list("plan__title", "recipient_user")) == [("Drifting plan", owner.pk)]

    outbox_deliver()
    (mail,) = smtp_server.to(owner.email)
    body = smtp_server.text(mail)
    assert mail["Subject"] == "Review needed: Drifting plan (2 changes since its approval)"
    assert "Core switch replaced" in body and "Payroll moved to SaaS" in body and "Old printer retired" not in body
    assert f"{reverse('changes:plan_changes', args=[drifting.pk])}" in body

    _import(change_doc(occurred_at=_at(5), summary="DNS provider changed", plans=[drifting.pk]))
    assert digests.count() == 2  # a second run, a second digest
    _import(change_doc(occurred_at=_at(-5), summary="Before approval", plans=[drifting.pk]))
    assert digests.count() == 2  # nothing new after the approval: no digest


def test_the_plan_page_shows_the_banner_and_the_list_filters_by_it(client, org, owner, template):
    drifting = _approved(make_plan(org, owner, template=template, title="Drifting plan"), {}, approved_on=APPROVED_ON)
    _approved(make_plan(org, owner, template=template, title="Steady plan"), {}, approved_on=APPROVED_ON)
    _import(change_doc(occurred_at=_at(3), summary="Core switch replaced", plans=[drifting.pk]))
    client.force_login(owner)

    page = client.get(drifting.get_absolute_url()).content.decode()
    banner = page[page.index('data-testid="drift-banner"'):]
    assert page.index('data-testid="drift-banner"') < page.index('id="section-')  # at the top, before the content
    assert "Review needed." in banner and "Core switch replaced" in banner[:banner.index("</div>")]

    listed = client.get(reverse("plans:plan_list"), {"review_needed": "on"}).content.decode()
    assert "Drifting plan" in listed and "Steady plan" not in listed
    everything = client.get(reverse("plans:plan_list")).content.decode()
    assert "Drifting plan" in everything and "Steady plan" in everything

    steady_page = client.get(Plan.objects.get(title="Steady plan").get_absolute_url()).content.decode()
    assert 'data-testid="drift-banner"' not in steady_page
