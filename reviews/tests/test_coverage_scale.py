"""Acknowledgement coverage at any size: counts from the database, the people a page at a time,
the CSV streamed; the plan page's acknowledgement and workflow panels cost the same for 2 or 300
people.
"""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plans.models import Plan
from plans.tests.test_plan_page_scale import add_people
from reviews import ack_views
from reviews.ack_coverage import ACKNOWLEDGED, ALL, OUTSTANDING, ack_coverage
from reviews.coverage_counts import coverage_recount
from reviews.models import Ack, PlanDistribution
from reviews.panels import plan_ack_panel, plan_workflow

from .ack_support import approve, new_revision, skip_exports

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)
    cache.clear()


@pytest.fixture
def approved(plan, owner, reviewer, django_capture_on_commit_callbacks):
    """The plan's version 1, approved; its distribution is the BCP Viewer group."""
    plan = approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    PlanDistribution.objects.create(plan=plan, group=Group.objects.get(name="BCP Viewer"))
    return plan


def acknowledge(plan, users, version=1):
    Ack.objects.bulk_create(Ack(plan=plan, user=u, ack_version_number=version, ack_at_utc=timezone.now())
                            for u in users)
    coverage_recount(plan.org_id)  # bulk inserts send no signals


def viewers(org):
    return list(get_user_model().objects.filter(groups__name="BCP Viewer", membership__organisation=org)
                .order_by("username"))


def queries(client, url, **params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured), response


def test_coverage_page_and_csv_cost_the_same_for_2_or_300_recipients(client, approved, org, member):
    add_people(org, 2)  # with the member fixture: 3 viewers
    acknowledge(approved, [viewers(org)[0], viewers(org)[2]])  # member and person0001: no page is empty
    client.force_login(member)
    url = reverse("acks:coverage", args=[approved.pk])
    csv_url = reverse("acks:coverage_csv", args=[approved.pk])
    small = [queries(client, url)[0], queries(client, url, show=OUTSTANDING)[0],
             queries(client, url, show=ACKNOWLEDGED, after="person0000")[0]]
    with CaptureQueriesContext(connection) as small_csv:
        b"".join(client.get(csv_url).streaming_content)

    add_people(org, 297, start=2)
    acknowledge(approved, viewers(org)[3:121])
    count, response = queries(client, url)
    large = [count, queries(client, url, show=OUTSTANDING)[0],
             queries(client, url, show=ACKNOWLEDGED, after="person0000")[0]]
    with CaptureQueriesContext(connection) as large_csv:
        body = b"".join(client.get(csv_url).streaming_content).decode()
    assert large == small and len(large_csv) == len(small_csv)
    page = response.content.decode()
    assert "120 of 300 (40%) acknowledged version 1" in page
    assert page.count("<tr><td>") == ack_views.COVERAGE_PAGE_SIZE and "Next ›" in page
    assert len(list(csv.DictReader(io.StringIO(body)))) == 300


def test_the_panels_cost_the_same_for_2_or_300_people(approved, org, owner, member):
    """The plan page's acknowledgement panel (2 or 300 recipients, listed people and a group) and its
    workflow panel (1 or 300 eligible reviewers) run the same queries and stay short."""
    owner = get_user_model().objects.get(pk=owner.pk)
    owner.get_all_permissions()  # the page has loaded them already
    new_revision(approved, actor=owner)  # a draft to submit: the reviewer picker shows

    def measure():
        plan = Plan.objects.select_related("approved_version", "current_version").get(pk=approved.pk)
        with CaptureQueriesContext(connection) as captured:
            ack = plan_ack_panel(plan, owner)
            workflow = plan_workflow(plan, owner)
        # Nothing reads the people themselves beyond a few: counts, or rows with a LIMIT.
        people = [q["sql"] for q in captured if 'FROM "auth_user"' in q["sql"]]
        assert all(sql.startswith("SELECT COUNT(") or " LIMIT " in sql for sql in people), people
        return len(captured), ack, workflow

    PlanDistribution.objects.create(plan=approved, user=member)
    add_people(org, 1)
    small, ack, workflow = measure()
    assert ack["coverage"].total == 2 and workflow["submit_form"].suggestions == ["Reviewer (reviewer)"]

    add_people(org, 298, start=1)
    add_people(org, 300, start=1000, group="BCP Reviewer")
    for person in [p for p in viewers(org) if p != member][:30]:
        PlanDistribution.objects.create(plan=approved, user=person)
    large, ack, workflow = measure()
    assert large == small
    assert ack["coverage"].total == 300 and len(ack["distribution_users"]) <= 10 and ack["distribution_more"]
    assert len(workflow["submit_form"].suggestions) == 10 and workflow["submit_form"].more_suggestions


@pytest.mark.parametrize("show", [ALL, OUTSTANDING, ACKNOWLEDGED])
def test_pages_show_each_person_once_and_match_the_counts(client, approved, org, member, monkeypatch, show):
    monkeypatch.setattr(ack_views, "COVERAGE_PAGE_SIZE", 7)
    add_people(org, 40)
    people = viewers(org)
    acknowledge(approved, people[::3])
    add_people(org, 1, start=500, group="BCP Editor")  # acknowledges, but is not on the distribution
    acknowledge(approved, get_user_model().objects.filter(username="person0500"))
    coverage = ack_coverage(approved)
    assert (coverage.total, coverage.acknowledged_count) == (41, 14)

    client.force_login(member)
    url = reverse("acks:coverage", args=[approved.pk])
    seen, pages, params = [], [], {"show": show}
    while True:
        response = client.get(url, params)
        page = response.context["page"]
        pages.append([row.user.username for row in page.rows])
        seen += [(row.user.username, row.acknowledged) for row in page.rows]
        if not page.next_after:
            break
        params = {"show": show, "after": page.next_after}
    names = [name for name, _ in seen]
    assert len(names) == len(set(names)) == coverage.count_for(show) == response.context["shown_count"]
    assert names == sorted(names) and "person0500" not in names
    acknowledged = {u.username for u in people[::3]}
    assert all(done == (name in acknowledged) for name, done in seen)
    expected = {ALL: {True, False}, OUTSTANDING: {False}, ACKNOWLEDGED: {True}}[show]
    assert {done for _, done in seen} == expected

    # Back from the last page: the same pages, in reverse, ending on the first page.
    back = [pages[-1]]
    while response.context["page"].previous_before:
        response = client.get(url, {"show": show, "before": response.context["page"].previous_before})
        back.append([row.user.username for row in response.context["page"].rows])
    assert back == pages[::-1] and response.context["page"].is_first


def test_a_cursor_of_nobody_or_garbage_is_never_an_error(client, approved, member):
    client.force_login(member)
    url = reverse("acks:coverage", args=[approved.pk])
    for params in ({"after": "zzzz"}, {"before": ""}, {"after": "x" * 5000}, {"show": "everything"},
                   {"before": "\x00"}):
        assert client.get(url, params).status_code == 200
