"""Plans and everything that hangs off a plan (the BC3 tables), plus organisations.

Table, column, index and constraint names are those of the BC3 data model
specification. Rules that the database can hold are declared here as constraints so
they hold on SQLite and MariaDB alike, whatever code writes the row.
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from simple_history.models import HistoricalRecords

HEX64 = r"^[0-9a-f]{64}$"


def _hash_ok(field: str, *, blank: bool) -> Q:
    """A check that a column holds a lowercase SHA-256 hex digest (or is empty when allowed)."""
    valid = Q(**{f"{field}__regex": HEX64})
    return (Q(**{field: ""}) | valid) if blank else valid


class Organisation(models.Model):
    """An organisation: the wall between tenants. Users see only their organisation's plans."""

    name = models.CharField("name", max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bc_organisation"
        verbose_name = "organisation"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """Which organisation a user belongs to (one organisation per user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", db_column="user_id"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships", db_column="org_id"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bc_membership"
        verbose_name = "membership"
        ordering = ["organisation", "user"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class PlanQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PlanQuerySet":
        """Plans of the user's organisation; none for anonymous users or users without one."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(org__memberships__user=user)


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    ARCHIVED = "archived", "Archived"


class Plan(models.Model):
    """A business continuity plan: its lifecycle status and a pointer to its active version.

    `draft_content_json` is the working copy of the section values; saving a revision
    freezes it (with a snapshot of contacts, processes and risks) into a new version.
    """

    Status = PlanStatus

    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, related_name="plans", db_column="org_id",
        verbose_name="organisation",
    )
    title = models.CharField("title", max_length=255)
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.DRAFT)
    template = models.ForeignKey(
        "templates_app.Template", on_delete=models.PROTECT, related_name="plans", db_column="template_id"
    )
    current_version = models.ForeignKey(
        "PlanVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="current_version_id", verbose_name="active version",
    )
    approved_version = models.ForeignKey(
        "PlanVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="approved_version_id", verbose_name="approved version",
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_plans",
        db_column="owner_user_id", verbose_name="owner",
    )
    approved_at_utc = models.DateTimeField("approved at", null=True, blank=True)
    draft_content_json = models.JSONField("working copy", default=dict, blank=True)
    # Bumped by every change to the working copy; a form posted with an older value
    # is a stale form and is refused rather than overwriting someone else's edit.
    edit_revision = models.PositiveIntegerField("edit revision", default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(table_name="bc_plan_history", excluded_fields=["draft_content_json"])
    objects = PlanQuerySet.as_manager()

    class Meta:
        db_table = "bc_plan"
        verbose_name = "plan"
        ordering = ["-updated_at"]
        permissions = [
            ("submit_plan", "Can submit a plan for review"),
            ("approve_plan", "Can approve a plan"),
            ("request_changes_plan", "Can request changes to a plan"),
            ("archive_plan", "Can archive a plan"),
            ("restore_plan", "Can restore an archived plan"),
        ]
        indexes = [
            # Plan list of an organisation filtered by status.
            models.Index(fields=["org", "status"], name="idx_bc_plan_org_status"),
            # Recently updated plans by status.
            models.Index(fields=["status", "updated_at"], name="idx_bc_plan_status_updated"),
            # Plans that use a template (the template-in-use check).
            models.Index(fields=["template"], name="idx_bc_plan_template"),
            # Plans filtered by owner.
            models.Index(fields=["owner_user"], name="idx_bc_plan_owner"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="ck_plan_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.pk])


class VersionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"


class PlanVersion(models.Model):
    """A numbered, frozen revision of a plan; `content_json` alone is enough to render it."""

    Status = VersionStatus

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions", db_column="plan_id")
    version_number = models.IntegerField("version")
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # 1 while active, NULL when superseded: the unique key on (plan, active_marker)
    # allows at most one active version per plan on every database.
    active_marker = models.GeneratedField(
        expression=Case(When(status="active", then=Value(1)), default=None),
        output_field=models.SmallIntegerField(null=True),
        db_persist=True,
    )
    # The template version this version was written with: it is laid out with it forever
    # (decision 8), whatever template the plan moves to later.
    template = models.ForeignKey(
        "templates_app.Template", on_delete=models.PROTECT, related_name="plan_versions", db_column="template_id",
        verbose_name="template",
    )
    authored_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_versions",
        db_column="authored_by_user_id", verbose_name="author",
    )
    authored_at_utc = models.DateTimeField("authored at")
    summary_change_note = models.TextField("change note", blank=True)
    content_json = models.JSONField("content", default=dict, blank=True)
    docx_export_hash = models.CharField("DOCX SHA-256", max_length=64, blank=True)
    pdf_export_hash = models.CharField("PDF SHA-256", max_length=64, blank=True)
    docx_export_path = models.CharField("DOCX storage path", max_length=500, blank=True)
    pdf_export_path = models.CharField("PDF storage path", max_length=500, blank=True)
    # The version's first final approval (a re-confirmation of the same version moves only the
    # plan's `approved_at_utc`), set by the approval service; its round names the approvers.
    approved_at_utc = models.DateTimeField("approved at", null=True, blank=True)
    approval_round = models.PositiveIntegerField("approval round", null=True, blank=True)

    history = HistoricalRecords(
        table_name="bc_plan_version_history", excluded_fields=["content_json", "active_marker"]
    )

    class Meta:
        db_table = "bc_plan_version"
        verbose_name = "plan version"
        ordering = ["plan", "-version_number"]
        constraints = [
            models.CheckConstraint(condition=Q(version_number__gt=0), name="ck_version_number_positive"),
            models.CheckConstraint(condition=Q(status__in=VersionStatus.values), name="ck_version_status_valid"),
            models.UniqueConstraint(fields=["plan", "version_number"], name="uq_bc_plan_version_number"),
            models.UniqueConstraint(fields=["plan", "active_marker"], name="uq_bc_plan_version_one_active"),
            models.CheckConstraint(condition=_hash_ok("docx_export_hash", blank=True), name="ck_version_docx_hash"),
            models.CheckConstraint(condition=_hash_ok("pdf_export_hash", blank=True), name="ck_version_pdf_hash"),
            models.CheckConstraint(
                condition=Q(approval_round__isnull=True) | Q(approval_round__gt=0), name="ck_version_round_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.version_number}"

    def get_absolute_url(self) -> str:
        return reverse("plans:version_detail", args=[self.plan_id, self.version_number])


class Contact(models.Model):
    """An emergency contact of a plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="contacts", db_column="plan_id")
    name = models.CharField("name", max_length=255)
    role = models.CharField("role", max_length=255, blank=True)
    phone = models.CharField("phone", max_length=50, blank=True)
    email = models.EmailField("email", max_length=255, blank=True)
    notes = models.TextField("notes", blank=True)

    history = HistoricalRecords(table_name="bc_contact_history")

    class Meta:
        db_table = "bc_contact"
        verbose_name = "contact"
        ordering = ["plan", "name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#contacts"


class Process(models.Model):
    """A critical business process with its recovery objectives (minutes)."""

    class Impact(models.TextChoices):
        CRITICAL = "critical", "Critical"
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="processes", db_column="plan_id")
    name = models.CharField("name", max_length=255)
    description = models.TextField("description", blank=True)
    rto_minutes = models.IntegerField("RTO (minutes)", null=True, blank=True)
    rpo_minutes = models.IntegerField("RPO (minutes)", null=True, blank=True)
    mtpd_minutes = models.IntegerField("MTPD (minutes)", null=True, blank=True)
    impact_rating = models.CharField("impact", max_length=50, choices=Impact.choices, blank=True)
    dependencies_json = models.JSONField("dependencies", default=list, blank=True)

    history = HistoricalRecords(table_name="bc_process_history")

    class Meta:
        db_table = "bc_process"
        verbose_name = "process"
        verbose_name_plural = "processes"
        ordering = ["plan", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(rto_minutes__gte=0), name="ck_rto_non_negative"),
            models.CheckConstraint(condition=Q(rpo_minutes__gte=0), name="ck_rpo_non_negative"),
            models.CheckConstraint(condition=Q(mtpd_minutes__gte=0), name="ck_mtpd_non_negative"),
            # A process must be back before the organisation can no longer tolerate its loss.
            models.CheckConstraint(
                condition=Q(rto_minutes__isnull=True)
                | Q(mtpd_minutes__isnull=True)
                | Q(rto_minutes__lte=F("mtpd_minutes")),
                name="ck_rto_within_mtpd",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#processes"


class Risk(models.Model):
    """A risk to the plan's activities; `rating` is derived from likelihood and impact (plans.risk)."""

    class Likelihood(models.TextChoices):
        RARE = "rare", "1 Rare"
        UNLIKELY = "unlikely", "2 Unlikely"
        POSSIBLE = "possible", "3 Possible"
        LIKELY = "likely", "4 Likely"
        ALMOST_CERTAIN = "almost_certain", "5 Almost certain"

    class Impact(models.TextChoices):
        INSIGNIFICANT = "insignificant", "1 Insignificant"
        MINOR = "minor", "2 Minor"
        MODERATE = "moderate", "3 Moderate"
        MAJOR = "major", "4 Major"
        SEVERE = "severe", "5 Severe"

    class Rating(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        EXTREME = "extreme", "Extreme"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="risks", db_column="plan_id")
    threat = models.CharField("threat", max_length=500)
    likelihood = models.CharField("likelihood", max_length=50, choices=Likelihood.choices)
    impact = models.CharField("impact", max_length=50, choices=Impact.choices)
    rating = models.CharField("rating", max_length=50, choices=Rating.choices)
    mitigation = models.TextField("mitigation", blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="owned_risks", db_column="owner_user_id", verbose_name="owner",
    )

    history = HistoricalRecords(table_name="bc_risk_history")

    class Meta:
        db_table = "bc_risk"
        verbose_name = "risk"
        ordering = ["plan", "threat", "id"]
        indexes = [
            # Risks filtered by rating (risk register).
            models.Index(fields=["rating"], name="idx_bc_risk_rating"),
            # Risks a user owns.
            models.Index(fields=["owner_user"], name="idx_bc_risk_owner"),
        ]

    def __str__(self) -> str:
        return self.threat

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#risks"


class Attachment(models.Model):
    """A supporting file of a plan; the bytes live in the storage backend at `storage_path`."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="attachments", db_column="plan_id")
    file_name = models.CharField("file name", max_length=255)
    storage_path = models.CharField("storage path", max_length=500, unique=True)
    content_type = models.CharField("content type", max_length=100)
    size_bytes = models.BigIntegerField("size (bytes)")
    uploaded_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
        db_column="uploaded_by_user_id", verbose_name="uploaded by",
    )
    uploaded_at_utc = models.DateTimeField("uploaded at")
    hash = models.CharField("SHA-256", max_length=64)

    class Meta:
        db_table = "bc_attachment"
        verbose_name = "attachment"
        ordering = ["plan", "-uploaded_at_utc"]
        constraints = [
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="ck_size_non_negative"),
            models.CheckConstraint(condition=_hash_ok("hash", blank=False), name="ck_attachment_hash"),
        ]

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.plan_id]) + "#attachments"


class Audit(models.Model):
    """One action: who did what, when, with details. Never changed after it is written.

    Every row belongs to an organisation (`org`); a row about a plan also names the plan.
    Organisation events (memberships, people, templates, lockouts) have no plan. A row with
    neither is a system-wide event (say a superuser editing a global template): only
    superusers see it.
    """

    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries",
        db_column="org_id", verbose_name="organisation",
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries", db_column="plan_id",
        verbose_name="plan",
    )
    action = models.CharField("action", max_length=100)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="actor_user_id", verbose_name="actor",
    )
    details_json = models.JSONField("details", default=dict, blank=True)
    at_utc = models.DateTimeField("at", db_index=False)

    class Meta:
        db_table = "bc_audit"
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-at_utc", "-id"]
        indexes = [
            # Audit trail filtered by action type.
            models.Index(fields=["action"], name="idx_bc_audit_action"),
            # Chronological audit trail.
            models.Index(fields=["at_utc"], name="idx_bc_audit_at"),
            # The organisation audit page, its CSV and the admin list: one organisation, newest first.
            models.Index(fields=["org", "at_utc"], name="idx_bc_audit_org_at"),
        ]

    def __str__(self) -> str:
        if self.plan_id is not None:
            subject = f"plan {self.plan_id}"
        elif self.org_id is not None:
            subject = f"organisation {self.org_id}"
        else:
            subject = "system"
        return f"{self.action} on {subject} at {self.at_utc:%Y-%m-%d %H:%M}"


class ChangeRecord(models.Model):
    """A change imported from a change-log file (`changes/<guid>.json`), stored once per GUID."""

    guid = models.CharField("GUID", max_length=36, unique=True)
    occurred_at_utc = models.DateTimeField("occurred at")
    change_type = models.CharField("type", max_length=50)
    summary = models.TextField("summary")
    content_hash = models.CharField("content hash", max_length=64)
    hash_mismatch = models.BooleanField("hash mismatch", default=False)
    affects_json = models.JSONField("affects", default=list, blank=True)
    plans_json = models.JSONField("plan ids", default=list, blank=True)
    source_file = models.CharField("source file", max_length=255, blank=True)
    imported_at_utc = models.DateTimeField("imported at")

    class Meta:
        db_table = "bc_change"
        verbose_name = "change record"
        ordering = ["-occurred_at_utc"]
        indexes = [
            # Changes that occurred after a plan's approval (review-needed flag).
            models.Index(fields=["occurred_at_utc"], name="idx_bc_change_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.change_type}: {self.summary[:60]}"


class ChangeLogMap(models.Model):
    """Links a change-log entry (by GUID) to a plan it affects."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="change_links", db_column="plan_id")
    change_guid = models.CharField("change GUID", max_length=36)
    change = models.ForeignKey(
        ChangeRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="plan_links",
        db_column="change_id",
    )
    imported_at_utc = models.DateTimeField("imported at")

    class Meta:
        db_table = "bc_change_log_map"
        verbose_name = "change link"
        ordering = ["plan", "-imported_at_utc"]
        indexes = [
            # Which plans a change is linked to.
            models.Index(fields=["change_guid"], name="idx_bc_change_log_guid"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["plan", "change_guid"], name="uq_bc_change_log_plan_guid"),
        ]

    def __str__(self) -> str:
        return f"{self.change_guid} -> plan {self.plan_id}"


class SubmissionToken(models.Model):
    """A saved form submission: its one-time token and where its success redirect went.

    Forms that create something carry a token made when the form is rendered. The first POST
    records it here in the same transaction as the write; a second POST of the same token (a
    double click, a reload) writes nothing and is redirected to `result_url` (`plans.submissions`).
    The unique key on `token` decides between two simultaneous POSTs. Rows older than two days
    are purged by `manage.py purge_submission_tokens`.
    """

    token = models.CharField("token", max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_column="user_id",
        verbose_name="user",
    )
    result_url = models.TextField("result URL", blank=True)
    created_at_utc = models.DateTimeField("created at")

    class Meta:
        db_table = "bc_submission_token"
        verbose_name = "submission token"
        constraints = [
            models.UniqueConstraint(fields=["token"], name="uq_bc_submission_token"),
        ]
        indexes = [
            # The periodic purge of old tokens (created_at_utc < cut-off).
            models.Index(fields=["created_at_utc"], name="idx_bc_submission_created"),
        ]

    def __str__(self) -> str:
        return f"{self.token[:8]}… -> {self.result_url}"
