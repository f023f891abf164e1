"""Delete old one-time form tokens (`bc_submission_token`); run daily by cron or a systemd timer."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from plans.submissions import submission_tokens_purge

DEFAULT_DAYS = 2
MAX_DAYS = 36500


class Command(BaseCommand):
    help = (
        "Delete the one-time form tokens older than --days days (default 2). A token only has to outlive "
        "a double click or a reload of the page it was sent from; running the command twice is harmless."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                            help=f"keep the tokens of the last DAYS days (default {DEFAULT_DAYS}, at least 1)")

    def handle(self, *args, **options):
        days = options["days"]
        if days < 1:
            raise CommandError(f"--days {days}: keep at least 1 day of tokens.")
        if days > MAX_DAYS:  # a cutoff that many days back must be a date
            raise CommandError(f"--days {days}: at most {MAX_DAYS} (a hundred years).")
        cutoff = timezone.now() - timedelta(days=days)
        deleted = submission_tokens_purge(older_than=cutoff)
        self.stdout.write(f"Deleted {deleted} submission token(s) older than {days} day(s) "
                          f"(before {cutoff:%Y-%m-%d %H:%M} UTC).")
