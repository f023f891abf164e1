"""Record today's KPI figures of every organisation (bc_kpi), and delete snapshots older than three years."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reviews.coverage_counts import coverage_recount
from reviews.kpi_snapshots import KPI_KEEP_YEARS, kpi_keep_from, kpi_snapshot_take


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--day must be a date as YYYY-MM-DD, not {text[:40]!r}.") from None


class Command(BaseCommand):
    help = (
        "Record every KPI of every organisation for today (one row per organisation, metric and day: "
        "running it again the same day updates that day's rows), and delete snapshots older than "
        f"{KPI_KEEP_YEARS} years. Run it once a day from cron or a systemd timer. --day YYYY-MM-DD records "
        "the figures under another day (a backfill: today's plans, with due dates compared with that day). "
        "Prints one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the day to record (YYYY-MM-DD; default: today)")

    def handle(self, *args, day=None, **options):
        today = timezone.localdate()
        when = _day(day) if day else today
        if when > today:
            raise CommandError(f"--day {when:%Y-%m-%d} is in the future: figures are recorded for today or earlier.")
        if when < kpi_keep_from(today):
            raise CommandError(f"--day {when:%Y-%m-%d} is more than {KPI_KEEP_YEARS} years ago: snapshots that old "
                               "are not kept.")
        mended = coverage_recount()  # the stored coverage totals, counted again (reviews.coverage_counts)
        if mended:
            self.stdout.write(self.style.WARNING(f"Coverage: {mended} stored figure(s) mended."))
        run = kpi_snapshot_take(day=when)
        self.stdout.write(self.style.SUCCESS(run.summary()))
