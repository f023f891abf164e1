"""Each version records the template version it was written with (filled from its plan for old rows)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_template(apps, schema_editor):
    PlanVersion = apps.get_model("plans", "PlanVersion")
    Plan = apps.get_model("plans", "Plan")
    for plan_id, template_id in Plan.objects.values_list("pk", "template_id"):
        PlanVersion.objects.filter(plan_id=plan_id, template__isnull=True).update(template_id=template_id)


class Migration(migrations.Migration):

    dependencies = [
        ('plans', '0002_audit_org'),
        ('templates_app', '0002_default_template'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalplanversion',
            name='template',
            field=models.ForeignKey(blank=True, db_column='template_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='templates_app.template', verbose_name='template'),
        ),
        migrations.AddField(
            model_name='planversion',
            name='template',
            field=models.ForeignKey(db_column='template_id', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='plan_versions', to='templates_app.template', verbose_name='template'),
        ),
        migrations.RunPython(fill_template, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='planversion',
            name='template',
            field=models.ForeignKey(db_column='template_id', on_delete=django.db.models.deletion.PROTECT, related_name='plan_versions', to='templates_app.template', verbose_name='template'),
        ),
    ]
