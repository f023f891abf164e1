"""Stored plan facts (decision 5): review date, intervals, drift and "changes requested" as plan columns.

Filled for existing plans from what is already recorded: each approved plan's approved version
read through its template's roles (plans.plan_facts) and its linked changes. "Changes requested"
is filled by reviews 0006 (review rounds belong to reviews).
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Exists, OuterRef
from django.utils import timezone


def fill_facts(apps, schema_editor):
    from plans.plan_facts import review_due_on
    from templates_app.schema import interval_months, template_roles, template_sections

    Plan = apps.get_model("plans", "Plan")
    ChangeLogMap = apps.get_model("plans", "ChangeLogMap")
    approved = Plan.objects.filter(approved_version__isnull=False, approved_at_utc__isnull=False).select_related(
        "approved_version__template", "template")
    for plan in approved.iterator(chunk_size=500):
        version = plan.approved_version
        template = version.template or plan.template
        roles, content, sections = template_roles(template), version.content_json or {}, template_sections(template)

        def value(path):
            section_key, _, field_key = (path or "").partition(".")
            values = content.get(section_key)
            return values.get(field_key) if isinstance(values, dict) else None

        def field(path):
            section_key, _, field_key = (path or "").partition(".")
            section = next((s for s in sections if s["key"] == section_key), {"fields": []})
            return next((f for f in section["fields"] if f["key"] == field_key), None)

        keys = [roles["next_review_date"]] if "next_review_date" in roles else [
            f"{section_key}.{key}" for section_key in content for key in ("next_review", "next_review_date")]
        review_date = None
        for path in keys:
            try:
                review_date = timezone.datetime.fromisoformat(value(path)).date()
                break
            except (TypeError, ValueError):
                continue
        facts = {
            "review_date": review_date,
            "review_interval_months": interval_months(field(roles.get("review_interval")),
                                                      value(roles.get("review_interval"))),
            "exercise_interval_months": interval_months(field(roles.get("exercise_interval")),
                                                        value(roles.get("exercise_interval"))),
        }
        Plan.objects.filter(pk=plan.pk).update(
            next_review_due=review_due_on(facts, timezone.localdate(plan.approved_at_utc)),
            review_interval_months=facts["review_interval_months"],
            exercise_interval_months=facts["exercise_interval_months"],
        )
    newer = ChangeLogMap.objects.filter(plan_id=OuterRef("pk"), change__occurred_at_utc__gt=OuterRef("approved_at_utc"))
    Plan.objects.filter(approved_at_utc__isnull=False).update(review_needed=Exists(newer))



class Migration(migrations.Migration):

    dependencies = [
        ('plans', '0011_search'),
        ('templates_app', '0005_default_template_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalplan',
            name='changes_requested',
            field=models.BooleanField(default=False, help_text='The last review round asked for changes.', verbose_name='changes requested'),
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='exercise_interval_months',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='exercise interval (months)'),
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='last_exercised_on',
            field=models.DateField(blank=True, null=True, verbose_name='last exercised on'),
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='next_review_due',
            field=models.DateField(blank=True, null=True, verbose_name='next review due'),
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='review_interval_months',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='review interval (months)'),
        ),
        migrations.AddField(
            model_name='historicalplan',
            name='review_needed',
            field=models.BooleanField(default=False, help_text='A linked change happened after the last approval.', verbose_name='review needed'),
        ),
        migrations.AddField(
            model_name='plan',
            name='changes_requested',
            field=models.BooleanField(default=False, help_text='The last review round asked for changes.', verbose_name='changes requested'),
        ),
        migrations.AddField(
            model_name='plan',
            name='exercise_interval_months',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='exercise interval (months)'),
        ),
        migrations.AddField(
            model_name='plan',
            name='last_exercised_on',
            field=models.DateField(blank=True, null=True, verbose_name='last exercised on'),
        ),
        migrations.AddField(
            model_name='plan',
            name='next_review_due',
            field=models.DateField(blank=True, null=True, verbose_name='next review due'),
        ),
        migrations.AddField(
            model_name='plan',
            name='review_interval_months',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='review interval (months)'),
        ),
        migrations.AddField(
            model_name='plan',
            name='review_needed',
            field=models.BooleanField(default=False, help_text='A linked change happened after the last approval.', verbose_name='review needed'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['org', 'review_needed', 'updated_at', 'id'], name='idx_bc_plan_org_drift'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['org', 'next_review_due'], name='idx_bc_plan_org_review_due'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['owner_user', 'next_review_due'], name='idx_bc_plan_owner_review_due'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['owner_user', 'review_needed'], name='idx_bc_plan_owner_drift'),
        ),
        migrations.AddIndex(
            model_name='plan',
            index=models.Index(fields=['owner_user', 'changes_requested'], name='idx_bc_plan_owner_changes'),
        ),
        migrations.RunPython(fill_facts, migrations.RunPython.noop),
    ]
