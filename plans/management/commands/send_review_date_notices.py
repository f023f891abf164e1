"""Tell section owners that their plan's review date approaches (through the outbox)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from plans.collaborators import review_date_notices_send


class Command(BaseCommand):
    help = (
        "Queue an email (through the outbox) to each section owner of an approved plan whose review date is "
        "within 30 days: once when it comes within 30 days, once more within 7 days. Running it again the same "
        "day (or the next) sends nothing twice. Run it daily from cron. Prints one summary line."
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
        summary = review_date_notices_send(today=today)
        self.stdout.write(self.style.SUCCESS(str(summary)))
