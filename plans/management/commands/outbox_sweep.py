"""Queue again the outbox rows whose worker died, and enqueue delivery for rows nobody took (cron)."""

from django.core.management.base import BaseCommand, CommandError

from plans.outbox import outbox_sweep

MAX_GRACE = 7 * 24 * 3600


class Command(BaseCommand):
    help = (
        "Sweep the outbox (bc_notification): rows still 'sending' after their lease "
        "(BCP_OUTBOX_LEASE_SECONDS) belonged to a worker that died and are queued again; if rows have "
        "been due for longer than --grace seconds, delivery tasks are enqueued. Idempotent: run it "
        "every few minutes from cron or a systemd timer. Prints one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace", type=float, default=None,
            help="seconds a due row may wait before it counts as forgotten "
                 "(default BCP_OUTBOX_SWEEP_GRACE_SECONDS, 60)",
        )

    def handle(self, *args, grace, **options):
        if grace is not None and not 0 <= grace <= MAX_GRACE:
            raise CommandError(f"--grace {grace}: give a number of seconds from 0 to {MAX_GRACE}.")
        report = outbox_sweep(grace_seconds=grace)
        self.stdout.write(str(report))
