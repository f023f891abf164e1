"""Templates belong to someone: global (no organisation) or one organisation; unique per owner."""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('plans', '0001_initial'),
        ('templates_app', '0002_default_template'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='template',
            name='uq_bc_template_name_version',
        ),
        migrations.RemoveConstraint(
            model_name='template',
            name='uq_bc_template_one_default',
        ),
        migrations.AddField(
            model_name='historicaltemplate',
            name='org',
            field=models.ForeignKey(blank=True, db_column='org_id', db_constraint=False, help_text='Empty: a global template every organisation may use (managed by superusers).', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddField(
            model_name='template',
            name='org',
            field=models.ForeignKey(blank=True, db_column='org_id', help_text='Empty: a global template every organisation may use (managed by superusers).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='templates', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddIndex(
            model_name='template',
            index=models.Index(fields=['org', 'name'], name='idx_bc_template_org_name'),
        ),
        migrations.AddField(
            model_name='template',
            name='owner_key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Coalesce(models.F('org'), models.Value(0)), output_field=models.BigIntegerField()),
        ),
        migrations.AddConstraint(
            model_name='template',
            constraint=models.UniqueConstraint(fields=('owner_key', 'name', 'version'), name='uq_bc_template_name_version'),
        ),
        migrations.AddConstraint(
            model_name='template',
            constraint=models.UniqueConstraint(fields=('owner_key', 'default_marker'), name='uq_bc_template_one_default'),
        ),
    ]
