"""Count acknowledgement coverage again, exactly, and mend the stored totals (reviews.coverage_counts).

The totals follow every change made through Django; run this after inserting people, memberships or
acknowledgements in bulk (SQL, `bulk_create`). The daily `kpi_snapshot` runs it too.
"""

from django.core.management.base import BaseCommand

from reviews.coverage_counts import coverage_recount


class Command(BaseCommand):
    help = "Count the readers and acknowledgements again and mend the stored coverage totals."

    def handle(self, *args, **options):
        mended = coverage_recount()
        if mended:
            self.stdout.write(self.style.WARNING(f"{mended} stored figure{'s' if mended != 1 else ''} mended."))
        else:
            self.stdout.write(self.style.SUCCESS("Coverage counted again: every stored figure was right."))
