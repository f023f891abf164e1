"""KPI snapshots (bc_kpi): the daily record of every metric of every organisation, and its trends.

`kpi_snapshot_take` is what `manage.py kpi_snapshot` runs once a day (decision 4): for each
organisation, every registered metric (`reviews.kpi.figures`) is written as one row for the
day, in one upsert, so running it again the same day updates that day's rows instead of adding
more; rows older than `KPI_KEEP_YEARS` are deleted by the same run. The figures are the state of
the plans when it runs, with due dates compared with the day it records: a backfill (`--day`)
does not reconstruct how the plans stood on that day.

`kpi_trends` reads an organisation's snapshots of the last `TREND_MONTHS` months (one query) for
the dashboard's charts and tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from plans.models import Organisation
from plans.plan_facts import add_months

from .kpi import Metric, figures, metrics
from .models import Kpi

KPI_KEEP_YEARS = 3
TREND_MONTHS = 12
SNAPSHOT_FIELDS = ("unit", "value", "numerator", "denominator", "computed_at_utc")


def kpi_keep_from(today: dt.date | None = None) -> dt.date:
    """The first day kept: snapshots of earlier days are deleted."""
    return add_months(today or timezone.localdate(), -12 * KPI_KEEP_YEARS)


@dataclass(frozen=True)
class SnapshotRun:
    day: dt.date
    organisations: int
    rows_written: int
    rows_deleted: int

    def summary(self) -> str:
        return (f"KPI snapshot of {self.day:%Y-%m-%d}: {self.rows_written} figures of {self.organisations} "
                f"organisation{'s' if self.organisations != 1 else ''} recorded, {self.rows_deleted} snapshot "
                f"row{'s' if self.rows_deleted != 1 else ''} older than {KPI_KEEP_YEARS} years deleted.")


def kpi_snapshot_take(*, day: dt.date, org_ids: Iterable[int] | None = None) -> SnapshotRun:
    """Record every metric of every organisation (or of `org_ids`) for `day`, then apply the retention.

    One row per organisation, metric and day (`uq_bc_kpi_org_metric_day`): a second run of the
    same day updates the rows it finds. Each organisation's figures are written in their own
    transaction. Runs one query per kind of rows per organisation, one upsert per organisation
    and one delete.
    """
    now = timezone.now()
    organisations = Organisation.objects.order_by("pk")
    if org_ids is not None:
        organisations = organisations.filter(pk__in=list(org_ids))
    written = count = 0
    for org_id in organisations.values_list("pk", flat=True).iterator():
        rows = [
            Kpi(org_id=org_id, metric_key=figure.metric.key, day=day, unit=figure.metric.unit, value=figure.value,
                numerator=figure.numerator, denominator=figure.denominator, computed_at_utc=now)
            for figure in figures(org_id, today=day)
        ]
        with transaction.atomic():
            _upsert(rows)
        written += len(rows)
        count += 1
    deleted, _ = Kpi.objects.filter(day__lt=kpi_keep_from()).delete()  # idx_bc_kpi_day
    return SnapshotRun(day=day, organisations=count, rows_written=written, rows_deleted=deleted)


def _upsert(rows: list[Kpi]) -> None:
    """INSERT ... ON CONFLICT / ON DUPLICATE KEY UPDATE on the organisation, metric and day."""
    # MySQL/MariaDB update on any unique key and refuse a named target; SQLite and PostgreSQL need it.
    target = ["org", "metric_key", "day"] if connection.features.supports_update_conflicts_with_target else None
    Kpi.objects.bulk_create(rows, update_conflicts=True, unique_fields=target, update_fields=SNAPSHOT_FIELDS)


# --- trends ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: Decimal | None
    numerator: int = 0
    denominator: int | None = None


@dataclass
class Trend:
    """One metric's snapshots from `start` to `end`, oldest first, and its figure at each month's end."""

    metric: Metric
    start: dt.date
    end: dt.date
    points: list[Point] = field(default_factory=list)

    @property
    def months(self) -> list[Point]:
        """The last snapshot of each month that has one, oldest first (the chart's text alternative)."""
        last: dict[tuple[int, int], Point] = {}
        for point in self.points:
            last[(point.day.year, point.day.month)] = point
        return list(last.values())

    @property
    def values(self) -> list[Decimal]:
        return [p.value for p in self.points if p.value is not None]


def trend_start(today: dt.date) -> dt.date:
    return add_months(today, -TREND_MONTHS)


def snapshot_rows(org_id: int) -> QuerySet:
    """An organisation's snapshot rows (idx_bc_kpi_org_day serves a range of days)."""
    return Kpi.objects.filter(org_id=org_id)


def kpi_trends(org_id: int, *, today: dt.date | None = None, start: dt.date | None = None) -> list[Trend]:
    """Every registered metric's snapshots from `start` (default: TREND_MONTHS months back) to `today` (one query)."""
    today = today or timezone.localdate()
    start = start or trend_start(today)
    trends = {metric.key: Trend(metric=metric, start=start, end=today) for metric in metrics()}
    rows = (
        snapshot_rows(org_id).filter(day__gte=start, day__lte=today)
        .order_by("day", "metric_key").values_list("metric_key", "day", "value", "numerator", "denominator")
    )
    for key, day, value, numerator, denominator in rows:
        if key in trends:  # a metric no longer registered keeps its rows (the CSV has them), not a chart
            trends[key].points.append(Point(day=day, value=value, numerator=numerator, denominator=denominator))
    return list(trends.values())
