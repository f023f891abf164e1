"""Resources a plan's recovery needs, the organisation's vendor register, and a plan's collaborators.

    bc_resource           what recovery needs (people, workspace, IT systems, ...), per plan, optionally per process
    bc_resource_quantity  how many of a resource are needed after N minutes of disruption
    bc_vendor             the organisation's third parties, with their committed recovery time and evidence
    bc_process_vendor     which vendors a critical process depends on (beside its free-text dependencies)
    bc_plan_collaborator  people who contribute to a plan: co-authors, section owners, default reviewers

Resources and the vendors a process depends on are part of a version's snapshot (`plans.resources`,
`plans.vendors`); collaborators are labels and notifications, never rights (`plans.collaborators`).
Imported at the end of `plans.models`, so they are the `plans` app's models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .models import Organisation, Plan, Process


class ResourceKind(models.TextChoices):
    PEOPLE = "people", "People"
    WORKSPACE = "workspace", "Workspace"
    IT_SYSTEM = "it_system", "IT system"
    EQUIPMENT = "equipment", "Equipment"
    DATA = "data", "Data"
    SUPPLIER = "supplier", "Supplier"


class Resource(models.Model):
    """Something a plan's recovery needs (staff, seats, a system, data, a supplier), where it comes from
    and where else it could come from; `quantities` say how many are needed as the disruption lasts.

    `process` is the critical process it serves, if it serves one (a process removed leaves the
    resource to the plan as a whole).
    """

    Kind = ResourceKind

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="resources", db_column="plan_id")
    process = models.ForeignKey(
        Process, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources",
        db_column="process_id", verbose_name="for process",
    )
    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    name = models.CharField("name", max_length=255)
    primary_source = models.CharField("primary source", max_length=255, blank=True)
    alternate_source = models.CharField("alternate source", max_length=255, blank=True)
    notes = models.TextField("notes", blank=True)

    history = HistoricalRecords(table_name="bc_resource_history")

    class Meta:
        db_table = "bc_resource"
        verbose_name = "resource"
        ordering = ["plan", "name", "id"]
        indexes = [
            # A plan's resources by name (the snapshot, the plan page).
            models.Index(fields=["plan", "name", "id"], name="idx_bc_resource_plan"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ResourceKind.values), name="ck_resource_kind_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="ck_resource_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#resources"


class ResourceQuantity(models.Model):
    """How many of a resource are needed from `after_minutes` into a disruption (one row per time)."""

    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="quantities", db_column="resource_id",
    )
    after_minutes = models.IntegerField("after (minutes)")
    quantity = models.IntegerField("quantity")

    history = HistoricalRecords(table_name="bc_resource_quantity_history")

    class Meta:
        db_table = "bc_resource_quantity"
        verbose_name = "resource quantity"
        verbose_name_plural = "resource quantities"
        ordering = ["resource", "after_minutes"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "after_minutes"], name="uq_bc_resource_quantity_time"),
            models.CheckConstraint(condition=Q(after_minutes__gte=0), name="ck_resource_quantity_after"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="ck_resource_quantity_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} after {self.after_minutes} min"


class VendorCriticality(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class NameKeyField(models.CharField):
    """A normalised key whose uniqueness the database compares byte for byte.

    SQLite compares text byte for byte; MariaDB's default collation (utf8mb4_general_ci) folds
    case, accents and trailing spaces, and would refuse keys the application holds distinct. The
    column uses MariaDB's binary collation, so the key (`plans.vendors.vendor_name_key`) alone
    decides what is the same name, on both databases.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "mysql":
            params["collation"] = "utf8mb4_bin"
        return params


class Vendor(models.Model):
    """A third party of the organisation (decision 1: it belongs to the organisation, not to a plan).

    `name_key` is the name as compared (casefolded, accents stripped, spaces collapsed: set by
    `plans.vendors.vendor_save`), unique per organisation, so "Acme GmbH", "ACME  gmbh" and
    "Açme GmbH" are one vendor on every database. `recovery_minutes` is how soon the vendor
    committed to be back after a disruption; `evidence_on` the day the last evidence of its
    continuity arrived (a certificate, a test report).
    """

    Criticality = VendorCriticality

    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="vendors", db_column="org_id",
        verbose_name="organisation",
    )
    name = models.CharField("name", max_length=255)
    name_key = NameKeyField("name as compared", max_length=255, editable=False)
    service = models.CharField("service", max_length=255, blank=True, help_text="What the vendor provides.")
    contacts = models.TextField("contacts", blank=True,
                                help_text="Who to call at the vendor in an incident: names, phones, emails.")
    contract_reference = models.CharField("contract reference", max_length=100, blank=True)
    recovery_minutes = models.IntegerField(
        "committed recovery time (minutes)", null=True, blank=True,
        help_text="How soon the vendor committed to restore its service after a disruption.",
    )
    evidence_on = models.DateField(
        "last continuity evidence received", null=True, blank=True,
        help_text="The day the latest evidence of the vendor's continuity arrived (certificate, test report).",
    )
    criticality = models.CharField("criticality", max_length=20, choices=Criticality.choices,
                                   default=Criticality.MEDIUM)
    processes = models.ManyToManyField(Process, through="ProcessVendor", related_name="vendors", blank=True)
    created_at_utc = models.DateTimeField("created at")
    updated_at_utc = models.DateTimeField("updated at")

    history = HistoricalRecords(table_name="bc_vendor_history")

    class Meta:
        db_table = "bc_vendor"
        verbose_name = "vendor"
        ordering = ["-updated_at_utc", "-id"]
        indexes = [
            # The vendor list (plans.vendors.vendor_list_queryset) and the admin list: one organisation,
            # latest change first, paged by keyset on (updated_at_utc, id).
            models.Index(fields=["org", "updated_at_utc", "id"], name="idx_bc_vendor_org_updated"),
            # The vendor list filtered by criticality (same order and cursor).
            models.Index(fields=["org", "criticality", "updated_at_utc", "id"], name="idx_bc_vendor_org_crit"),
            # Vendors whose evidence is stale (a range of days, or none recorded).
            models.Index(fields=["org", "evidence_on"], name="idx_bc_vendor_org_evidence"),
            # The admin list across organisations (superusers), latest change first.
            models.Index(fields=["updated_at_utc", "id"], name="idx_bc_vendor_updated"),
        ]
        constraints = [
            # The name as compared, once per organisation (the key's column compares byte for byte).
            models.UniqueConstraint(fields=["org", "name_key"], name="uq_bc_vendor_org_name_key"),
            models.CheckConstraint(condition=~Q(name_key=""), name="ck_vendor_name_key"),
            models.CheckConstraint(condition=Q(recovery_minutes__gte=0), name="ck_vendor_recovery_non_negative"),
            models.CheckConstraint(condition=Q(criticality__in=VendorCriticality.values),
                                   name="ck_vendor_criticality_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("vendors:vendor_detail", args=[self.pk])


class ProcessVendor(models.Model):
    """A critical process depends on a vendor. RESTRICT: a vendor still depended on is not deleted alone."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="vendor_links",
                                db_column="process_id")
    vendor = models.ForeignKey(Vendor, on_delete=models.RESTRICT, related_name="process_links",
                               db_column="vendor_id")

    history = HistoricalRecords(table_name="bc_process_vendor_history")

    class Meta:
        db_table = "bc_process_vendor"
        verbose_name = "process dependency on a vendor"
        verbose_name_plural = "process dependencies on vendors"
        constraints = [
            models.UniqueConstraint(fields=["process", "vendor"], name="uq_bc_process_vendor"),
        ]
        indexes = [
            # The processes that depend on a vendor (the vendor page, its flags).
            models.Index(fields=["vendor", "process"], name="idx_bc_process_vendor_vendor"),
        ]

    def __str__(self) -> str:
        return f"process {self.process_id} depends on vendor {self.vendor_id}"


class CollaboratorRole(models.TextChoices):
    CO_AUTHOR = "co_author", "Co-author"
    SECTION_OWNER = "section_owner", "Section owner"
    DEFAULT_REVIEWER = "default_reviewer", "Default reviewer"


class PlanCollaborator(models.Model):
    """A person who contributes to a plan, in a role: a label and notifications, never a right.

    Section owners (`section_keys`: the template sections they look after) are emailed when their
    sections change in a revision and when the plan's review date approaches; default reviewers
    are preselected when the plan is submitted, if the four-eyes rule lets them review. What a
    person may do stays with their permission groups. One row per person and role.
    """

    Role = CollaboratorRole

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="collaborators", db_column="plan_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_collaborations",
        db_column="user_id", verbose_name="person",
    )
    role = models.CharField("role", max_length=20, choices=Role.choices)
    section_keys = models.JSONField("sections", default=list, blank=True)
    added_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="added_by_user_id", verbose_name="added by",
    )
    added_at_utc = models.DateTimeField("added at")

    history = HistoricalRecords(table_name="bc_plan_collaborator_history")

    class Meta:
        db_table = "bc_plan_collaborator"
        verbose_name = "plan collaborator"
        ordering = ["plan", "role", "id"]
        indexes = [
            # A plan's collaborators in one role (section owners on a revision, default reviewers on submit).
            models.Index(fields=["plan", "role"], name="idx_bc_plan_collab_plan_role"),
            # Every section owner's plans (the daily review-date notice starts from the role).
            models.Index(fields=["role", "plan"], name="idx_bc_plan_collab_role"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["plan", "user", "role"], name="uq_bc_plan_collaborator_role"),
            models.CheckConstraint(condition=Q(role__in=CollaboratorRole.values),
                                   name="ck_plan_collaborator_role_valid"),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query.
        return f"user {self.user_id} as {self.get_role_display().lower()} of plan {self.plan_id}"

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#collaborators"
