from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from simple_history.models import HistoricalRecords


class TemplateQuerySet(models.QuerySet):
    def offered_to(self, org_id) -> "TemplateQuerySet":
        """Global templates and those of organisation `org_id` (None: global only)."""
        return self.filter(Q(org__isnull=True) | Q(org_id=org_id)) if org_id else self.filter(org__isnull=True)


class Template(models.Model):
    """A business continuity plan template: sections and typed fields (see docs/template-schema.md).

    A template is global (`org` empty, managed by superusers) or belongs to one organisation
    (managed by its BCP Admins). Once a plan version is written with it, its layout is frozen:
    a change makes a new template version (templates_app.services). A template in use by a
    plan or a version cannot be deleted (their foreign keys protect it).
    """

    # The organisation table belongs to `plans`; it is named, never imported, so this app
    # stays below plans (DESIGN: dependencies run reviews -> plans -> templates_app).
    org = models.ForeignKey(
        "plans.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="templates",
        db_column="org_id", verbose_name="organisation",
        help_text="Empty: a global template every organisation may use (managed by superusers).",
    )
    # 0 for global templates, else the organisation id: unique keys "per owner" on every
    # database (a NULL would never collide).
    owner_key = models.GeneratedField(
        expression=Coalesce(F("org"), Value(0)), output_field=models.BigIntegerField(), db_persist=True,
    )
    name = models.CharField("name", max_length=255)
    version = models.CharField("version", max_length=50, default="1")
    description = models.TextField("description", blank=True)
    is_default = models.BooleanField("default template", default=False)
    # 1 for the default template, NULL otherwise: a unique key on it lets the database
    # itself refuse a second default (MariaDB has no partial unique index).
    default_marker = models.GeneratedField(
        expression=Case(When(is_default=True, then=Value(1)), default=None),
        output_field=models.SmallIntegerField(null=True),
        db_persist=True,
    )
    schema_json = models.JSONField("schema", default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(table_name="bc_template_history", excluded_fields=["default_marker", "owner_key"])
    objects = TemplateQuerySet.as_manager()

    class Meta:
        db_table = "bc_template"
        verbose_name = "template"
        verbose_name_plural = "templates"
        ordering = ["name", "version"]
        permissions = [("manage_templates", "Can manage plan templates")]
        indexes = [
            # The create-plan form preselects the default template.
            models.Index(fields=["is_default"], name="idx_bc_template_default"),
            # Templates offered to an organisation (its own and the global ones).
            models.Index(fields=["org", "name"], name="idx_bc_template_org_name"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["owner_key", "name", "version"], name="uq_bc_template_name_version"),
            models.UniqueConstraint(fields=["owner_key", "default_marker"], name="uq_bc_template_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse("admin:templates_app_template_change", args=[self.pk])


class SectionDefinition(models.Model):
    """One section of a template stored as a row; merged with the sections in the template's schema."""

    template = models.ForeignKey(
        Template, on_delete=models.CASCADE, related_name="section_definitions", db_column="template_id"
    )
    key = models.CharField("key", max_length=100)
    title = models.CharField("title", max_length=255)
    order_index = models.IntegerField("order", default=0)
    schema_json = models.JSONField("schema", default=dict, blank=True)

    history = HistoricalRecords(table_name="bc_section_definition_history")

    class Meta:
        db_table = "bc_section_definition"
        verbose_name = "section definition"
        verbose_name_plural = "section definitions"
        ordering = ["template", "order_index", "key"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="uq_bc_section_template_key"),
            models.CheckConstraint(condition=~Q(key=""), name="ck_section_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.key})"
