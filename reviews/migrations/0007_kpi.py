# KPI snapshots (bc_kpi): one row per organisation, metric and day, written by `manage.py kpi_snapshot`.
# Written by hand (makemigrations would sweep other pending model changes into this file).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0012_plan_facts"),
        ("reviews", "0006_changes_requested_fill"),
    ]

    operations = [
        migrations.CreateModel(
            name="Kpi",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("metric_key", models.CharField(max_length=64, verbose_name="metric")),
                ("day", models.DateField(verbose_name="day")),
                ("unit", models.CharField(choices=[("percent", "%"), ("count", "count")], max_length=10,
                                          verbose_name="unit")),
                ("value", models.DecimalField(blank=True, decimal_places=1, max_digits=14, null=True,
                                              verbose_name="value")),
                ("numerator", models.BigIntegerField(default=0, verbose_name="counted")),
                ("denominator", models.BigIntegerField(blank=True, null=True, verbose_name="out of")),
                ("computed_at_utc", models.DateTimeField(verbose_name="computed at")),
                ("org", models.ForeignKey(db_column="org_id", on_delete=django.db.models.deletion.CASCADE,
                                          related_name="+", to="plans.organisation", verbose_name="organisation")),
            ],
            options={
                "verbose_name": "KPI snapshot",
                "verbose_name_plural": "KPI snapshots",
                "db_table": "bc_kpi",
                "ordering": ["-day", "metric_key"],
                "indexes": [
                    models.Index(fields=["org", "day", "metric_key"], name="idx_bc_kpi_org_day"),
                    models.Index(fields=["day"], name="idx_bc_kpi_day"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("org", "metric_key", "day"), name="uq_bc_kpi_org_metric_day"),
                    models.CheckConstraint(condition=models.Q(("unit__in", ["percent", "count"])),
                                           name="ck_kpi_unit_valid"),
                    models.CheckConstraint(condition=models.Q(("metric_key", ""), _negated=True),
                                           name="ck_kpi_metric_key"),
                    models.CheckConstraint(condition=models.Q(("value__isnull", True), ("value__gte", 0),
                                                              _connector="OR"),
                                           name="ck_kpi_value_non_negative"),
                    models.CheckConstraint(
                        condition=models.Q(models.Q(("unit", "percent"), _negated=True), ("value__isnull", True),
                                           ("value__lte", 100), _connector="OR"),
                        name="ck_kpi_percent_range",
                    ),
                    models.CheckConstraint(condition=models.Q(("numerator__gte", 0)),
                                           name="ck_kpi_numerator_non_negative"),
                    models.CheckConstraint(condition=models.Q(("denominator__isnull", True), ("denominator__gte", 0),
                                                              _connector="OR"),
                                           name="ck_kpi_denominator_non_negative"),
                ],
            },
        ),
    ]
