"""Resources (bc_resource, bc_resource_quantity), the vendor register (bc_vendor) with the vendors each
critical process depends on (bc_process_vendor), a plan's collaborators (bc_plan_collaborator), and two
notification kinds (a section owner's sections changed; the review date approaches).

The BCP groups get the new permissions: every group reads resources, vendors and collaborators; editors
and BCP Admins add and change them and remove resources and collaborators; BCP Admins also remove
vendors. Safe to run twice (get_or_create, add is idempotent).
"""

import django.db.models.deletion
import plans.vendor_models
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

VIEW = ["view_resource", "view_vendor", "view_plancollaborator"]
EDIT = ["add_resource", "change_resource", "delete_resource", "add_vendor", "change_vendor",
        "add_plancollaborator", "change_plancollaborator", "delete_plancollaborator"]
GROUPS = {
    "BCP Viewer": VIEW,
    "BCP Reviewer": VIEW,
    "BCP Auditor": VIEW,
    "BCP Editor": VIEW + EDIT,
    "BCP Admin": VIEW + EDIT + ["delete_vendor"],
}


def grant_permissions(apps, schema_editor):
    config = apps.get_app_config("plans")  # permissions are normally created after all migrations
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="plans", codename__in=codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('plans', '0014_incidents'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalPlanCollaborator',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('role', models.CharField(choices=[('co_author', 'Co-author'), ('section_owner', 'Section owner'), ('default_reviewer', 'Default reviewer')], max_length=20, verbose_name='role')),
                ('section_keys', models.JSONField(blank=True, default=list, verbose_name='sections')),
                ('added_at_utc', models.DateTimeField(verbose_name='added at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical plan collaborator',
                'verbose_name_plural': 'historical plan collaborators',
                'db_table': 'bc_plan_collaborator_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalProcessVendor',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical process dependency on a vendor',
                'verbose_name_plural': 'historical process dependencies on vendors',
                'db_table': 'bc_process_vendor_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalResource',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('people', 'People'), ('workspace', 'Workspace'), ('it_system', 'IT system'), ('equipment', 'Equipment'), ('data', 'Data'), ('supplier', 'Supplier')], max_length=20, verbose_name='kind')),
                ('name', models.CharField(max_length=255, verbose_name='name')),
                ('primary_source', models.CharField(blank=True, max_length=255, verbose_name='primary source')),
                ('alternate_source', models.CharField(blank=True, max_length=255, verbose_name='alternate source')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical resource',
                'verbose_name_plural': 'historical resources',
                'db_table': 'bc_resource_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalResourceQuantity',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('after_minutes', models.IntegerField(verbose_name='after (minutes)')),
                ('quantity', models.IntegerField(verbose_name='quantity')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical resource quantity',
                'verbose_name_plural': 'historical resource quantities',
                'db_table': 'bc_resource_quantity_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalVendor',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(max_length=255, verbose_name='name')),
                ('name_key', plans.vendor_models.NameKeyField(editable=False, max_length=255, verbose_name='name as compared')),
                ('service', models.CharField(blank=True, help_text='What the vendor provides.', max_length=255, verbose_name='service')),
                ('contacts', models.TextField(blank=True, help_text='Who to call at the vendor in an incident: names, phones, emails.', verbose_name='contacts')),
                ('contract_reference', models.CharField(blank=True, max_length=100, verbose_name='contract reference')),
                ('recovery_minutes', models.IntegerField(blank=True, help_text='How soon the vendor committed to restore its service after a disruption.', null=True, verbose_name='committed recovery time (minutes)')),
                ('evidence_on', models.DateField(blank=True, help_text="The day the latest evidence of the vendor's continuity arrived (certificate, test report).", null=True, verbose_name='last continuity evidence received')),
                ('criticality', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], default='medium', max_length=20, verbose_name='criticality')),
                ('created_at_utc', models.DateTimeField(verbose_name='created at')),
                ('updated_at_utc', models.DateTimeField(verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical vendor',
                'verbose_name_plural': 'historical vendors',
                'db_table': 'bc_vendor_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='PlanCollaborator',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('co_author', 'Co-author'), ('section_owner', 'Section owner'), ('default_reviewer', 'Default reviewer')], max_length=20, verbose_name='role')),
                ('section_keys', models.JSONField(blank=True, default=list, verbose_name='sections')),
                ('added_at_utc', models.DateTimeField(verbose_name='added at')),
            ],
            options={
                'verbose_name': 'plan collaborator',
                'db_table': 'bc_plan_collaborator',
                'ordering': ['plan', 'role', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ProcessVendor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'process dependency on a vendor',
                'verbose_name_plural': 'process dependencies on vendors',
                'db_table': 'bc_process_vendor',
            },
        ),
        migrations.CreateModel(
            name='Resource',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('people', 'People'), ('workspace', 'Workspace'), ('it_system', 'IT system'), ('equipment', 'Equipment'), ('data', 'Data'), ('supplier', 'Supplier')], max_length=20, verbose_name='kind')),
                ('name', models.CharField(max_length=255, verbose_name='name')),
                ('primary_source', models.CharField(blank=True, max_length=255, verbose_name='primary source')),
                ('alternate_source', models.CharField(blank=True, max_length=255, verbose_name='alternate source')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
            ],
            options={
                'verbose_name': 'resource',
                'db_table': 'bc_resource',
                'ordering': ['plan', 'name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ResourceQuantity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('after_minutes', models.IntegerField(verbose_name='after (minutes)')),
                ('quantity', models.IntegerField(verbose_name='quantity')),
            ],
            options={
                'verbose_name': 'resource quantity',
                'verbose_name_plural': 'resource quantities',
                'db_table': 'bc_resource_quantity',
                'ordering': ['resource', 'after_minutes'],
            },
        ),
        migrations.CreateModel(
            name='Vendor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=255, verbose_name='name')),
                ('name_key', plans.vendor_models.NameKeyField(editable=False, max_length=255, verbose_name='name as compared')),
                ('service', models.CharField(blank=True, help_text='What the vendor provides.', max_length=255, verbose_name='service')),
                ('contacts', models.TextField(blank=True, help_text='Who to call at the vendor in an incident: names, phones, emails.', verbose_name='contacts')),
                ('contract_reference', models.CharField(blank=True, max_length=100, verbose_name='contract reference')),
                ('recovery_minutes', models.IntegerField(blank=True, help_text='How soon the vendor committed to restore its service after a disruption.', null=True, verbose_name='committed recovery time (minutes)')),
                ('evidence_on', models.DateField(blank=True, help_text="The day the latest evidence of the vendor's continuity arrived (certificate, test report).", null=True, verbose_name='last continuity evidence received')),
                ('criticality', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], default='medium', max_length=20, verbose_name='criticality')),
                ('created_at_utc', models.DateTimeField(verbose_name='created at')),
                ('updated_at_utc', models.DateTimeField(verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'vendor',
                'db_table': 'bc_vendor',
                'ordering': ['-updated_at_utc', '-id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='notification',
            name='ck_notification_kind_valid',
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('review_assigned', 'Review assigned'), ('review_decision', 'Review decision'), ('review_cancelled', 'Review cancelled'), ('ack_link', 'Acknowledgement link'), ('ack_link_resend', 'New acknowledgement link on request'), ('ack_reminder', 'Acknowledgement reminder'), ('drift', 'Drift alert'), ('password_reset', 'Password reset'), ('findings_overdue', 'Overdue findings'), ('section_changed', 'Owned sections changed in a revision'), ('review_due', 'Review date approaching'), ('other', 'Other')], max_length=30, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['review_assigned', 'review_decision', 'review_cancelled', 'ack_link', 'ack_link_resend', 'ack_reminder', 'drift', 'password_reset', 'findings_overdue', 'section_changed', 'review_due', 'other'])), name='ck_notification_kind_valid'),
        ),
        migrations.AddField(
            model_name='historicalplancollaborator',
            name='added_by_user',
            field=models.ForeignKey(blank=True, db_column='added_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='added by'),
        ),
        migrations.AddField(
            model_name='historicalplancollaborator',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalplancollaborator',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='historicalplancollaborator',
            name='user',
            field=models.ForeignKey(blank=True, db_column='user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='person'),
        ),
        migrations.AddField(
            model_name='historicalprocessvendor',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalprocessvendor',
            name='process',
            field=models.ForeignKey(blank=True, db_column='process_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.process'),
        ),
        migrations.AddField(
            model_name='historicalresource',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalresource',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='historicalresource',
            name='process',
            field=models.ForeignKey(blank=True, db_column='process_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.process', verbose_name='for process'),
        ),
        migrations.AddField(
            model_name='historicalresourcequantity',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalvendor',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalvendor',
            name='org',
            field=models.ForeignKey(blank=True, db_column='org_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddField(
            model_name='plancollaborator',
            name='added_by_user',
            field=models.ForeignKey(blank=True, db_column='added_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='added by'),
        ),
        migrations.AddField(
            model_name='plancollaborator',
            name='plan',
            field=models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.CASCADE, related_name='collaborators', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='plancollaborator',
            name='user',
            field=models.ForeignKey(db_column='user_id', on_delete=django.db.models.deletion.CASCADE, related_name='plan_collaborations', to=settings.AUTH_USER_MODEL, verbose_name='person'),
        ),
        migrations.AddField(
            model_name='processvendor',
            name='process',
            field=models.ForeignKey(db_column='process_id', on_delete=django.db.models.deletion.CASCADE, related_name='vendor_links', to='plans.process'),
        ),
        migrations.AddField(
            model_name='resource',
            name='plan',
            field=models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.CASCADE, related_name='resources', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='resource',
            name='process',
            field=models.ForeignKey(blank=True, db_column='process_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='resources', to='plans.process', verbose_name='for process'),
        ),
        migrations.AddField(
            model_name='historicalresourcequantity',
            name='resource',
            field=models.ForeignKey(blank=True, db_column='resource_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.resource'),
        ),
        migrations.AddField(
            model_name='resourcequantity',
            name='resource',
            field=models.ForeignKey(db_column='resource_id', on_delete=django.db.models.deletion.CASCADE, related_name='quantities', to='plans.resource'),
        ),
        migrations.AddField(
            model_name='vendor',
            name='org',
            field=models.ForeignKey(db_column='org_id', on_delete=django.db.models.deletion.CASCADE, related_name='vendors', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddField(
            model_name='vendor',
            name='processes',
            field=models.ManyToManyField(blank=True, related_name='vendors', through='plans.ProcessVendor', to='plans.process'),
        ),
        migrations.AddField(
            model_name='processvendor',
            name='vendor',
            field=models.ForeignKey(db_column='vendor_id', on_delete=django.db.models.deletion.RESTRICT, related_name='process_links', to='plans.vendor'),
        ),
        migrations.AddField(
            model_name='historicalprocessvendor',
            name='vendor',
            field=models.ForeignKey(blank=True, db_column='vendor_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.vendor'),
        ),
        migrations.AddIndex(
            model_name='plancollaborator',
            index=models.Index(fields=['plan', 'role'], name='idx_bc_plan_collab_plan_role'),
        ),
        migrations.AddIndex(
            model_name='plancollaborator',
            index=models.Index(fields=['role', 'plan'], name='idx_bc_plan_collab_role'),
        ),
        migrations.AddConstraint(
            model_name='plancollaborator',
            constraint=models.UniqueConstraint(fields=('plan', 'user', 'role'), name='uq_bc_plan_collaborator_role'),
        ),
        migrations.AddConstraint(
            model_name='plancollaborator',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['co_author', 'section_owner', 'default_reviewer'])), name='ck_plan_collaborator_role_valid'),
        ),
        migrations.AddIndex(
            model_name='resource',
            index=models.Index(fields=['plan', 'name', 'id'], name='idx_bc_resource_plan'),
        ),
        migrations.AddConstraint(
            model_name='resource',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['people', 'workspace', 'it_system', 'equipment', 'data', 'supplier'])), name='ck_resource_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='resource',
            constraint=models.CheckConstraint(condition=models.Q(('name', ''), _negated=True), name='ck_resource_name'),
        ),
        migrations.AddConstraint(
            model_name='resourcequantity',
            constraint=models.UniqueConstraint(fields=('resource', 'after_minutes'), name='uq_bc_resource_quantity_time'),
        ),
        migrations.AddConstraint(
            model_name='resourcequantity',
            constraint=models.CheckConstraint(condition=models.Q(('after_minutes__gte', 0)), name='ck_resource_quantity_after'),
        ),
        migrations.AddConstraint(
            model_name='resourcequantity',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 0)), name='ck_resource_quantity_non_negative'),
        ),
        migrations.AddIndex(
            model_name='vendor',
            index=models.Index(fields=['org', 'updated_at_utc', 'id'], name='idx_bc_vendor_org_updated'),
        ),
        migrations.AddIndex(
            model_name='vendor',
            index=models.Index(fields=['org', 'criticality', 'updated_at_utc', 'id'], name='idx_bc_vendor_org_crit'),
        ),
        migrations.AddIndex(
            model_name='vendor',
            index=models.Index(fields=['org', 'evidence_on'], name='idx_bc_vendor_org_evidence'),
        ),
        migrations.AddIndex(
            model_name='vendor',
            index=models.Index(fields=['updated_at_utc', 'id'], name='idx_bc_vendor_updated'),
        ),
        migrations.AddConstraint(
            model_name='vendor',
            constraint=models.UniqueConstraint(fields=('org', 'name_key'), name='uq_bc_vendor_org_name_key'),
        ),
        migrations.AddConstraint(
            model_name='vendor',
            constraint=models.CheckConstraint(condition=models.Q(('name_key', ''), _negated=True), name='ck_vendor_name_key'),
        ),
        migrations.AddConstraint(
            model_name='vendor',
            constraint=models.CheckConstraint(condition=models.Q(('recovery_minutes__gte', 0)), name='ck_vendor_recovery_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='vendor',
            constraint=models.CheckConstraint(condition=models.Q(('criticality__in', ['low', 'medium', 'high', 'critical'])), name='ck_vendor_criticality_valid'),
        ),
        migrations.AddIndex(
            model_name='processvendor',
            index=models.Index(fields=['vendor', 'process'], name='idx_bc_process_vendor_vendor'),
        ),
        migrations.AddConstraint(
            model_name='processvendor',
            constraint=models.UniqueConstraint(fields=('process', 'vendor'), name='uq_bc_process_vendor'),
        ),
        migrations.RunPython(grant_permissions, migrations.RunPython.noop),
    ]
