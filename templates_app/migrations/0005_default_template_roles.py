"""Give the shipped default template its roles (templates_app/default_template.json, decision 5).

Roles say which field holds the next review date, the review and exercise intervals, the
incident-response section and the key contacts; they change no section or field, so a template
in use gets them too (its plans' stored facts are filled by plans 0012_plan_facts).
"""

import json
from pathlib import Path

from django.db import migrations

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "default_template.json"


def add_roles(apps, schema_editor):
    Template = apps.get_model("templates_app", "Template")
    data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    for template in Template.objects.filter(org__isnull=True, name=data["name"], version=data["version"]):
        schema = dict(template.schema_json or {})
        if "roles" in schema:
            continue
        sections = {section["key"]: section for section in schema.get("sections", [])}
        roles = {}
        for role, target in data["roles"].items():
            section_key, _, field_key = target.partition(".")
            fields = {field["key"] for field in sections.get(section_key, {}).get("fields", [])}
            if section_key in sections and (not field_key or field_key in fields):
                roles[role] = target  # only what this copy of the template still has
        schema["roles"] = roles
        template.schema_json = schema
        template.save(update_fields=["schema_json"])


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0004_default_template_readiness")]

    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
