"""Build or repair the search index (`bc_search_entry`) of every plan; run once after upgrading."""

from django.core.management.base import BaseCommand, CommandError

from bcp_site.limits import ID_MAX
from plans.models import Plan
from plans.search import search_reindex

MAX_BATCH = 5000


class Command(BaseCommand):
    help = (
        "Build the search entries of every plan's working copy (title, sections, contacts, processes, "
        "risks), or of the plans given with --plan. Entries already right are not rewritten: running it "
        "twice is harmless, and the second run reports no change."
    )

    def add_arguments(self, parser):
        parser.add_argument("--plan", type=int, action="append", dest="plans", metavar="ID",
                            help="only this plan (repeat for several)")
        parser.add_argument("--batch-size", type=int, default=200,
                            help="plans read and written per transaction (default 200)")

    def handle(self, *args, **options):
        batch = options["batch_size"]
        if not 1 <= batch <= MAX_BATCH:
            raise CommandError(f"--batch-size {batch}: give a number from 1 to {MAX_BATCH}.")
        wanted = options["plans"]
        if wanted:
            bad = [i for i in wanted if not 1 <= i <= ID_MAX]
            if bad:
                raise CommandError(f"--plan {bad[0]}: a plan id is a number from 1 to {ID_MAX}.")
            missing = sorted(set(wanted) - set(Plan.objects.filter(pk__in=wanted).values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"--plan: no plan with id {', '.join(map(str, missing))}.")
        plans, counts = search_reindex(plan_ids=wanted, batch_size=batch)
        self.stdout.write(f"Search index: {plans} plan(s) read; {counts.added} entries added, "
                          f"{counts.changed} changed, {counts.removed} removed.")
