"""Install version 2 of the shipped default template (templates_app/default_template.json) and make it
the default in place of version 1.

Version 2's "Testing and exercises" section no longer has the hand-kept `exercises` table: a plan's
exercises are recorded as exercises (bc_exercise) and shown in that section on the plan page. A used
template's layout is frozen (decision 7), so this is a new template row: plans made with version 1
keep it until an editor moves them to version 2 in a revision. Safe to run twice; an organisation
that chose another global default keeps it.
"""

import json
from pathlib import Path

from django.db import migrations

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "default_template.json"


def install_version(apps, schema_editor):
    Template = apps.get_model("templates_app", "Template")
    data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    template = Template.objects.filter(org__isnull=True, name=data["name"], version=data["version"]).first()
    if template is None:
        template = Template.objects.create(
            name=data["name"], version=data["version"], description=data.get("description", ""),
            schema_json={key: data[key] for key in ("readiness", "roles", "sections") if key in data},
        )
    default = Template.objects.filter(org__isnull=True, is_default=True).first()
    if default is not None and (default.pk == template.pk or default.name != data["name"]):
        return  # already the default, or the administrators chose another template
    if default is not None:
        default.is_default = False
        default.save(update_fields=["is_default"])
    template.is_default = True
    template.save(update_fields=["is_default"])


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0005_default_template_roles")]

    operations = [migrations.RunPython(install_version, migrations.RunPython.noop)]
