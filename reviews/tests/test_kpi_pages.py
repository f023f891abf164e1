"""The KPI dashboard, its CSV and the coverage list: who sees them, what they show, what they cost."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.models import Plan
from reviews.kpi_snapshots import kpi_snapshot_take
from reviews.models import Ack, Kpi

from .kpi_support import plan_in_state

pytestmark = pytest.mark.django_db

DASHBOARD_QUERIES = 15


@pytest.fixture
def auditor(org):
    return make_user(org, username="auditor", groups=["BCP Auditor"], is_staff=True)


def _card(page: str, key: str) -> str:
    start = page.index(f'id="kpi-{key}"')
    return page[start:page.index("</section>", start)]


@pytest.mark.parametrize("role", ["reviewer", "bcp_admin", "auditor"])
def test_reviewers_admins_and_auditors_see_the_dashboard(client, request, org, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("kpi:dashboard"))
    assert response.status_code == 200
    assert "Dashboard of Acme Ltd" in response.content.decode()
    assert f'href="{reverse("kpi:dashboard")}"' in client.get(reverse("home:home")).content.decode()  # the nav link


@pytest.mark.parametrize("role", ["member", "owner"])
def test_viewers_and_editors_do_not(client, request, role):
    client.force_login(request.getfixturevalue(role))
    for name in ("kpi:dashboard", "kpi:snapshots_csv", "kpi:ack_coverage"):
        assert client.get(reverse(name)).status_code == 403
    assert f'href="{reverse("kpi:dashboard")}"' not in client.get(reverse("home:home")).content.decode()


def test_sign_in_first_and_an_organisation_is_needed(client):
    for name in ("kpi:dashboard", "kpi:snapshots_csv", "kpi:ack_coverage"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(make_user(None, username="nomad", groups=["BCP Admin"], is_staff=True))
    assert client.get(reverse("kpi:dashboard")).status_code == 404


def test_each_figure_links_to_its_items_and_has_a_chart_and_a_table(client, org, owner, template, reviewer):
    today = timezone.localdate()
    plan_in_state(org, owner, template, title="Head office", review_due=today + dt.timedelta(days=30))
    plan_in_state(org, owner, template, title="Warehouse", review_due=today - dt.timedelta(days=3), drifting=True)
    kpi_snapshot_take(day=today - dt.timedelta(days=40))
    kpi_snapshot_take(day=today)
    client.force_login(reviewer)
    page = client.get(reverse("kpi:dashboard")).content.decode()

    in_date = _card(page, "plans_review_in_date")
    assert f'href="{reverse("plans:plan_list")}?review=in_date" data-testid="kpi-value"' in in_date
    assert ">50%</a>" in in_date and "1 of 2" in in_date
    overdue = _card(page, "plans_review_overdue")
    assert f'href="{reverse("plans:plan_list")}?review=overdue" data-testid="kpi-value"' in overdue
    assert ">1</a>" in overdue
    assert f'href="{reverse("kpi:ack_coverage")}"' in _card(page, "ack_coverage")
    assert 'href="/plans/?review_needed=on"' in _card(page, "plans_drifting")
    # A drawing with its words, and the same figures in a table.
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in in_date and 'role="img"' in in_date
    assert "<title id=\"chart-plans_review_in_date-title\">" in in_date and "<desc" in in_date
    assert "<polyline" in in_date  # two snapshots: a line
    assert f"50% on {today:%d %b %Y}" in in_date  # the description names the latest figure
    assert "<summary>Figures by month</summary>" in in_date
    assert f'<time datetime="{today:%Y-%m-%d}">' in in_date and "<td>1 of 2</td>" in in_date


def test_the_dashboard_counts_only_its_organisation(client, org, owner, template, outsider, other_org):
    today = timezone.localdate()
    plan_in_state(org, owner, template, title="Acme overdue", review_due=today - dt.timedelta(days=1))
    kpi_snapshot_take(day=today)
    client.force_login(outsider)  # an editor and reviewer of Other Corp
    page = client.get(reverse("kpi:dashboard")).content.decode()
    assert "Dashboard of Other Corp" in page and "Acme" not in page
    assert ">0</a>" in _card(page, "plans_review_overdue")
    rows = list(csv.reader(io.StringIO(b"".join(client.get(reverse("kpi:snapshots_csv")).streaming_content).decode())))
    assert rows[1:] and all(row[1] != "" for row in rows[1:])
    assert not Kpi.objects.filter(org=other_org, metric_key="plans_review_overdue", value=1).exists()
    assert all(row[4] in ("", "0") for row in rows[1:] if row[1] == "plans_review_overdue")


def _grow(org, owner, template, n: int) -> None:
    """n more plans, people and acknowledgements, and a year of daily snapshots."""
    today = timezone.localdate()
    people = [make_user(org, username=f"grow-{n}-{i}") for i in range(n)]
    for i in range(n):
        plan = plan_in_state(org, owner, template, title=f"Grown {i}", review_due=today - dt.timedelta(days=i - 5),
                             exercise_due=today + dt.timedelta(days=i - 5), drifting=i % 2 == 0)
        Ack.objects.bulk_create(Ack(plan=plan, user=p, ack_version_number=1, ack_at_utc=timezone.now())
                                for p in people[: i + 1])
    for back in range(0, 365, 7):
        kpi_snapshot_take(day=today - dt.timedelta(days=back))


def test_the_dashboard_costs_the_same_queries_with_little_and_much_data(
        client, org, owner, template, reviewer, django_assert_num_queries):
    client.force_login(reviewer)
    # 1 session, 2 the user, 3 the membership, 4 the organisation, 5-6 the permissions (user's, groups'),
    # 7 the snapshots of 12 months, 8 the plans' figures, 9 the approved plans' coverage, 10 the findings',
    # 11 the vendors', 12-13 the exercise and incident recoveries', 14 the latest management-review reports,
    # 15 the navigation's counts
    # (bcp_site/tests/test_query_budget.py).
    with django_assert_num_queries(DASHBOARD_QUERIES) as small:
        assert client.get(reverse("kpi:dashboard")).status_code == 200
    _grow(org, owner, template, 12)
    with django_assert_num_queries(len(small)):
        response = client.get(reverse("kpi:dashboard"))
    page = response.content.decode()
    assert "<polyline" in _card(page, "plans_drifting")


def test_snapshots_download_as_csv_with_formulas_neutralised(client, org, bcp_admin):
    now = timezone.now()
    today = timezone.localdate()
    Kpi.objects.create(org=org, metric_key="plans_drifting", day=today, unit=Kpi.Unit.COUNT, value=3, numerator=3,
                       computed_at_utc=now)
    Kpi.objects.create(org=org, metric_key="=HYPERLINK(\"http://x\")", day=today, unit=Kpi.Unit.PERCENT, value=None,
                       numerator=0, denominator=0, computed_at_utc=now)  # a metric no longer known
    client.force_login(bcp_admin)
    response = client.get(reverse("kpi:snapshots_csv"))
    assert response["Content-Disposition"].startswith('attachment; filename="kpi-snapshots-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["day", "metric", "label", "unit", "value", "counted", "out_of", "computed_at_utc"]
    assert [today.isoformat(), "plans_drifting", "Plans drifting", "count", "3", "3", ""] == rows[2][:7]
    assert rows[1][1] == rows[1][2] == "'=HYPERLINK(\"http://x\")"
    assert rows[1][4] == "" and rows[1][6] == "0"


def test_the_coverage_list_shows_each_approved_plan(client, org, owner, template, member, reviewer):
    today = timezone.localdate()
    read = plan_in_state(org, owner, template, title="Read by one", review_due=today)
    plan_in_state(org, owner, template, title="Archived one", status=Plan.Status.ARCHIVED, review_due=today)
    plan_in_state(org, owner, template, title="Draft one", approved=False)
    Ack.objects.create(plan=read, user=member, ack_version_number=1, ack_at_utc=timezone.now())
    client.force_login(reviewer)
    page = client.get(reverse("kpi:ack_coverage")).content.decode()
    assert "Read by one" in page and "Archived one" not in page and "Draft one" not in page
    assert f'<a href="{reverse("acks:coverage", args=[read.pk])}">1 of 3</a>' in page  # owner, member, reviewer
    assert "33.3%" in page
