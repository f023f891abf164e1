"""manage.py template_import FILE [--replace] [--organisation NAME]: create a template from a JSON file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bcp_site.errors import ServiceError
from bcp_site.limits import JSONInputError, json_loads
from templates_app.models import Template
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
        parser.add_argument(
            "--organisation", metavar="NAME", default="",
            help="make the template belong to this organisation (default: a global template for every one)",
        )

    def handle(self, *args, file, replace, organisation, **options):
        org = None
        if organisation:
            # The organisation model belongs to plans; reached through the field, not imported.
            Organisation = Template._meta.get_field("org").related_model
            org = Organisation.objects.filter(name=organisation).first()
            if org is None:
                raise CommandError(f"--organisation: no organisation named {organisation!r}")
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot be read ({exc})") from None
        try:
            data = json_loads(text)  # size, depth and numbers within bcp_site.limits
        except JSONInputError as exc:
            raise CommandError(f"{file}: {exc}") from None
        try:
            template, created = template_import(data=data, replace=replace, org=org)
        except TemplateSchemaError as exc:
            lines = "\n".join(f"{file}: {error}" for error in exc.errors)
            raise CommandError(f"{file}: not imported, {len(exc.errors)} mistake(s):\n{lines}") from None
        except ServiceError as exc:
            raise CommandError(f"{file}: {exc.message}") from None
        sections = len(data["sections"])
        verb = "Imported" if created else "Replaced"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {'global template' if org is None else f'template of {org}'} “{template.name}” "
            f"version {template.version} (#{template.pk}) "
            f"with {sections} section(s) from {file}."
        ))
