"""Install the default template (templates_app/default_template.json). Safe to run twice."""

import json
from pathlib import Path

from django.db import migrations

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "default_template.json"


def install_default_template(apps, schema_editor):
    Template = apps.get_model("templates_app", "Template")
    data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    if Template.objects.filter(name=data["name"], version=data["version"]).exists():
        return
    Template.objects.create(
        name=data["name"],
        version=data["version"],
        description=data.get("description", ""),
        schema_json={"sections": data["sections"]},
        # Only one default can exist (the database refuses a second): keep an existing one.
        is_default=not Template.objects.filter(is_default=True).exists(),
    )


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0001_initial")]

    operations = [migrations.RunPython(install_default_template, migrations.RunPython.noop)]
