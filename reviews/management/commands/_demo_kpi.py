"""The demo's KPI history: snapshots of the last few weeks, so the dashboard shows trends at once."""

from datetime import timedelta

from django.utils import timezone

from reviews.kpi_snapshots import kpi_snapshot_take

DEMO_KPI_DAYS = 42


def demo_kpi_history(org, *, days: int = DEMO_KPI_DAYS) -> str:
    """Record the organisation's figures for each of the last `days` days and today (a backfill: the plans
    as they are now, due dates compared with each day). Running it again rewrites the same rows."""
    today = timezone.localdate()
    for back in range(days, -1, -1):
        kpi_snapshot_take(day=today - timedelta(days=back), org_ids=[org.pk])
    return f"KPI snapshots of the last {days} days recorded for the dashboard."
