"""On MariaDB: the list queries use their index for the filter and the order (no filesort, no full scan).

A few thousand plans and audit rows in several organisations, then ANALYZE TABLE, so the
optimiser's choice is the one it makes on real data. Each query is the one the page runs
(the paginator's page query), explained as MariaDB would run it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bcp_site.paging import OLDER, KeysetPaginator
from bcp_site.testing import make_org, make_user
from plans.change_views import audit_rows
from plans.models import Audit, ChangeLogMap, ChangeRecord, Plan
from plans.selectors import plan_list_queryset

# ANALYZE TABLE commits (an implicit commit on MariaDB), so these tests cannot run inside the usual
# rolled-back transaction: the database is flushed after each one, and serialized_rollback keeps
# the data-migration rows (groups) the rest of the suite needs.
pytestmark = [pytest.mark.mysql_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ORGS = 4
PLANS_PER_ORG = 1000
AUDIT_PER_ORG = 1500
PER_PAGE = 25


@pytest.fixture
def world(template):
    orgs = [make_org(f"Explain org {n}") for n in range(ORGS)]
    owners = [make_user(org, username=f"explain-owner-{n}") for n, org in enumerate(orgs)]
    statuses = list(Plan.Status)
    Plan.objects.bulk_create(
        Plan(org=org, title=f"Plan {n}-{i}", status=statuses[i % len(statuses)], template=template, owner_user=owner,
             draft_content_json={})
        for n, (org, owner) in enumerate(zip(orgs, owners, strict=True)) for i in range(PLANS_PER_ORG)
    )
    with connection.cursor() as cursor:  # distinct update times (auto_now gave them all "now")
        cursor.execute("UPDATE bc_plan SET updated_at = TIMESTAMPADD(SECOND, -id, UTC_TIMESTAMP(6))")
    plan_ids = {org.pk: list(Plan.objects.filter(org=org).values_list("id", flat=True)[:50]) for org in orgs}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    Audit.objects.bulk_create(
        Audit(org=org, plan_id=plan_ids[org.pk][i % 50] if i % 3 else None, action=f"action_{i % 9}",
              actor_user=owner, at_utc=start + timedelta(minutes=i), details_json={"i": i})
        for org, owner in zip(orgs, owners, strict=True) for i in range(AUDIT_PER_ORG)
    )
    # Linked changes for a share of the plans, and half the plans flagged as needing review.
    records = ChangeRecord.objects.bulk_create(
        ChangeRecord(guid=str(uuid.uuid4()), occurred_at_utc=start + timedelta(hours=i), change_type="change",
                     summary=f"change {i}", content_hash="0" * 64, imported_at_utc=start) for i in range(400)
    )
    linked = Plan.objects.order_by("id").values_list("id", flat=True)[::5]
    ChangeLogMap.objects.bulk_create(
        ChangeLogMap(plan_id=plan_id, change_guid=records[i % 400].guid, change=records[i % 400],
                     imported_at_utc=start) for i, plan_id in enumerate(linked)
    )
    Plan.objects.filter(id__in=Plan.objects.order_by("id").values_list("id", flat=True)[::2]).update(review_needed=True)
    with connection.cursor() as cursor:
        for table in ("bc_plan", "bc_audit", "bc_membership", "auth_user", "bc_change", "bc_change_log_map"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    return {"orgs": orgs, "owners": owners, "plan_ids": plan_ids}


def explain(queryset) -> list[dict]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        names = [column[0].lower() for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def assert_served_by(queryset, *, table: str, index: str | None) -> None:
    rows = explain(queryset)
    shown = "\n".join(str(row) for row in rows)
    main = [row for row in rows if row["table"] == table]
    assert main, f"{table} is not in the plan:\n{shown}"
    if index is not None:
        assert main[0]["key"] == index, f"{table} should use {index}:\n{shown}"
    for row in rows:
        assert row["type"] != "ALL", f"a full scan:\n{shown}"
        assert "filesort" not in (row["extra"] or "").lower(), f"a filesort:\n{shown}"


def deep_cursor(paginator: KeysetPaginator, queryset, depth: int) -> str:
    """The cursor of the row `depth` rows down the list (as a walk through the pages would reach)."""
    row = queryset.order_by(*("-" + key for key in paginator.keys))[depth]
    return paginator.cursor_for(row, OLDER)


def test_plan_list_first_and_deep_pages_use_the_index(world):
    org, owner = world["orgs"][1], world["owners"][1]
    for filters, index in [
        ({}, "idx_bc_plan_org_updated"),
        ({"status": Plan.Status.APPROVED}, "idx_bc_plan_org_status"),
        ({"owner_id": owner.pk}, None),  # one owner per organisation here: either index serves, no filesort
        ({"review_needed": True}, "idx_bc_plan_org_drift"),
    ]:
        plans = plan_list_queryset(org.pk, **filters)
        paginator = KeysetPaginator(plans, keys=("updated_at", "id"), per_page=PER_PAGE)
        assert_served_by(paginator.page_query(None), table="bc_plan", index=index)
        deep = deep_cursor(paginator, plans, 200)
        assert_served_by(paginator.page_query(deep), table="bc_plan", index=index)
        assert len(paginator.page(deep).object_list) == PER_PAGE


def test_audit_pages_and_their_action_choices_use_the_index(world):
    org = world["orgs"][2]
    for entries, index in [
        (Audit.objects.filter(org=org), "idx_bc_audit_org_at"),
        (Audit.objects.filter(plan_id=world["plan_ids"][org.pk][0]), "idx_bc_audit_plan_at"),
        (Audit.objects.filter(org=org, action="action_4"), "idx_bc_audit_org_action_at"),
        (Audit.objects.filter(org=org, actor_user=world["owners"][2]), None),  # actor: either index serves
    ]:
        rows = audit_rows(entries)
        paginator = KeysetPaginator(rows, keys=("at_utc", "id"), per_page=50)
        assert_served_by(paginator.page_query(None), table="bc_audit", index=index)
        assert_served_by(paginator.page_query(deep_cursor(paginator, rows, 10)), table="bc_audit", index=index)

    actions = Audit.objects.filter(org=org).order_by("action").values_list("action", flat=True).distinct()
    rows = explain(actions)
    shown = "\n".join(str(row) for row in rows)
    assert rows[0]["key"] == "idx_bc_audit_org_action_at", shown
    assert "filesort" not in (rows[0]["extra"] or "").lower() and rows[0]["type"] != "ALL", shown


def test_the_navigation_counts_read_only_what_needs_the_person(world, template):
    """The "needs me" counts (reviews.attention): every plan subquery starts from the owner's indexes."""
    from reviews.attention import attention_counts

    org = world["orgs"][1]
    owner = make_user(org, username="attention-owner")
    # As in life, few plans need their owner: a handful flagged, due or sent back among a thousand.
    Plan.objects.bulk_create(
        Plan(org=org, title=f"Owned {i}", status=Plan.Status.APPROVED if i >= 2 else Plan.Status.DRAFT,
             template=template, owner_user=owner, draft_content_json={}, review_needed=2 <= i < 5,
             changes_requested=i < 2, next_review_due=datetime(2026, 1, 1).date() if 5 <= i < 9 else None)
        for i in range(1000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE bc_plan")
        cursor.fetchall()
    with CaptureQueriesContext(connection) as captured:
        counts = attention_counts(owner)
    assert counts.my_plans == 9
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        names = [column[0].lower() for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    shown = "\n".join(str(row) for row in rows)
    # Subqueries alias their tables (U0, U1 ...): a plan row is one that may use the plan indexes.
    plan_rows = [row for row in rows if "idx_bc_plan_owner" in (row["possible_keys"] or "")]
    assert {row["key"] for row in plan_rows} == {
        "idx_bc_plan_owner_review_due", "idx_bc_plan_owner_drift", "idx_bc_plan_owner_changes",
        "idx_bc_plan_owner_exercise_due"}, shown
    assert all(row["type"] != "ALL" for row in rows), shown


def test_plan_list_review_date_filters_read_only_the_plans_they_list(world):
    """"Review overdue" and "approved, review date ahead" (the KPI dashboard's links): a range of
    idx_bc_plan_org_review_due, so only the plans with such a date are read, then sorted by update."""
    import datetime as dt

    from django.utils import timezone

    from plans.models import PlanVersion
    from plans.selectors import REVIEW_IN_DATE, REVIEW_OVERDUE

    org = world["orgs"][3]
    today = dt.date(2026, 6, 1)
    ids = list(Plan.objects.filter(org=org).order_by("id").values_list("id", flat=True))
    owner = world["owners"][3]
    template = Plan.objects.get(pk=ids[0]).template
    versions = PlanVersion.objects.bulk_create(  # half the plans approved, as in life
        PlanVersion(plan_id=plan_id, version_number=1, template=template, authored_by_user=owner,
                    authored_at_utc=timezone.now(), content_json={}) for plan_id in ids[::2])
    for version in versions:
        Plan.objects.filter(pk=version.plan_id).update(approved_version=version)
    Plan.objects.filter(id__in=ids[:20]).update(next_review_due=today - dt.timedelta(days=3))
    Plan.objects.filter(id__in=ids[20:30]).update(next_review_due=today + dt.timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE bc_plan")
        cursor.fetchall()
    for review in (REVIEW_OVERDUE, REVIEW_IN_DATE):
        plans = plan_list_queryset(org.pk, review=review, today=today)
        paginator = KeysetPaginator(plans, keys=("updated_at", "id"), per_page=PER_PAGE)
        rows = explain(paginator.page_query(None))
        shown = "\n".join(str(row) for row in rows)
        main = [row for row in rows if row["table"] == "bc_plan"]
        assert main and main[0]["key"] == "idx_bc_plan_org_review_due", shown
        assert main[0]["type"] == "range", shown
        assert all(row["type"] != "ALL" for row in rows), shown
