"""Lists that cost the same at any size: keyset pages, no counts, no list of everyone.

Each query-count test measures a page with small data, grows the data (plans, rows and people)
and measures again in the same test: the number of queries must not change, and no page may
grow with the number of people in the organisation.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bcp_site.paging import KeysetPaginator
from bcp_site.testing import NAVIGATION_COUNTS, make_plan, make_user
from plans.models import Audit, ChangeLogMap, ChangeRecord, Membership, Plan, PlanVersion
from plans.services import audit_record

pytestmark = pytest.mark.django_db

PLAN_LIST = reverse("plans:plan_list")
ORG_AUDIT = reverse("changes:org_audit")


def add_people(org, n: int, *, prefix: str = "person") -> None:
    """n active members of `org`, in two bulk inserts."""
    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"{prefix}{i:04d}", first_name="Colleague", last_name=f"Number {i:04d}",
             email=f"{prefix}{i:04d}@example.org") for i in range(n)
    )
    Membership.objects.bulk_create(
        Membership(user=user, organisation=org) for user in User.objects.filter(username__startswith=prefix)
    )


def add_plans(org, owner, template, n: int, *, prefix: str = "Bulk plan") -> list[Plan]:
    """n plans, oldest first (one insert: the list reads only the plan rows)."""
    return Plan.objects.bulk_create(
        Plan(org=org, owner_user=owner, template=template, title=f"{prefix} {i:03d}") for i in range(n)
    )


def measure(client, url, params=None) -> tuple[int, int, str]:
    """(queries, bytes of the page, the page's text) of one GET."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries), len(response.content), response.content.decode()


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# --- the plan list --------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"status": "draft"}, {"owner": "owner"}, {"q": "plan"}])
def test_plan_list_costs_the_same_with_3_plans_and_2_people_as_with_60_plans_and_200_people(
        client, org, owner, member, template, params):
    add_plans(org, owner, template, 3)
    client.force_login(owner)
    small_queries, small_size, _ = measure(client, PLAN_LIST, params)

    add_people(org, 200)
    queries, size, page = measure(client, PLAN_LIST, params)
    assert (queries, size) == (small_queries, small_size), "the page grew with the number of people"
    assert "Number 0199" not in page and "person0199" not in page

    add_plans(org, owner, template, 57)
    queries, _, page = measure(client, PLAN_LIST, params)
    assert queries == small_queries
    assert len(re.findall(r'<a href="/plans/[0-9]+/"', page)) == 25 and "Older" in page  # one link per plan shown
    # session, user, membership, one page of plans, their owners, two permission lookups (+ the owner typed)
    assert queries == 7 + NAVIGATION_COUNTS + (1 if "owner" in params else 0)


def test_plan_list_deep_pages_cost_what_the_first_page_costs(client, org, owner, template):
    add_plans(org, owner, template, 60)
    client.force_login(owner)
    first_queries, _, _ = measure(client, PLAN_LIST)
    cursor = client.get(PLAN_LIST).context["page"].older_cursor
    deeper = client.get(PLAN_LIST, {"cursor": cursor}).context["page"].older_cursor
    queries, _, page = measure(client, PLAN_LIST, {"cursor": deeper})
    assert queries == first_queries
    assert "Bulk plan 000" in page and "Bulk plan 010" not in page


def test_owner_filter_and_plan_create_owner_are_search_fields(client, org, owner, editor, template):
    add_people(org, 30)
    client.force_login(owner)
    for url in (PLAN_LIST, reverse("plans:plan_create")):
        page = client.get(url).content.decode()
        assert '<select name="owner"' not in page and "data-person-search" in page
        assert "Colleague" not in page and "Editor2" not in page


def test_an_ambiguous_owner_lists_the_candidates_and_shows_no_plans(client, org, owner, template):
    add_people(org, 30)
    add_plans(org, owner, template, 2)
    client.force_login(owner)
    page = client.get(PLAN_LIST, {"owner": "colleague"}).content.decode()
    assert "Several people match “colleague”" in page and "Colleague Number 0000 (person0000)" in page
    assert "Bulk plan" not in page and "No plans match these filters." in page
    nobody = client.get(PLAN_LIST, {"owner": "zz-nobody"}).content.decode()
    assert "Nobody in your organisation matches “zz-nobody”." in nobody and "Bulk plan" not in nobody


def test_plan_create_page_does_not_grow_with_the_organisation(client, org, owner, template):
    client.force_login(owner)
    small_queries, small_size, _ = measure(client, reverse("plans:plan_create"))
    add_people(org, 200)
    queries, size, _ = measure(client, reverse("plans:plan_create"))
    assert queries == small_queries
    assert abs(size - small_size) <= 2  # only the form's one-time token differs (same length, escaping aside)


# --- keyset walks -------------------------------------------------------------------------


def walk(client, url, params=None, *, between_pages=None) -> list[list[str]]:
    """Follow "Older" from the first page to the last; the titles shown on each page."""
    pages, cursor = [], None
    while True:
        response = client.get(url, {**(params or {}), **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.context["page"]
        pages.append([plan.title for plan in page.object_list])
        if between_pages:
            between_pages(len(pages), page)
        cursor = page.older_cursor
        if cursor is None:
            return pages
        assert len(pages) < 20, "the walk does not end"


def edit(plan: Plan) -> None:
    plan.refresh_from_db()
    plan.title = plan.title  # any save moves the plan to the top (updated_at)
    plan.save()


def test_a_walk_while_plans_are_edited_shows_each_plan_exactly_once(client, org, owner, template):
    plans = add_plans(org, owner, template, 60)
    client.force_login(owner)

    def edit_what_was_seen(number, page):
        # Someone edits a plan just shown, and one from the first page: both move to the top.
        edit(page.object_list[3])
        edit(Plan.objects.get(title=seen_first[0]))

    first = client.get(PLAN_LIST).context["page"]
    seen_first = [p.title for p in first.object_list]
    pages = walk(client, PLAN_LIST, between_pages=edit_what_was_seen)
    shown = [title for page in pages for title in page]
    assert sorted(shown) == sorted(p.title for p in plans)  # each plan exactly once
    assert [len(page) for page in pages] == [25, 25, 10]


def test_a_plan_edited_before_it_is_reached_moves_to_the_top_and_is_not_shown_twice(client, org, owner, template):
    plans = add_plans(org, owner, template, 60)
    client.force_login(owner)
    oldest = plans[0]

    def edit_ahead(number, page):
        if number == 1:
            edit(oldest)  # not shown yet: it moves before the cursor

    shown = [title for page in walk(client, PLAN_LIST, between_pages=edit_ahead) for title in page]
    assert len(shown) == len(set(shown)) == 59 and oldest.title not in shown
    assert client.get(PLAN_LIST).context["page"].object_list[0] == oldest  # at the top of a fresh list


def test_newer_walks_back_to_the_first_page(client, org, owner, template):
    add_plans(org, owner, template, 60)
    client.force_login(owner)
    older = walk(client, PLAN_LIST)
    last = client.get(PLAN_LIST).context["page"]
    for _ in range(2):
        last = client.get(PLAN_LIST, {"cursor": last.older_cursor}).context["page"]
    assert [p.title for p in last.object_list] == older[2] and last.newer_cursor and not last.older_cursor
    back = client.get(PLAN_LIST, {"cursor": last.newer_cursor}).context["page"]
    assert [p.title for p in back.object_list] == older[1]
    top = client.get(PLAN_LIST, {"cursor": back.newer_cursor}).context["page"]
    assert [p.title for p in top.object_list] == older[0] and top.is_first and top.newer_cursor is None


def test_newer_from_near_the_top_shows_a_full_first_page(client, org, owner, template):
    plans = add_plans(org, owner, template, 30)
    client.force_login(owner)
    newest = [p.title for p in client.get(PLAN_LIST).context["page"].object_list]
    paginator = KeysetPaginator(Plan.objects.filter(org=org), keys=("updated_at", "id"), per_page=25)
    near_top = paginator.cursor_for(Plan.objects.get(pk=plans[-3].pk), "n")  # only two plans are newer
    page = client.get(PLAN_LIST, {"cursor": near_top}).context["page"]
    assert [p.title for p in page.object_list] == newest and page.is_first


BAD_CURSORS = [
    "garbage", "!!!", "%%%", "o", "=" * 10, "é", "x" * 5000,
    cursor_of("x:1:2"), cursor_of("o:abc:1"), cursor_of("o:1:2:3"), cursor_of("o::1"), cursor_of("o:"),
    cursor_of("o:99999999999999999999:1"), cursor_of("o:1:9223372036854775808"),
    cursor_of("o:-99999999999999999:1"), cursor_of("n:1:-9223372036854775808"), cursor_of("o:1.5:2"),
    cursor_of("o:١٢:3"), base64.urlsafe_b64encode("o:1:2".encode("utf-16")).decode(),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_answers_the_first_page(client, org, member, plan, cursor):
    Audit.objects.bulk_create(
        Audit(org=org, plan=plan, action="section_updated", at_utc=timezone.now()) for _ in range(3)
    )
    client.force_login(member)
    urls = [PLAN_LIST, ORG_AUDIT, reverse("changes:plan_audit", args=[plan.pk]),
            reverse("changes:plan_changes", args=[plan.pk]), reverse("plans:version_list", args=[plan.pk])]
    for url in urls:
        response = client.get(url, {"cursor": cursor})
        assert response.status_code == 200, url
        assert response.context["page"].is_first, url


# --- audit, versions and linked changes ---------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"action": "section_updated"}, {"actor": "owner"}, {"date_from": "2026-01-01"}])
def test_org_audit_costs_the_same_at_any_size(client, org, owner, bcp_admin, plan, params):
    audit_record(plan=plan, actor=owner, action="section_updated")
    client.force_login(bcp_admin)
    small_queries, small_size, _ = measure(client, ORG_AUDIT, params)
    add_people(org, 200)
    queries, size, _ = measure(client, ORG_AUDIT, params)
    assert (queries, size) == (small_queries, small_size), "the page grew with the number of people"

    start = datetime(2026, 2, 1, tzinfo=UTC)
    Audit.objects.bulk_create(
        Audit(org=org, plan=plan if i % 2 else None, action="section_updated", actor_user=owner,
              at_utc=start + timedelta(minutes=i), details_json={"i": i}) for i in range(300)
    )
    queries, _, page = measure(client, ORG_AUDIT, params)
    assert queries == small_queries and "Older" in page
    cursor = client.get(ORG_AUDIT, params).context["page"].older_cursor
    assert measure(client, ORG_AUDIT, {**params, "cursor": cursor})[0] == small_queries


def test_audit_walk_shows_each_entry_once_while_entries_are_added(client, org, bcp_admin, plan):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    same_time = [Audit(org=org, action="login_unlocked", at_utc=start, details_json={"n": i}) for i in range(70)]
    Audit.objects.bulk_create(same_time)  # equal times: the id orders them
    client.force_login(bcp_admin)
    seen, cursor = [], None
    while True:
        params = {"action": "login_unlocked", **({"cursor": cursor} if cursor else {})}
        page = client.get(ORG_AUDIT, params).context["page"]
        seen += [entry.details_json["n"] for entry in page.object_list]
        audit_record(org=org, actor=None, action="login_unlocked", details={"n": "new"})  # newer rows arrive meanwhile
        cursor = page.older_cursor
        if cursor is None:
            break
    assert sorted(seen) == list(range(70))


def test_version_list_pages_by_version_number_at_constant_cost(client, plan, owner, template):
    client.force_login(owner)
    url = reverse("plans:version_list", args=[plan.pk])
    small_queries, _, _ = measure(client, url)
    PlanVersion.objects.bulk_create(
        PlanVersion(plan=plan, version_number=n, status=PlanVersion.Status.SUPERSEDED, template=template,
                    authored_by_user=owner, authored_at_utc=timezone.now(), summary_change_note=f"note {n}")
        for n in range(2, 61)
    )
    queries, _, page = measure(client, url)
    assert queries == small_queries
    assert "note 60" in page and "note 36" in page and "note 35" not in page
    assert 'max="60" value="60"' in page and 'value="59"' in page  # the compare form's defaults
    cursor = client.get(url).context["page"].older_cursor
    second = client.get(url, {"cursor": cursor}).content.decode()
    assert "note 35" in second and "note 11" in second and "note 36" not in second and "note 10" not in second


def test_linked_changes_page_costs_the_same_at_any_size(client, plan, member):
    client.force_login(member)
    url = reverse("changes:plan_changes", args=[plan.pk])
    small_queries, _, _ = measure(client, url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = ChangeRecord.objects.bulk_create(
        ChangeRecord(guid=str(uuid.uuid4()), occurred_at_utc=start + timedelta(hours=i), change_type="change",
                     summary=f"change {i:03d}", content_hash="0" * 64, imported_at_utc=start) for i in range(120)
    )
    ChangeLogMap.objects.bulk_create(
        ChangeLogMap(plan=plan, change_guid=r.guid, change=r, imported_at_utc=start) for r in records
    )
    queries, _, page = measure(client, url)
    assert queries == small_queries
    assert "change 119" in page and "change 070" in page and "change 069" not in page


def test_inactive_former_owner_can_still_be_filtered(client, org, owner, template):
    leaver = make_user(org, username="leaver", first_name="Lee", last_name="Ver")
    make_plan(org, leaver, template=template, title="Left behind")
    leaver.is_active = False
    leaver.save()
    client.force_login(owner)
    page = client.get(PLAN_LIST, {"owner": "leaver"}).content.decode()
    assert "Left behind" in page
