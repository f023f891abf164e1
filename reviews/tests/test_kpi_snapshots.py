"""The daily KPI snapshot (`manage.py kpi_snapshot`): one row per organisation, metric and day; retention; trends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bcp_site.testing import make_org, make_user
from plans.models import Plan
from plans.plan_facts import add_months
from reviews.kpi import metrics
from reviews.kpi_snapshots import kpi_keep_from, kpi_trends
from reviews.models import Kpi

from .kpi_support import plan_in_state

pytestmark = pytest.mark.django_db


def snapshot(*args) -> str:
    out = StringIO()
    call_command("kpi_snapshot", *args, stdout=out)
    return out.getvalue()


def value(org, key, day):
    return Kpi.objects.get(org=org, metric_key=key, day=day).value


def test_running_twice_the_same_day_keeps_one_row_per_metric_and_updates_it(org, owner, template):
    other = make_org("Second Ltd")
    today = timezone.localdate()
    plan = plan_in_state(org, owner, template, title="Head office", review_due=today + dt.timedelta(days=10))
    line = snapshot()
    count = len(metrics())
    assert f"{2 * count} figures of 2 organisations recorded" in line
    assert Kpi.objects.filter(org=org, day=today).count() == count
    assert Kpi.objects.filter(org=other, day=today).count() == count
    assert value(org, "plans_review_in_date", today) == Decimal("100.0")
    assert value(other, "plans_review_in_date", today) is None  # no plan: nothing to count

    Plan.objects.filter(pk=plan.pk).update(next_review_due=today - dt.timedelta(days=1))  # now overdue
    snapshot()
    assert Kpi.objects.filter(day=today).count() == 2 * count  # the same rows, updated
    assert value(org, "plans_review_in_date", today) == Decimal("0.0")
    assert value(org, "plans_review_overdue", today) == Decimal("1")
    row = Kpi.objects.get(org=org, metric_key="plans_review_in_date", day=today)
    assert (row.numerator, row.denominator, row.unit) == (0, 1, Kpi.Unit.PERCENT)


def test_a_backfill_records_another_day_and_compares_due_dates_with_it(org, owner, template):
    today = timezone.localdate()
    plan_in_state(org, owner, template, title="Head office", review_due=today - dt.timedelta(days=5))
    earlier = today - dt.timedelta(days=10)
    assert f"KPI snapshot of {earlier:%Y-%m-%d}" in snapshot("--day", earlier.isoformat())
    assert value(org, "plans_review_overdue", earlier) == Decimal("0")  # not yet due ten days ago
    snapshot()
    assert value(org, "plans_review_overdue", today) == Decimal("1")
    assert Kpi.objects.filter(org=org).values("day").distinct().count() == 2


def test_snapshots_older_than_three_years_are_deleted(org):
    keep_from = kpi_keep_from()
    assert keep_from == add_months(timezone.localdate(), -36)
    now = timezone.now()
    for day in (keep_from - dt.timedelta(days=1), keep_from - dt.timedelta(days=400), keep_from):
        Kpi.objects.create(org=org, metric_key="plans_drifting", day=day, unit=Kpi.Unit.COUNT, value=1,
                           numerator=1, computed_at_utc=now)
    line = snapshot()
    assert "2 snapshot rows older than 3 years deleted" in line
    kept = set(Kpi.objects.filter(metric_key="plans_drifting").values_list("day", flat=True))
    assert kept == {keep_from, timezone.localdate()}


@pytest.mark.parametrize(("day", "message"), [
    ("2026-02-30", "--day must be a date as YYYY-MM-DD"),
    ("yesterday", "--day must be a date as YYYY-MM-DD"),
    ("9999-12-31", "is in the future"),
    ("2001-01-01", "more than 3 years ago"),
])
def test_a_bad_day_is_refused_naming_it_and_nothing_is_written(org, day, message):
    with pytest.raises(CommandError, match=message):
        snapshot("--day", day)
    assert not Kpi.objects.exists()


def test_the_database_refuses_impossible_figures(org):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    bad = [
        {"unit": Kpi.Unit.PERCENT, "value": Decimal("100.1")},
        {"unit": Kpi.Unit.COUNT, "value": Decimal("-1")},
        {"unit": "ratio", "value": Decimal("1")},
    ]
    for values in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Kpi.objects.create(org=org, metric_key="plans_drifting", day=timezone.localdate(), numerator=0,
                               computed_at_utc=now, **values)
    Kpi.objects.create(org=org, metric_key="plans_drifting", day=timezone.localdate(), unit=Kpi.Unit.COUNT,
                       value=1, numerator=1, computed_at_utc=now)
    with pytest.raises(IntegrityError), transaction.atomic():  # one row per organisation, metric and day
        Kpi.objects.create(org=org, metric_key="plans_drifting", day=timezone.localdate(), unit=Kpi.Unit.COUNT,
                           value=2, numerator=2, computed_at_utc=now)


def test_trends_over_several_days_follow_the_plans(org, owner, template):
    """Three snapshots a month apart while plans are added and one falls overdue: the trend reads them back
    oldest first, with one figure per month."""
    today = timezone.localdate()
    days = [add_months(today, -2), add_months(today, -1), today]
    first = plan_in_state(org, owner, template, title="First", review_due=today + dt.timedelta(days=400))
    snapshot("--day", days[0].isoformat())
    plan_in_state(org, owner, template, title="Second", approved=False)
    snapshot("--day", days[1].isoformat())
    Plan.objects.filter(pk=first.pk).update(next_review_due=days[1])  # passed by today
    snapshot("--day", days[2].isoformat())
    snapshot("--day", (today - dt.timedelta(days=1)).isoformat())  # two in the last month: the later one counts

    trends = {trend.metric.key: trend for trend in kpi_trends(org.pk, today=today)}
    in_date = trends["plans_review_in_date"]
    yesterday = today - dt.timedelta(days=1)
    assert [(p.day, p.value) for p in in_date.points] == [
        (days[0], Decimal("100.0")), (days[1], Decimal("50.0")), (yesterday, Decimal("0.0")), (today, Decimal("0.0")),
    ]
    last_of_month = {(p.day.year, p.day.month): p.day for p in in_date.points}
    assert [p.day for p in in_date.months] == sorted(last_of_month.values())
    assert in_date.months[-1].day == today and len(in_date.months) >= 3
    assert [p.value for p in trends["plans_review_overdue"].points] == [0, 0, 1, 1]


def test_rows_of_another_organisation_are_not_in_the_trend(org, owner, template):
    elsewhere = make_org("Elsewhere Ltd")
    other = make_user(elsewhere, username="elsewhere-owner")
    plan_in_state(elsewhere, other, template, title="Elsewhere", review_due=timezone.localdate())
    snapshot()
    trend = {t.metric.key: t for t in kpi_trends(org.pk)}["plans_review_in_date"]
    assert [p.value for p in trend.points] == [None]  # this organisation has no plan


def test_the_demo_has_weeks_of_snapshots_and_an_auditor(client):
    from reviews.management.commands._demo_kpi import DEMO_KPI_DAYS

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert f"KPI snapshots of the last {DEMO_KPI_DAYS} days recorded" in out.getvalue()
    days = set(Kpi.objects.filter(org__name="Demo Organisation").values_list("day", flat=True))
    assert len(days) == DEMO_KPI_DAYS + 1 and max(days) == timezone.localdate()
    assert "auditor    password: demo-auditor-pass" in out.getvalue()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="auditor"))
    page = client.get("/kpi/").content.decode()
    assert "Dashboard of Demo Organisation" in page and "<polyline" in page
