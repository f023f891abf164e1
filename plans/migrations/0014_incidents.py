"""Incidents (bc_incident, bc_incident_activation, bc_incident_event, bc_incident_recovery); findings raised from
an incident (bc_finding.incident_id and its branch of ck_finding_one_source); issued files for break-glass
packs, post-incident reports, KPI reports and evidence packs (bc_issued_file.plan_id nullable for the
organisation's files, bc_issued_file.incident_id, and the constraints that say which kind names what).

The BCP groups get the new permissions: every group reads incidents; every group but the read-only
auditors adds timeline entries and records a process's disruption and recovery; editors and BCP Admins
declare incidents and activate plans; BCP Admins also stand down and close anyone's incident. Timeline
entries have no change or delete permission at all. Safe to run twice (get_or_create, add is idempotent).
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

import plans.models

VIEW = ["view_incident", "view_incidentactivation", "view_incidentevent", "view_incidentrecovery"]
MEMBER = ["add_incidentevent", "add_incidentrecovery", "change_incidentrecovery"]
EDIT = ["add_incident", "change_incident", "add_incidentactivation"]
GROUPS = {
    "BCP Viewer": VIEW + MEMBER,
    "BCP Reviewer": VIEW + MEMBER,
    "BCP Auditor": VIEW,
    "BCP Editor": VIEW + MEMBER + EDIT,
    "BCP Admin": VIEW + MEMBER + EDIT + ["stand_down_incident"],
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
        ('plans', '0013_exercises'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalIncident',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('title', models.CharField(max_length=255, verbose_name='title')),
                ('description', models.TextField(blank=True, verbose_name='what is happening')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=20, verbose_name='severity')),
                ('status', models.CharField(choices=[('active', 'Active'), ('stood_down', 'Stood down'), ('closed', 'Closed')], default='active', max_length=20, verbose_name='status')),
                ('declared_at_utc', models.DateTimeField(verbose_name='declared at')),
                ('stood_down_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='stood down at')),
                ('review_summary', models.TextField(blank=True, verbose_name='post-incident review')),
                ('closed_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical incident',
                'verbose_name_plural': 'historical incidents',
                'db_table': 'bc_incident_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalIncidentActivation',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('version_approved', models.BooleanField(help_text="Whether the version in force was the plan's approved version when activated.", verbose_name='version approved')),
                ('activated_at_utc', models.DateTimeField(verbose_name='activated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical plan activation',
                'verbose_name_plural': 'historical plan activations',
                'db_table': 'bc_incident_activation_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalIncidentRecovery',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('process_ref', models.IntegerField(verbose_name='process (snapshot id)')),
                ('process_name', models.CharField(max_length=255, verbose_name='process')),
                ('disrupted_at_utc', models.DateTimeField(verbose_name='disrupted since')),
                ('recovered_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='recovered at')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical process recovery',
                'verbose_name_plural': 'historical process recoveries',
                'db_table': 'bc_incident_recovery_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Incident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=255, verbose_name='title')),
                ('description', models.TextField(blank=True, verbose_name='what is happening')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=20, verbose_name='severity')),
                ('status', models.CharField(choices=[('active', 'Active'), ('stood_down', 'Stood down'), ('closed', 'Closed')], default='active', max_length=20, verbose_name='status')),
                ('declared_at_utc', models.DateTimeField(verbose_name='declared at')),
                ('stood_down_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='stood down at')),
                ('review_summary', models.TextField(blank=True, verbose_name='post-incident review')),
                ('closed_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                ('report_requested_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='report requested at')),
                ('report_error', models.TextField(blank=True, verbose_name='report error')),
            ],
            options={
                'verbose_name': 'incident',
                'db_table': 'bc_incident',
                'ordering': ['-id'],
                'permissions': [('stand_down_incident', 'Can stand down and close any incident of the organisation')],
            },
        ),
        migrations.CreateModel(
            name='IncidentActivation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version_approved', models.BooleanField(help_text="Whether the version in force was the plan's approved version when activated.", verbose_name='version approved')),
                ('activated_at_utc', models.DateTimeField(verbose_name='activated at')),
            ],
            options={
                'verbose_name': 'plan activation',
                'db_table': 'bc_incident_activation',
                'ordering': ['incident', 'id'],
            },
        ),
        migrations.CreateModel(
            name='IncidentEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at_utc', models.DateTimeField(verbose_name='at')),
                ('kind', models.CharField(choices=[('decision', 'Decision'), ('action', 'Action'), ('communication', 'Communication'), ('update', 'Update')], max_length=20, verbose_name='kind')),
                ('text', models.TextField(verbose_name='entry')),
            ],
            options={
                'verbose_name': 'timeline entry',
                'verbose_name_plural': 'timeline entries',
                'db_table': 'bc_incident_event',
                'ordering': ['incident', '-at_utc', '-id'],
                'default_permissions': ('add', 'view'),
            },
        ),
        migrations.CreateModel(
            name='IncidentRecovery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('process_ref', models.IntegerField(verbose_name='process (snapshot id)')),
                ('process_name', models.CharField(max_length=255, verbose_name='process')),
                ('disrupted_at_utc', models.DateTimeField(verbose_name='disrupted since')),
                ('recovered_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='recovered at')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
            ],
            options={
                'verbose_name': 'process recovery',
                'verbose_name_plural': 'process recoveries',
                'db_table': 'bc_incident_recovery',
                'ordering': ['activation', 'process_name', 'id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='finding',
            name='ck_finding_source_valid',
        ),
        migrations.RemoveConstraint(
            model_name='finding',
            name='ck_finding_one_source',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfile',
            name='ck_issued_file_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfile',
            name='ck_issued_file_report_exercise',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfilerequest',
            name='ck_issued_file_request_kind_valid',
        ),
        migrations.AlterField(
            model_name='finding',
            name='source_kind',
            field=models.CharField(choices=[('exercise', 'Exercise'), ('incident', 'Incident')], default='exercise', max_length=20, verbose_name='source'),
        ),
        migrations.AlterField(
            model_name='historicalfinding',
            name='source_kind',
            field=models.CharField(choices=[('exercise', 'Exercise'), ('incident', 'Incident')], default='exercise', max_length=20, verbose_name='source'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='kind',
            field=models.CharField(choices=[('plan_pdf', 'Plan PDF'), ('plan_docx', 'Plan DOCX'), ('exercise_report', 'Exercise report PDF'), ('breakglass_html', 'Break-glass pack (offline HTML)'), ('breakglass_pdf', 'Break-glass pack PDF'), ('incident_report', 'Post-incident report PDF'), ('kpi_report', 'KPI report'), ('evidence_pack', 'Evidence pack')], max_length=20, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='issued_files', to='plans.plan'),
        ),
        migrations.AlterField(
            model_name='issuedfilerequest',
            name='kind',
            field=models.CharField(choices=[('plan_pdf', 'Plan PDF'), ('plan_docx', 'Plan DOCX'), ('exercise_report', 'Exercise report PDF'), ('breakglass_html', 'Break-glass pack (offline HTML)'), ('breakglass_pdf', 'Break-glass pack PDF'), ('incident_report', 'Post-incident report PDF'), ('kpi_report', 'KPI report'), ('evidence_pack', 'Evidence pack')], max_length=20, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='issuedfilerequest',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['plan_pdf', 'plan_docx', 'exercise_report', 'breakglass_html', 'breakglass_pdf', 'incident_report', 'kpi_report', 'evidence_pack'])), name='ck_issued_file_request_kind_valid'),
        ),
        migrations.AddField(
            model_name='historicalincident',
            name='closed_by_user',
            field=models.ForeignKey(blank=True, db_column='closed_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='closed by'),
        ),
        migrations.AddField(
            model_name='historicalincident',
            name='declared_by_user',
            field=models.ForeignKey(blank=True, db_column='declared_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='declared by'),
        ),
        migrations.AddField(
            model_name='historicalincident',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalincident',
            name='org',
            field=models.ForeignKey(blank=True, db_column='org_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddField(
            model_name='historicalincident',
            name='stood_down_by_user',
            field=models.ForeignKey(blank=True, db_column='stood_down_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='stood down by'),
        ),
        migrations.AddField(
            model_name='historicalincidentactivation',
            name='activated_by_user',
            field=models.ForeignKey(blank=True, db_column='activated_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='activated by'),
        ),
        migrations.AddField(
            model_name='historicalincidentactivation',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalincidentactivation',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.plan', verbose_name='plan'),
        ),
        migrations.AddField(
            model_name='historicalincidentactivation',
            name='version',
            field=models.ForeignKey(blank=True, db_column='version_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.planversion', verbose_name='version in force'),
        ),
        migrations.AddField(
            model_name='historicalincidentrecovery',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='incident',
            name='closed_by_user',
            field=models.ForeignKey(blank=True, db_column='closed_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='closed by'),
        ),
        migrations.AddField(
            model_name='incident',
            name='declared_by_user',
            field=models.ForeignKey(blank=True, db_column='declared_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='declared by'),
        ),
        migrations.AddField(
            model_name='incident',
            name='org',
            field=models.ForeignKey(db_column='org_id', on_delete=django.db.models.deletion.CASCADE, related_name='incidents', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AddField(
            model_name='incident',
            name='stood_down_by_user',
            field=models.ForeignKey(blank=True, db_column='stood_down_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='stood down by'),
        ),
        migrations.AddField(
            model_name='historicalincidentactivation',
            name='incident',
            field=models.ForeignKey(blank=True, db_column='incident_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddField(
            model_name='finding',
            name='incident',
            field=models.ForeignKey(blank=True, db_column='incident_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='findings', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='incident',
            field=models.ForeignKey(blank=True, db_column='incident_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddField(
            model_name='issuedfile',
            name='incident',
            field=models.ForeignKey(blank=True, db_column='incident_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='issued_files', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('source_kind__in', ['exercise', 'incident'])), name='ck_finding_source_valid'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('exercise__isnull', False), ('incident__isnull', True), ('source_kind', 'exercise')), models.Q(('exercise__isnull', True), ('incident__isnull', False), ('source_kind', 'incident')), _connector='OR'), name='ck_finding_one_source'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['plan_pdf', 'plan_docx', 'exercise_report', 'breakglass_html', 'breakglass_pdf', 'incident_report', 'kpi_report', 'evidence_pack'])), name='ck_issued_file_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('exercise__isnull', False), ('kind', 'exercise_report')), models.Q(models.Q(('kind', 'exercise_report'), _negated=True), ('exercise__isnull', True)), _connector='OR'), name='ck_issued_file_report_exercise'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.UniqueConstraint(fields=('incident', 'kind'), name='uq_bc_issued_file_incident'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('incident__isnull', False), ('kind', 'incident_report')), models.Q(models.Q(('kind', 'incident_report'), _negated=True), ('incident__isnull', True)), _connector='OR'), name='ck_issued_file_incident'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('exercise_report', 'incident_report', 'kpi_report')), ('marking', 'final')), models.Q(models.Q(('kind__in', ('exercise_report', 'incident_report', 'kpi_report')), _negated=True), models.Q(('marking', 'final'), _negated=True)), _connector='OR'), name='ck_issued_file_final_marking'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('plan_pdf', 'plan_docx', 'breakglass_html', 'breakglass_pdf', 'evidence_pack')), ('version__isnull', False)), models.Q(models.Q(('kind__in', ('plan_pdf', 'plan_docx', 'breakglass_html', 'breakglass_pdf', 'evidence_pack')), _negated=True), ('version__isnull', True)), _connector='OR'), name='ck_issued_file_version'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('incident_report', 'kpi_report')), ('org__isnull', False), ('plan__isnull', True)), models.Q(models.Q(('kind__in', ('incident_report', 'kpi_report')), _negated=True), ('plan__isnull', False)), _connector='OR'), name='ck_issued_file_plan'),
        ),
        migrations.AddField(
            model_name='incidentactivation',
            name='activated_by_user',
            field=models.ForeignKey(blank=True, db_column='activated_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='activated by'),
        ),
        migrations.AddField(
            model_name='incidentactivation',
            name='incident',
            field=models.ForeignKey(db_column='incident_id', on_delete=django.db.models.deletion.CASCADE, related_name='activations', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddField(
            model_name='incidentactivation',
            name='plan',
            field=models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.RESTRICT, related_name='incident_activations', to='plans.plan', verbose_name='plan'),
        ),
        migrations.AddField(
            model_name='incidentactivation',
            name='version',
            field=models.ForeignKey(db_column='version_id', on_delete=django.db.models.deletion.RESTRICT, related_name='incident_activations', to='plans.planversion', verbose_name='version in force'),
        ),
        migrations.AddField(
            model_name='historicalincidentrecovery',
            name='activation',
            field=models.ForeignKey(blank=True, db_column='activation_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.incidentactivation', verbose_name='activation'),
        ),
        migrations.AddField(
            model_name='incidentevent',
            name='author_user',
            field=models.ForeignKey(blank=True, db_column='author_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by'),
        ),
        migrations.AddField(
            model_name='incidentevent',
            name='incident',
            field=models.ForeignKey(db_column='incident_id', on_delete=django.db.models.deletion.CASCADE, related_name='events', to='plans.incident', verbose_name='incident'),
        ),
        migrations.AddField(
            model_name='incidentrecovery',
            name='activation',
            field=models.ForeignKey(db_column='activation_id', on_delete=django.db.models.deletion.CASCADE, related_name='recoveries', to='plans.incidentactivation', verbose_name='activation'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['org', 'id'], name='idx_bc_incident_org'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['org', 'status', 'id'], name='idx_bc_incident_org_status'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['active', 'stood_down', 'closed'])), name='ck_incident_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(('severity__in', ['low', 'medium', 'high', 'critical'])), name='ck_incident_severity_valid'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(('title', ''), _negated=True), name='ck_incident_title'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_at_utc__isnull', True), ('status', 'active'), ('stood_down_at_utc__isnull', True)), models.Q(('closed_at_utc__isnull', True), ('status', 'stood_down'), ('stood_down_at_utc__isnull', False)), models.Q(('closed_at_utc__isnull', False), ('status', 'closed'), ('stood_down_at_utc__isnull', False)), _connector='OR'), name='ck_incident_status_dates'),
        ),
        migrations.AddIndex(
            model_name='incidentactivation',
            index=models.Index(fields=['plan', 'activated_at_utc'], name='idx_bc_incident_act_plan'),
        ),
        migrations.AddConstraint(
            model_name='incidentactivation',
            constraint=models.UniqueConstraint(fields=('incident', 'plan'), name='uq_bc_incident_activation_plan'),
        ),
        migrations.AddIndex(
            model_name='incidentevent',
            index=models.Index(fields=['incident', 'at_utc', 'id'], name='idx_bc_incident_event_at'),
        ),
        migrations.AddConstraint(
            model_name='incidentevent',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['decision', 'action', 'communication', 'update'])), name='ck_incident_event_kind'),
        ),
        migrations.AddConstraint(
            model_name='incidentevent',
            constraint=models.CheckConstraint(condition=models.Q(('text', ''), _negated=True), name='ck_incident_event_text'),
        ),
        migrations.AddConstraint(
            model_name='incidentrecovery',
            constraint=models.UniqueConstraint(fields=('activation', 'process_ref'), name='uq_bc_incident_recovery_process'),
        ),
        migrations.AddConstraint(
            model_name='incidentrecovery',
            constraint=models.CheckConstraint(condition=models.Q(('recovered_at_utc__isnull', True), ('recovered_at_utc__gte', models.F('disrupted_at_utc')), _connector='OR'), name='ck_incident_recovery_after_disruption'),
        ),
        # Deleted with what they name, never set to NULL first (which the checks above refuse on MariaDB).
        migrations.AlterField(
            model_name='finding',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='findings', to='plans.exercise', verbose_name='exercise'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='issued_files', to='plans.exercise', verbose_name='exercise'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='org',
            field=models.ForeignKey(blank=True, db_column='org_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='+', to='plans.organisation', verbose_name='organisation'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='version',
            field=models.ForeignKey(blank=True, db_column='version_id', null=True, on_delete=plans.models.cascade_keeping_checks, related_name='issued_files', to='plans.planversion', verbose_name='version'),
        ),
        migrations.RunPython(grant_permissions, migrations.RunPython.noop),
    ]
