"""manage.py import_changes DIR [--plan ID] [--dry-run] [--strict]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plans.changes import changes_import
from plans.models import Plan


class Command(BaseCommand):
    help = (
        "Import change files (<guid>.json, one per change) from DIR, store each change once and link it "
        "to the plans it affects. Bad files are reported and skipped; the exit status is non-zero when "
        "any file was bad. See docs/change-files.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="folder holding the *.json change files")
        parser.add_argument("--plan", type=int, metavar="ID", help="also link every change to this plan")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")
        parser.add_argument(
            "--strict", action="store_true", help="refuse files whose content_hash does not match (default: warn)"
        )

    def handle(self, *args, directory, plan=None, dry_run=False, strict=False, **options):
        path = Path(directory)
        if not path.exists():
            raise CommandError(f"{directory}: no such directory.")
        if not path.is_dir():
            raise CommandError(f"{directory}: not a directory.")
        target = None
        if plan is not None:
            target = Plan.objects.filter(pk=plan).first()
            if target is None:
                raise CommandError(f"--plan {plan}: no plan with that id exists.")

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"... {done}/{total} files")

        report = changes_import(directory=path, plan=target, dry_run=dry_run, strict=strict, progress=progress)
        for line in report.warnings:
            self.stderr.write(f"warning: {line}")
        for line in report.errors:
            self.stderr.write(f"error: {line}")
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(f"{len(report.errors)} file(s) could not be imported (see the errors above).")
