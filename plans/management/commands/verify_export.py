"""Check a file (PDF, DOCX, offline HTML) against the issued files (bc_issued_file, all organisations)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plans.exports import export_find, hash_stream


class Command(BaseCommand):
    help = (
        "Tell whether FILE is an unchanged file the service issued (a plan version's PDF or DOCX, a break-glass "
        "pack, a report): prints what it is (plan, version and approval; or the incident or organisation of a "
        "report) on a match (exit 0), or that it matches no issued file (exit 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the file to check (PDF, DOCX or offline HTML)")

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
        organisation = match.organisation_name or "no organisation"
        self.stdout.write(f"{path}: {match.describe()} Organisation: {organisation}. SHA-256 {digest}.")
