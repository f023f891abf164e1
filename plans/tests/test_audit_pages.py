"""Audit trail pages (organisation and plan): access, filters, pagination, CSV, query counts."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcp_site.testing import NAVIGATION_COUNTS, make_plan, make_user
from plans.models import Audit
from plans.services import audit_record

pytestmark = pytest.mark.django_db

ORG_URL = reverse("changes:org_audit")


def plan_url(plan) -> str:
    return reverse("changes:plan_audit", args=[plan.pk])


def entry(plan, *, action: str, actor=None, at: datetime, details=None) -> Audit:
    row = audit_record(plan=plan, actor=actor, action=action, details=details or {})
    Audit.objects.filter(pk=row.pk).update(at_utc=at)
    return row


def rows_of(response) -> list[str]:
    """The action column of the audit table, top to bottom."""
    return [e.action for e in response.context["page"].object_list]


@pytest.fixture
def trail(plan, owner, editor, other_org, outsider, template):
    """Audit rows of the plan and of another organisation's plan, at known times (UTC)."""
    Audit.objects.all().delete()  # drop plan_created/version_created rows for exact lists
    foreign = make_plan(other_org, outsider, template=template, title="Foreign plan")
    Audit.objects.filter(plan=foreign).delete()
    entry(plan, action="submitted_for_review", actor=owner, at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    entry(plan, action="plan_approved", actor=editor, at=datetime(2026, 3, 2, 23, 59, tzinfo=UTC))
    entry(plan, action="change_linked", actor=None, at=datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
          details={"guid": "g-1", "summary": "=HYPERLINK(\"http://evil\")"})
    entry(foreign, action="foreign_secret", actor=outsider, at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    return foreign


# --- access -------------------------------------------------------------------------------


def test_viewer_sees_the_organisations_trail_newest_first(client, member, trail):
    client.force_login(member)
    response = client.get(ORG_URL)
    assert response.status_code == 200
    assert rows_of(response) == ["change_linked", "plan_approved", "submitted_for_review"]
    page = response.content.decode()
    assert "foreign_secret" not in page and "Foreign plan" not in page
    assert "Head office plan" in page


def test_plan_trail_shows_only_that_plan(client, member, plan, org, owner, template, trail):
    second = make_plan(org, owner, template=template, title="Second plan")
    client.force_login(member)
    assert rows_of(client.get(plan_url(plan))) == ["change_linked", "plan_approved", "submitted_for_review"]
    assert rows_of(client.get(plan_url(second))) == ["version_created", "plan_created"]


def test_login_required(client, plan):
    for url in (ORG_URL, plan_url(plan), plan_url(plan) + "?format=csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_other_organisations_plan_is_404(client, outsider, plan, trail):
    client.force_login(outsider)
    assert client.get(plan_url(plan)).status_code == 404
    assert client.get(plan_url(plan), {"format": "csv"}).status_code == 404
    # Their own organisation's trail never shows ours.
    response = client.get(ORG_URL)
    assert rows_of(response) == ["foreign_secret"]


def test_without_view_audit_permission_is_403(client, org, plan):
    nobody = make_user(org, username="noperms", groups=[])
    client.force_login(nobody)
    assert client.get(ORG_URL).status_code == 403
    assert client.get(plan_url(plan)).status_code == 403


def test_user_without_organisation_gets_404(client, db):
    loner = make_user(None, username="loner", groups=["BCP Viewer"])
    client.force_login(loner)
    assert client.get(ORG_URL).status_code == 404


def test_audit_rows_have_no_edit_links(client, member, trail):
    client.force_login(member)
    page = client.get(ORG_URL).content.decode()
    assert "/admin/" not in page.split('<main', 1)[1] and "<form method=\"post\"" not in page.split('<main', 1)[1]


# --- filters ------------------------------------------------------------------------------


def test_action_filter_offers_every_action_in_words_without_reading_the_trail(client, member, trail):
    client.force_login(member)
    page = client.get(ORG_URL).content.decode()
    choices = dict(client.get(ORG_URL).context["form"].fields["action"].choices)
    # plans' and reviews' actions, whether or not the trail has one yet; labels in words
    assert choices["submitted_for_review"] == "Submitted for review"
    assert choices["attachment_uploaded"] == "Attachment uploaded"
    assert '<option value="ack_recorded">Acknowledgement recorded</option>' in page

def test_actor_filter_is_a_search_field_not_a_list_of_everyone(client, org, member, trail):
    make_user(org, username="quiet")
    client.force_login(member)
    page = client.get(ORG_URL).content.decode()
    assert '<select name="actor"' not in page and "data-person-search" in page
    assert "Quiet" not in page  # a member who did nothing is not listed anywhere


def test_filter_by_action_and_actor(client, member, owner, editor, trail):
    client.force_login(member)
    assert rows_of(client.get(ORG_URL, {"action": "plan_approved"})) == ["plan_approved"]
    assert rows_of(client.get(ORG_URL, {"actor": "owner"})) == ["submitted_for_review"]
    assert rows_of(client.get(ORG_URL, {"actor": f"#{owner.pk}"})) == ["submitted_for_review"]
    assert rows_of(client.get(ORG_URL, {"actor": "editor2", "action": "submitted_for_review"})) == []


def test_filter_actor_from_another_organisation_is_a_form_error(client, member, outsider, trail):
    client.force_login(member)
    for typed in ("outsider", f"#{outsider.pk}"):
        response = client.get(ORG_URL, {"actor": typed})
        assert "actor" in response.context["form"].errors
        assert "foreign_secret" not in response.content.decode()


def test_date_range_is_inclusive(client, member, trail):
    client.force_login(member)
    assert rows_of(client.get(ORG_URL, {"date_from": "2026-03-02", "date_to": "2026-03-02"})) == ["plan_approved"]
    assert rows_of(client.get(ORG_URL, {"date_from": "2026-03-02"})) == ["change_linked", "plan_approved"]
    assert rows_of(client.get(ORG_URL, {"date_to": "2026-03-01"})) == ["submitted_for_review"]


def test_date_range_from_after_to_shows_errors_next_to_the_fields(client, member, trail):
    client.force_login(member)
    response = client.get(ORG_URL, {"date_from": "2026-03-05", "date_to": "2026-03-01"})
    form = response.context["form"]
    assert form.errors["date_from"] == ["Must be on or before the To date."]
    assert form.errors["date_to"] == ["Must be on or after the From date."]
    page = response.content.decode()
    assert "Must be on or after the From date." in page
    assert rows_of(response) == [] and "Correct the filters above" in page
    bad = client.get(ORG_URL, {"date_from": "yesterday"})
    assert "date_from" in bad.context["form"].errors


def test_pagination_50_per_page_keeps_filters(client, member, plan, trail):
    Audit.objects.bulk_create(
        Audit(plan=plan, org=plan.org, action="section_updated", at_utc=datetime(2026, 4, 1, tzinfo=UTC),
              details_json={"n": i})
        for i in range(120)
    )
    client.force_login(member)
    first = client.get(ORG_URL, {"action": "section_updated"})
    older = first.context["page"].older_cursor
    second = client.get(ORG_URL, {"action": "section_updated", "cursor": older})
    third = client.get(ORG_URL, {"action": "section_updated", "cursor": second.context["page"].older_cursor})
    assert [len(rows_of(r)) for r in (first, second, third)] == [50, 50, 20]
    assert f"?action=section_updated&amp;cursor={older}" in first.content.decode()
    assert "Older" in second.content.decode() and "Older" not in third.content.decode()
    assert "Newer" in third.content.decode()


# --- organisation events (no plan) -------------------------------------------------------


def org_entry(org, *, action: str, actor=None, at: datetime) -> Audit:
    row = audit_record(org=org, actor=actor, action=action, details={"user": "newcomer"})
    Audit.objects.filter(pk=row.pk).update(at_utc=at)
    return row


def test_a_plan_row_records_the_plans_organisation(plan, owner):
    row = audit_record(plan=plan, actor=owner, action="submitted_for_review")
    assert (row.plan_id, row.org_id) == (plan.pk, plan.org_id)
    assert Audit.objects.filter(org=plan.org, plan=plan, action="plan_created").exists()


def test_an_organisation_row_has_no_plan(org, owner):
    row = audit_record(org=org, actor=owner, action="membership_added")
    assert (row.plan_id, row.org_id) == (None, org.pk)
    assert str(row).startswith(f"membership_added on organisation {org.pk} at ")


def test_a_system_wide_row_has_neither(db):
    row = audit_record(actor=None, action="template_global_changed")
    assert (row.plan_id, row.org_id) == (None, None)
    assert str(row).startswith("template_global_changed on system at ")


def test_plan_and_org_of_different_organisations_are_refused(plan, other_org):
    with pytest.raises(ValueError):
        audit_record(plan=plan, org=other_org, actor=None, action="mixed_up")


def test_organisation_row_shows_on_its_organisations_page_only(client, member, outsider, org, other_org, trail):
    org_entry(org, action="membership_added", at=datetime(2026, 3, 4, tzinfo=UTC))
    org_entry(other_org, action="foreign_lockout", at=datetime(2026, 3, 4, tzinfo=UTC))
    client.force_login(member)
    response = client.get(ORG_URL)
    assert rows_of(response) == ["membership_added", "change_linked", "plan_approved", "submitted_for_review"]
    page = response.content.decode()
    assert "Organisation</span>" in page and "foreign_lockout" not in page
    client.force_login(outsider)
    assert rows_of(client.get(ORG_URL)) == ["foreign_lockout", "foreign_secret"]


def test_organisation_row_is_in_its_organisations_csv_only(client, member, outsider, org, trail):
    org_entry(org, action="membership_added", actor=member, at=datetime(2026, 3, 4, tzinfo=UTC))
    client.force_login(member)
    rows = read_csv(client.get(ORG_URL, {"format": "csv"}))
    assert rows[1][:4] == ["2026-03-04T00:00:00Z", "", "membership_added", "Member"]
    assert [r[2] for r in rows[1:]] == ["membership_added", "change_linked", "plan_approved", "submitted_for_review"]
    client.force_login(outsider)
    assert [r[2] for r in read_csv(client.get(ORG_URL, {"format": "csv"}))[1:]] == ["foreign_secret"]


def test_organisation_row_is_not_on_a_plan_page(client, member, org, plan, trail):
    org_entry(org, action="membership_added", at=datetime(2026, 3, 4, tzinfo=UTC))
    client.force_login(member)
    assert "membership_added" not in rows_of(client.get(plan_url(plan)))
    assert [r[2] for r in read_csv(client.get(plan_url(plan), {"format": "csv"}))[1:]] == [
        "change_linked", "plan_approved", "submitted_for_review",
    ]


def test_system_wide_row_is_on_no_organisation_page(client, member, outsider, trail):
    row = audit_record(actor=None, action="template_global_changed")
    Audit.objects.filter(pk=row.pk).update(at_utc=datetime(2026, 3, 5, tzinfo=UTC))
    for user in (member, outsider):
        client.force_login(user)
        assert "template_global_changed" not in rows_of(client.get(ORG_URL))


# --- CSV ----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_of_the_filtered_rows(client, member, plan, trail):
    client.force_login(member)
    response = client.get(ORG_URL, {"format": "csv", "date_from": "2026-03-02"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-ltd-')
    rows = read_csv(response)
    assert rows[0] == ["time", "plan", "action", "actor", "details", "action_in_words", "details_in_words"]
    assert [r[2] for r in rows[1:]] == ["change_linked", "plan_approved"]
    linked, approved = rows[1], rows[2]
    assert linked[0] == "2026-03-03T00:00:00Z" and linked[1] == "Head office plan"
    assert linked[3] == "system"  # the product wrote it (an import), not a person
    assert approved[3] == "Editor2" and approved[5] == "Plan approved"
    assert json.loads(linked[4]) == {"guid": "g-1", "summary": '=HYPERLINK("http://evil")'}


def test_csv_guards_against_formula_injection(client, member, plan, trail):
    entry(plan, action="=cmd|' /C calc'!A0", at=datetime(2026, 5, 1, tzinfo=UTC))
    entry(plan, action="+1", at=datetime(2026, 5, 2, tzinfo=UTC))
    entry(plan, action="-1", at=datetime(2026, 5, 3, tzinfo=UTC))
    entry(plan, action="@SUM(A1)", at=datetime(2026, 5, 4, tzinfo=UTC))
    plan.title = "=evil()"
    plan.save()
    client.force_login(member)
    rows = read_csv(client.get(plan_url(plan), {"format": "csv", "date_from": "2026-05-01"}))
    assert [r[2] for r in rows[1:]] == ["'@SUM(A1)", "'-1", "'+1", "'=cmd|' /C calc'!A0"]
    assert {r[1] for r in rows[1:]} == {"'=evil()"}


def test_plan_csv_is_named_after_the_plan(client, member, plan, trail):
    client.force_login(member)
    response = client.get(plan_url(plan), {"format": "csv"})
    assert f'filename="audit-plan-{plan.pk}-' in response["Content-Disposition"]
    assert len(read_csv(response)) == 4


def test_invalid_filters_give_the_page_not_a_csv(client, member, trail):
    client.force_login(member)
    response = client.get(ORG_URL, {"format": "csv", "date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert response["Content-Type"].startswith("text/html")
    assert "Must be on or after the From date." in response.content.decode()


# --- query counts -------------------------------------------------------------------------


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", ["org", "plan"])
def test_query_count_is_fixed(client, member, plan, org, owner, editor, template, trail, url_name):
    url = ORG_URL if url_name == "org" else plan_url(plan)
    client.force_login(member)
    small = {name: count_queries(client, url, params) for name, params in [
        ("page", {}), ("filtered", {"actor": "owner", "date_from": "2026-01-01"}), ("csv", {"format": "csv"}),
    ]}
    other = make_plan(org, editor, template=template, title="Busy plan")
    for i in range(80):
        audit_record(plan=plan if i % 2 else other, actor=owner if i % 3 else editor, action=f"action_{i % 7}",
                     details={"i": i})
        make_user(org, username=f"staff{i}") if i < 3 else None
    large = {name: count_queries(client, url, params) for name, params in [
        ("page", {}), ("filtered", {"actor": "owner", "date_from": "2026-01-01"}), ("csv", {"format": "csv"}),
    ]}
    assert small == large
    # Page: session, user, then membership + organisation (org page) or the plan (plan page),
    # user and group permissions, the page of rows (no count, no members, no scan for the actions).
    assert small["page"] == (7 if url_name == "org" else 6) + NAVIGATION_COUNTS
    assert small["filtered"] == small["page"] + 1  # the actor typed


def test_audit_reads_as_sentences_on_the_page_and_in_the_csv(client, member, plan, owner, trail):
    entry(plan, action="process_changed", actor=owner, at=datetime(2026, 6, 1, tzinfo=UTC),
          details={"process": "Payroll", "id": 7, "changes": {"rto_minutes": [240, 120], "name": ["Pay", "Payroll"]}})
    client.force_login(member)
    page = client.get(ORG_URL).content.decode()
    assert "Process changed" in page
    assert "RTO of Payroll changed from 4 h to 2 h" in page
    assert "rto_minutes" not in page and "[240, 120]" not in page  # no raw codes or Python values
    rows = read_csv(client.get(ORG_URL, {"format": "csv"}))
    row = next(r for r in rows[1:] if r[2] == "process_changed")
    assert row[5] == "Process changed" and "RTO of Payroll changed from 4 h to 2 h" in row[6]
    assert json.loads(row[4])["changes"]["rto_minutes"] == [240, 120]  # the raw details stay
