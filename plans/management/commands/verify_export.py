"""Check a PDF or DOCX file against the issued files (bc_issued_file, all organisations)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plans.exports import export_find, hash_stream


class Command(BaseCommand):
    help = (
        "Tell whether FILE is an unchanged export of a plan version: prints the plan, version and approval "
        "on a match (exit 0), or that it matches no export (exit 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the PDF or DOCX file to check")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"{path}: no such file.")
        if not path.is_file():
            raise CommandError(f"{path}: not a regular file.")
        try:
            with path.open("rb") as handle:
                digest = hash_stream(iter(lambda: handle.read(64 * 1024), b""))
        except OSError as error:
            raise CommandError(f"{path}: cannot be read ({error.strerror or error}).") from None
        match = export_find(digest=digest, all_organisations=True)
        if match is None:
            raise CommandError(f"{path}: does not match any export (SHA-256 {digest}).", returncode=1)
        organisation = match.plan.org.name if match.plan.org_id else "no organisation"
        self.stdout.write(f"{path}: {match.describe()} Organisation: {organisation}. SHA-256 {digest}.")
