"""manage.py template_export ID [--output FILE]: write a template as JSON (the import format)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from templates_app.models import Template
from templates_app.services import template_export


class Command(BaseCommand):
    help = "Write a template (schema and section rows) as JSON to stdout or --output FILE; template_import reads it."

    def add_arguments(self, parser):
        parser.add_argument("id", help="the template's id")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, id, output, **options):
        try:
            template = Template.objects.get(pk=int(id))
        except (ValueError, Template.DoesNotExist):
            raise CommandError(f"No template with id {id!r} (see the admin's template list).") from None
        text = json.dumps(template_export(template=template), indent=2, ensure_ascii=False) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{output}: cannot be written ({exc})") from None
        self.stdout.write(self.style.SUCCESS(
            f"Exported template “{template.name}” version {template.version} (#{template.pk}) to {output}."
        ))
