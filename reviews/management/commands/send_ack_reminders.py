"""Remind people who have not acknowledged an approved plan N days after its approval."""

from django.core.management.base import BaseCommand, CommandError

from reviews.ack_mail import ack_reminders_send

MAX_DAYS = 36500  # a hundred years


class Command(BaseCommand):
    help = (
        "Queue a reminder email (through the outbox) to everyone who has not yet acknowledged the "
        "approved version of a plan approved at least --days days ago (approved, non-archived plans; "
        "active users; at most one reminder per person and plan per day, so running it twice a day is "
        "harmless). Workers deliver them; failures show in the outbox admin. Prints one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=7,
            help="remind only for plans approved at least this many days ago (default 7)",
        )

    def handle(self, *args, days: int, **options):
        if days < 0:
            raise CommandError(f"--days must be zero or more, not {days}.")
        if days > MAX_DAYS:  # a date that many days back must exist
            raise CommandError(f"--days must be at most {MAX_DAYS} (a hundred years), not {days}.")
        summary = ack_reminders_send(days=days)
        self.stdout.write(self.style.SUCCESS(str(summary)))
