"""manage.py template_import FILE [--replace]: create a template from a JSON file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bcp_site.errors import ServiceError
from templates_app.schema import TemplateSchemaError
from templates_app.services import template_import


class Command(BaseCommand):
    help = (
        "Create a template from a JSON file (format: docs/template-schema.md). A bad file is refused "
        "with the path of each mistake. An existing name+version is refused unless --replace and unused."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the template file (JSON)")
        parser.add_argument(
            "--replace", action="store_true",
            help="overwrite a template with the same name and version, if no plan uses it",
        )

    def handle(self, *args, file, replace, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot be read ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        try:
            template, created = template_import(data=data, replace=replace)
        except TemplateSchemaError as exc:
            lines = "\n".join(f"{file}: {error}" for error in exc.errors)
            raise CommandError(f"{file}: not imported, {len(exc.errors)} mistake(s):\n{lines}") from None
        except ServiceError as exc:
            raise CommandError(f"{file}: {exc.message}") from None
        sections = len(data["sections"])
        verb = "Imported" if created else "Replaced"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} template “{template.name}” version {template.version} (#{template.pk}) "
            f"with {sections} section(s) from {file}."
        ))
