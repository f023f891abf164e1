from django.db import models
from django.db.models import Case, Q, Value, When
from django.urls import reverse
from simple_history.models import HistoricalRecords


class Template(models.Model):
    """A business continuity plan template: sections and typed fields (see docs/template-schema.md).

    A template in use by a plan cannot be deleted (the plan's foreign key protects it).
    """

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

    history = HistoricalRecords(table_name="bc_template_history", excluded_fields=["default_marker"])

    class Meta:
        db_table = "bc_template"
        verbose_name = "template"
        verbose_name_plural = "templates"
        ordering = ["name", "version"]
        permissions = [("manage_templates", "Can manage plan templates")]
        indexes = [
            # The create-plan form preselects the default template.
            models.Index(fields=["is_default"], name="idx_bc_template_default"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="uq_bc_template_name_version"),
            models.UniqueConstraint(fields=["default_marker"], name="uq_bc_template_one_default"),
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
