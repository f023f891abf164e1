"""Give the shipped default template its readiness declaration (templates_app/default_template.json).

Only while no plan uses it: a template in use keeps what its versions were written with
(decision 7). A database installed before readiness existed and already using the template
keeps it as it is; its plans still need what every plan needs (plans.readiness).
"""

import json
from pathlib import Path

from django.db import migrations

TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "default_template.json"


def add_readiness(apps, schema_editor):
    Template = apps.get_model("templates_app", "Template")
    Plan = apps.get_model("plans", "Plan")
    PlanVersion = apps.get_model("plans", "PlanVersion")
    data = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    if "readiness" not in data:
        return
    for template in Template.objects.filter(org__isnull=True, name=data["name"], version=data["version"]):
        if "readiness" in (template.schema_json or {}):
            continue
        if Plan.objects.filter(template=template).exists() or PlanVersion.objects.filter(template=template).exists():
            continue
        template.schema_json = {"readiness": data["readiness"], **(template.schema_json or {})}
        template.save(update_fields=["schema_json"])


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0003_template_owner"),
        ("plans", "0003_version_template"),
    ]

    operations = [migrations.RunPython(add_readiness, migrations.RunPython.noop)]
