"""Stored coverage totals (reviews.coverage_counts), counted from the data already there."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Exists, F, OuterRef


def fill(apps, schema_editor):
    """Count what reviews.coverage_counts keeps from now on (its coverage_recount, on this state)."""
    User = apps.get_model("auth", "User")
    Membership = apps.get_model("plans", "Membership")
    Plan = apps.get_model("plans", "Plan")
    Ack = apps.get_model("reviews", "Ack")
    ReaderCount = apps.get_model("reviews", "ReaderCount")
    AckCount = apps.get_model("reviews", "AckCount")

    def auditor(user_ref):
        return Exists(User.groups.through.objects.filter(user_id=OuterRef(user_ref), group__name="BCP Auditor"))

    readers = (Membership.objects.filter(user__is_active=True).filter(~auditor("user_id"))
               .values("organisation_id").annotate(n=Count("pk")).values_list("organisation_id", "n"))
    ReaderCount.objects.bulk_create([ReaderCount(organisation_id=org, readers=n) for org, n in readers],
                                    batch_size=1000)
    counted = dict(
        ((plan_id, number), n) for plan_id, number, n in
        Ack.objects.filter(user__is_active=True, user__membership__organisation_id=F("plan__org_id"))
        .filter(~auditor("user_id")).values("plan_id", "ack_version_number").annotate(n=Count("pk"))
        .values_list("plan_id", "ack_version_number", "n")
    )
    pairs = set(Ack.objects.values_list("plan_id", "ack_version_number").distinct())
    pairs |= set(Plan.objects.filter(approved_version__isnull=False)
                 .values_list("pk", "approved_version__version_number"))
    AckCount.objects.bulk_create(
        [AckCount(plan_id=plan_id, version_number=number, acknowledged=counted.get((plan_id, number), 0))
         for plan_id, number in sorted(pairs)], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('plans', '0017_recovery_outcomes'),
        ('reviews', '0009_report_requests'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReaderCount',
            fields=[
                ('organisation', models.OneToOneField(db_column='org_id', on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='plans.organisation')),
                ('readers', models.IntegerField(default=0, verbose_name='readers')),
            ],
            options={
                'verbose_name': 'reader count',
                'db_table': 'bc_reader_count',
            },
        ),
        migrations.CreateModel(
            name='AckCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version_number', models.IntegerField(verbose_name='version')),
                ('acknowledged', models.IntegerField(default=0, verbose_name='acknowledged by readers')),
                ('plan', models.ForeignKey(db_column='plan_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='plans.plan')),
            ],
            options={
                'verbose_name': 'acknowledgement count',
                'db_table': 'bc_ack_count',
                'constraints': [models.UniqueConstraint(fields=('plan', 'version_number'), name='uq_bc_ack_count_plan_version')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
