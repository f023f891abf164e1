"""Exercises and findings (bc_exercise, bc_finding and their rows), the after-action report as an issued
file, the overdue-findings mail, and the plan's stored `next_exercise_due`.

Filled for existing plans: an approved plan with an exercise interval and no exercise yet is due from
its first approval (plans.plan_facts.exercise_due_on). The BCP groups get the new permissions: every
group reads exercises and findings, editors plan and record exercises and raise and change findings,
BCP Admins also accept a finding's risk. Safe to run twice (get_or_create, add is idempotent).
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.db.models import Min

VIEW = ["view_exercise", "view_finding"]
EDIT = ["add_exercise", "change_exercise", "add_finding", "change_finding"]
GROUPS = {
    "BCP Viewer": VIEW,
    "BCP Reviewer": VIEW,
    "BCP Auditor": VIEW,
    "BCP Editor": VIEW + EDIT,
    "BCP Admin": VIEW + EDIT + ["accept_risk_finding"],
}


def fill_exercise_due(apps, schema_editor):
    from django.utils import timezone

    from plans.plan_facts import add_months

    Plan = apps.get_model("plans", "Plan")
    PlanVersion = apps.get_model("plans", "PlanVersion")
    plans = Plan.objects.filter(exercise_interval_months__isnull=False, approved_at_utc__isnull=False)
    for plan in plans.only("pk", "exercise_interval_months", "last_exercised_on", "approved_at_utc").iterator(
            chunk_size=500):
        if plan.last_exercised_on is not None:
            due = add_months(plan.last_exercised_on, plan.exercise_interval_months)
        else:
            first = PlanVersion.objects.filter(plan_id=plan.pk).aggregate(first=Min("approved_at_utc"))["first"]
            due = timezone.localdate(min(t for t in (first, plan.approved_at_utc) if t is not None))
        Plan.objects.filter(pk=plan.pk).update(next_exercise_due=due)


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
        ('plans', '0012_plan_facts'),
        ('templates_app', '0005_default_template_roles'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Exercise',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('exercise_type', models.CharField(choices=[('walkthrough', 'Walkthrough'), ('tabletop', 'Tabletop'), ('simulation', 'Simulation'), ('functional', 'Functional'), ('full_scale', 'Full-scale')], max_length=20, verbose_name='type')),
                ('title', models.CharField(max_length=255, verbose_name='title')),
                ('scenario', models.TextField(blank=True, verbose_name='scenario')),
                ('scheduled_on', models.DateField(verbose_name='scheduled for')),
                ('held_on', models.DateField(blank=True, null=True, verbose_name='held on')),
                ('external_participants', models.TextField(blank=True, help_text='Named people from outside the organisation, one per line.', verbose_name='participants from outside')),
                ('status', models.CharField(choices=[('planned', 'Planned'), ('held', 'Held'), ('reported', 'Reported'), ('closed', 'Closed')], default='planned', max_length=20, verbose_name='status')),
                ('summary', models.TextField(blank=True, verbose_name='what happened')),
                ('created_at_utc', models.DateTimeField(verbose_name='planned at')),
                ('reported_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='reported at')),
                ('report_requested_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='report requested at')),
                ('report_error', models.TextField(blank=True, verbose_name='report error')),
            ],
            options={
                'verbose_name': 'exercise',
                'db_table': 'bc_exercise',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='ExerciseObjective',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(verbose_name='order')),
                ('text', models.TextField(verbose_name='objective')),
                ('result', models.CharField(blank=True, choices=[('met', 'Met'), ('partly_met', 'Partly met'), ('not_met', 'Not met')], max_length=20, verbose_name='result')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
            ],
            options={
                'verbose_name': 'exercise objective',
                'db_table': 'bc_exercise_objective',
                'ordering': ['exercise', 'position'],
            },
        ),
        migrations.CreateModel(
            name='ExerciseParticipant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'exercise participant',
                'db_table': 'bc_exercise_participant',
            },
        ),
        migrations.CreateModel(
            name='ExerciseRecovery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('process_ref', models.IntegerField(verbose_name='process (snapshot id)')),
                ('process_name', models.CharField(max_length=255, verbose_name='process')),
                ('achieved_minutes', models.IntegerField(verbose_name='recovery time achieved (minutes)')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
            ],
            options={
                'verbose_name': 'recovery time achieved',
                'verbose_name_plural': 'recovery times achieved',
                'db_table': 'bc_exercise_recovery',
                'ordering': ['exercise', 'process_name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Finding',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source_kind', models.CharField(choices=[('exercise', 'Exercise')], default='exercise', max_length=20, verbose_name='source')),
                ('description', models.TextField(verbose_name='finding')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=20, verbose_name='severity')),
                ('due_on', models.DateField(verbose_name='due on')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('done', 'Done'), ('risk_accepted', 'Risk accepted')], default='open', max_length=20, verbose_name='status')),
                ('risk_accepted_reason', models.TextField(blank=True, verbose_name='why the risk is accepted')),
                ('closed_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                ('raised_at_utc', models.DateTimeField(verbose_name='raised at')),
            ],
            options={
                'verbose_name': 'finding',
                'db_table': 'bc_finding',
                'ordering': ['-id'],
                'permissions': [('accept_risk_finding', 'Can accept the risk of a finding')],
            },
        ),
        migrations.CreateModel(
            name='FindingTick',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'finding addressed by a version',
                'verbose_name_plural': 'findings addressed by versions',
                'db_table': 'bc_finding_version',
            },
        ),
        migrations.CreateModel(
            name='HistoricalExercise',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('exercise_type', models.CharField(choices=[('walkthrough', 'Walkthrough'), ('tabletop', 'Tabletop'), ('simulation', 'Simulation'), ('functional', 'Functional'), ('full_scale', 'Full-scale')], max_length=20, verbose_name='type')),
                ('title', models.CharField(max_length=255, verbose_name='title')),
                ('scenario', models.TextField(blank=True, verbose_name='scenario')),
                ('scheduled_on', models.DateField(verbose_name='scheduled for')),
                ('held_on', models.DateField(blank=True, null=True, verbose_name='held on')),
                ('external_participants', models.TextField(blank=True, help_text='Named people from outside the organisation, one per line.', verbose_name='participants from outside')),
                ('status', models.CharField(choices=[('planned', 'Planned'), ('held', 'Held'), ('reported', 'Reported'), ('closed', 'Closed')], default='planned', max_length=20, verbose_name='status')),
                ('summary', models.TextField(blank=True, verbose_name='what happened')),
                ('created_at_utc', models.DateTimeField(verbose_name='planned at')),
                ('reported_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='reported at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical exercise',
                'verbose_name_plural': 'historical exercises',
                'db_table': 'bc_exercise_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalExerciseObjective',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(verbose_name='order')),
                ('text', models.TextField(verbose_name='objective')),
                ('result', models.CharField(blank=True, choices=[('met', 'Met'), ('partly_met', 'Partly met'), ('not_met', 'Not met')], max_length=20, verbose_name='result')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical exercise objective',
                'verbose_name_plural': 'historical exercise objectives',
                'db_table': 'bc_exercise_objective_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalExerciseParticipant',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical exercise participant',
                'verbose_name_plural': 'historical exercise participants',
                'db_table': 'bc_exercise_participant_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalExerciseRecovery',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('process_ref', models.IntegerField(verbose_name='process (snapshot id)')),
                ('process_name', models.CharField(max_length=255, verbose_name='process')),
                ('achieved_minutes', models.IntegerField(verbose_name='recovery time achieved (minutes)')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical recovery time achieved',
                'verbose_name_plural': 'historical recovery times achieved',
                'db_table': 'bc_exercise_recovery_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalFinding',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('source_kind', models.CharField(choices=[('exercise', 'Exercise')], default='exercise', max_length=20, verbose_name='source')),
                ('description', models.TextField(verbose_name='finding')),
                ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=20, verbose_name='severity')),
                ('due_on', models.DateField(verbose_name='due on')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('done', 'Done'), ('risk_accepted', 'Risk accepted')], default='open', max_length=20, verbose_name='status')),
                ('risk_accepted_reason', models.TextField(blank=True, verbose_name='why the risk is accepted')),
                ('closed_at_utc', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                ('raised_at_utc', models.DateTimeField(verbose_name='raised at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical finding',
                'verbose_name_plural': 'historical findings',
                'db_table': 'bc_finding_history',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RemoveConstraint(
            model_name='issuedfile',
            name='ck_issued_file_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfile',
            name='ck_issued_file_marking_valid',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfilerequest',
            name='ck_issued_file_request_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='issuedfilerequest',
            name='ck_issued_file_request_marking_valid',
        ),
        migrations.RemoveConstraint(
            model_name='notification',
            name='ck_notification_kind_valid',
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='next_exercise_due',
            field=models.DateField(blank=True, null=True, verbose_name='next exercise due'),
        ),
        migrations.AddField(
            model_name='plan',
            name='next_exercise_due',
            field=models.DateField(blank=True, null=True, verbose_name='next exercise due'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='kind',
            field=models.CharField(choices=[('plan_pdf', 'Plan PDF'), ('plan_docx', 'Plan DOCX'), ('exercise_report', 'Exercise report PDF')], max_length=20, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='issuedfile',
            name='marking',
            field=models.CharField(choices=[('draft', 'Draft (not approved)'), ('approved', 'Approved'), ('superseded', 'Superseded'), ('final', 'Final')], max_length=20, verbose_name='marking'),
        ),
        migrations.AlterField(
            model_name='issuedfilerequest',
            name='kind',
            field=models.CharField(choices=[('plan_pdf', 'Plan PDF'), ('plan_docx', 'Plan DOCX'), ('exercise_report', 'Exercise report PDF')], max_length=20, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='issuedfilerequest',
            name='marking',
            field=models.CharField(choices=[('draft', 'Draft (not approved)'), ('approved', 'Approved'), ('superseded', 'Superseded'), ('final', 'Final')], max_length=20, verbose_name='marking'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('review_assigned', 'Review assigned'), ('review_decision', 'Review decision'), ('review_cancelled', 'Review cancelled'), ('ack_link', 'Acknowledgement link'), ('ack_link_resend', 'New acknowledgement link on request'), ('ack_reminder', 'Acknowledgement reminder'), ('drift', 'Drift alert'), ('password_reset', 'Password reset'), ('findings_overdue', 'Overdue findings'), ('other', 'Other')], max_length=30, verbose_name='kind'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['org', 'next_exercise_due'], name='idx_bc_plan_org_exercise_due'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['owner_user', 'next_exercise_due'], name='idx_bc_plan_owner_exercise_due'),
        ),
        migrations.AddConstraint(
            model_name='issuedfilerequest',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['plan_pdf', 'plan_docx', 'exercise_report'])), name='ck_issued_file_request_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='issuedfilerequest',
            constraint=models.CheckConstraint(condition=models.Q(('marking__in', ['draft', 'approved', 'superseded', 'final'])), name='ck_issued_file_request_marking_valid'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['review_assigned', 'review_decision', 'review_cancelled', 'ack_link', 'ack_link_resend', 'ack_reminder', 'drift', 'password_reset', 'findings_overdue', 'other'])), name='ck_notification_kind_valid'),
        ),
        migrations.AddField(
            model_name='exercise',
            name='created_by_user',
            field=models.ForeignKey(blank=True, db_column='created_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='planned by'),
        ),
        migrations.AddField(
            model_name='exercise',
            name='facilitator_user',
            field=models.ForeignKey(blank=True, db_column='facilitator_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='facilitator'),
        ),
        migrations.AddField(
            model_name='exercise',
            name='plan',
            field=models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.CASCADE, related_name='exercises', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='exercise',
            name='version',
            field=models.ForeignKey(db_column='version_id', on_delete=django.db.models.deletion.RESTRICT, related_name='exercises', to='plans.planversion', verbose_name='version exercised'),
        ),
        migrations.AddField(
            model_name='issuedfile',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='issued_files', to='plans.exercise', verbose_name='exercise'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['plan_pdf', 'plan_docx', 'exercise_report'])), name='ck_issued_file_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(('marking__in', ['draft', 'approved', 'superseded', 'final'])), name='ck_issued_file_marking_valid'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.UniqueConstraint(fields=('exercise', 'kind'), name='uq_bc_issued_file_exercise'),
        ),
        migrations.AddConstraint(
            model_name='issuedfile',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('exercise__isnull', False), ('kind', 'exercise_report'), ('marking', 'final'), ('version__isnull', True)), models.Q(models.Q(('kind', 'exercise_report'), _negated=True), ('exercise__isnull', True), models.Q(('marking', 'final'), _negated=True)), _connector='OR'), name='ck_issued_file_report_exercise'),
        ),
        migrations.AddField(
            model_name='exerciseobjective',
            name='exercise',
            field=models.ForeignKey(db_column='exercise_id', on_delete=django.db.models.deletion.CASCADE, related_name='objectives', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='exerciseparticipant',
            name='exercise',
            field=models.ForeignKey(db_column='exercise_id', on_delete=django.db.models.deletion.CASCADE, related_name='participant_rows', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='exerciseparticipant',
            name='user',
            field=models.ForeignKey(db_column='user_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='participant'),
        ),
        migrations.AddField(
            model_name='exerciserecovery',
            name='exercise',
            field=models.ForeignKey(db_column='exercise_id', on_delete=django.db.models.deletion.CASCADE, related_name='recoveries', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='finding',
            name='closed_by_version',
            field=models.ForeignKey(blank=True, db_column='closed_by_version_id', null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='closed_findings', to='plans.planversion', verbose_name='closed by version'),
        ),
        migrations.AddField(
            model_name='finding',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='plans.exercise', verbose_name='exercise'),
        ),
        migrations.AddField(
            model_name='finding',
            name='owner_user',
            field=models.ForeignKey(db_column='owner_user_id', on_delete=django.db.models.deletion.PROTECT, related_name='owned_findings', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.AddField(
            model_name='finding',
            name='plan',
            field=models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.CASCADE, related_name='findings', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='finding',
            name='raised_by_user',
            field=models.ForeignKey(blank=True, db_column='raised_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='raised by'),
        ),
        migrations.AddField(
            model_name='finding',
            name='risk_accepted_by_user',
            field=models.ForeignKey(blank=True, db_column='risk_accepted_by_user_id', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='risk accepted by'),
        ),
        migrations.AddField(
            model_name='findingtick',
            name='finding',
            field=models.ForeignKey(db_column='finding_id', on_delete=django.db.models.deletion.CASCADE, related_name='ticks', to='plans.finding'),
        ),
        migrations.AddField(
            model_name='findingtick',
            name='version',
            field=models.ForeignKey(db_column='version_id', on_delete=django.db.models.deletion.CASCADE, related_name='finding_ticks', to='plans.planversion'),
        ),
        migrations.AddField(
            model_name='historicalexercise',
            name='created_by_user',
            field=models.ForeignKey(blank=True, db_column='created_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='planned by'),
        ),
        migrations.AddField(
            model_name='historicalexercise',
            name='facilitator_user',
            field=models.ForeignKey(blank=True, db_column='facilitator_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='facilitator'),
        ),
        migrations.AddField(
            model_name='historicalexercise',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalexercise',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='historicalexercise',
            name='version',
            field=models.ForeignKey(blank=True, db_column='version_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.planversion', verbose_name='version exercised'),
        ),
        migrations.AddField(
            model_name='historicalexerciseobjective',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='historicalexerciseobjective',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalexerciseparticipant',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='historicalexerciseparticipant',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalexerciseparticipant',
            name='user',
            field=models.ForeignKey(blank=True, db_column='user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='participant'),
        ),
        migrations.AddField(
            model_name='historicalexerciserecovery',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.exercise'),
        ),
        migrations.AddField(
            model_name='historicalexerciserecovery',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='closed_by_version',
            field=models.ForeignKey(blank=True, db_column='closed_by_version_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.planversion', verbose_name='closed by version'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='exercise',
            field=models.ForeignKey(blank=True, db_column='exercise_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.exercise', verbose_name='exercise'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='owner_user',
            field=models.ForeignKey(blank=True, db_column='owner_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='plan',
            field=models.ForeignKey(blank=True, db_column='plan_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='plans.plan'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='raised_by_user',
            field=models.ForeignKey(blank=True, db_column='raised_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='raised by'),
        ),
        migrations.AddField(
            model_name='historicalfinding',
            name='risk_accepted_by_user',
            field=models.ForeignKey(blank=True, db_column='risk_accepted_by_user_id', db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='risk accepted by'),
        ),
        migrations.AddIndex(
            model_name='exercise',
            index=models.Index(fields=['plan', 'id'], name='idx_bc_exercise_plan'),
        ),
        migrations.AddIndex(
            model_name='exercise',
            index=models.Index(fields=['plan', 'held_on'], name='idx_bc_exercise_plan_held'),
        ),
        migrations.AddConstraint(
            model_name='exercise',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['planned', 'held', 'reported', 'closed'])), name='ck_exercise_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='exercise',
            constraint=models.CheckConstraint(condition=models.Q(('exercise_type__in', ['walkthrough', 'tabletop', 'simulation', 'functional', 'full_scale'])), name='ck_exercise_type_valid'),
        ),
        migrations.AddConstraint(
            model_name='exercise',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('held_on__isnull', True), ('status', 'planned')), models.Q(models.Q(('status', 'planned'), _negated=True), ('held_on__isnull', False)), _connector='OR'), name='ck_exercise_held_on_status'),
        ),
        migrations.AddConstraint(
            model_name='exerciseobjective',
            constraint=models.UniqueConstraint(fields=('exercise', 'position'), name='uq_bc_exercise_objective_position'),
        ),
        migrations.AddConstraint(
            model_name='exerciseobjective',
            constraint=models.CheckConstraint(condition=models.Q(('result', ''), ('result__in', ['met', 'partly_met', 'not_met']), _connector='OR'), name='ck_exercise_objective_result'),
        ),
        migrations.AddConstraint(
            model_name='exerciseparticipant',
            constraint=models.UniqueConstraint(fields=('exercise', 'user'), name='uq_bc_exercise_participant'),
        ),
        migrations.AddConstraint(
            model_name='exerciserecovery',
            constraint=models.UniqueConstraint(fields=('exercise', 'process_ref'), name='uq_bc_exercise_recovery_process'),
        ),
        migrations.AddConstraint(
            model_name='exerciserecovery',
            constraint=models.CheckConstraint(condition=models.Q(('achieved_minutes__gte', 0)), name='ck_exercise_recovery_non_negative'),
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['plan', 'status', 'due_on'], name='idx_bc_finding_plan_status'),
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['status', 'due_on'], name='idx_bc_finding_status_due'),
        ),
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['plan', 'id'], name='idx_bc_finding_plan'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'in_progress', 'done', 'risk_accepted'])), name='ck_finding_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('severity__in', ['low', 'medium', 'high', 'critical'])), name='ck_finding_severity_valid'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('source_kind__in', ['exercise'])), name='ck_finding_source_valid'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('exercise__isnull', False), ('source_kind', 'exercise')), name='ck_finding_one_source'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('description', ''), _negated=True), name='ck_finding_description'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'risk_accepted'), _negated=True), models.Q(('risk_accepted_reason', ''), _negated=True), _connector='OR'), name='ck_finding_risk_reason'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('closed_by_version__isnull', True), ('status', 'done'), _connector='OR'), name='ck_finding_closed_by_done'),
        ),
        migrations.AddConstraint(
            model_name='findingtick',
            constraint=models.UniqueConstraint(fields=('finding', 'version'), name='uq_bc_finding_version'),
        ),
        migrations.RunPython(fill_exercise_due, migrations.RunPython.noop),
        migrations.RunPython(grant_permissions, migrations.RunPython.noop),
    ]
