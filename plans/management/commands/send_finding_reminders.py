"""Email the owners of overdue findings, once a day each (through the outbox)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from plans.findings import findings_overdue_remind


class Command(BaseCommand):
    help = (
        "Queue one email (through the outbox) to each owner of overdue findings: open or in progress, due "
        "date passed, plan not archived. At most one email per person per day, so running it twice a day is "
        "harmless. Run it daily from cron. Prints one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to count from, YYYY-MM-DD (default: today)")

    def handle(self, *args, date: str | None = None, **options):
        today = None
        if date:
            try:
                today = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date must be a day written YYYY-MM-DD, not {date!r}.") from None
        summary = findings_overdue_remind(today=today)
        self.stdout.write(self.style.SUCCESS(str(summary)))
