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

from .recovery import RECOVERY_OUTCOMES

HEX64 = r"^[0-9a-f]{64}$"


def _hash_ok(field: str, *, blank: bool) -> Q:
    """A check that a column holds a lowercase SHA-256 hex digest (or is empty when allowed)."""
    valid = Q(**{f"{field}__regex": HEX64})
    return (Q(**{field: ""}) | valid) if blank else valid


def cascade_keeping_checks(collector, field, sub_objs, using):
    """CASCADE for a nullable column that a check constraint needs set (a finding's source, what an issued file
    names): the rows are deleted before the row they point to, never set to NULL first.

    Django's CASCADE first sets a nullable column to NULL on a database that cannot defer constraint
    checks (MariaDB, MySQL), so that it may delete in any order; the row would then break its own check
    (a finding without its source, an export without its plan) and the whole deletion would be refused.
    Collected as a required column instead, the rows are ordered before their parent and deleted as they are.
    """
    collector.collect(sub_objs, source=field.remote_field.model, source_attr=field.name, nullable=False,
                      fail_on_restricted=False)


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
        # Stored fields only: a label never costs a query (lists, messages, history).
        return f"user {self.user_id} in organisation {self.organisation_id}"


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
    # Stored plan facts (decision 5, plans.plan_facts): copied from the approved version through the
    # template's roles, or kept by the services, so lists and home pages filter without reading JSON.
    next_review_due = models.DateField("next review due", null=True, blank=True)
    review_interval_months = models.PositiveSmallIntegerField("review interval (months)", null=True, blank=True)
    exercise_interval_months = models.PositiveSmallIntegerField("exercise interval (months)", null=True, blank=True)
    last_exercised_on = models.DateField("last exercised on", null=True, blank=True)
    # Kept by plans.exercises (an exercise held) and plan_facts_approved: the last held exercise plus the
    # exercise interval; never exercised, the first approval's day (due at once). Empty without an interval.
    next_exercise_due = models.DateField("next exercise due", null=True, blank=True)
    review_needed = models.BooleanField(
        "review needed", default=False, help_text="A linked change happened after the last approval.")
    changes_requested = models.BooleanField(
        "changes requested", default=False, help_text="The last review round asked for changes.")
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
            # The plan list (plans.selectors.plan_list_queryset): one organisation, newest change
            # first, paged by keyset on (updated_at, id): filter, order and cursor in one index.
            models.Index(fields=["org", "updated_at", "id"], name="idx_bc_plan_org_updated"),
            # The plan list filtered by status (same order and cursor).
            models.Index(fields=["org", "status", "updated_at", "id"], name="idx_bc_plan_org_status"),
            # Recently updated plans by status.
            models.Index(fields=["status", "updated_at"], name="idx_bc_plan_status_updated"),
            # The admin plan list across organisations (superusers), newest change first.
            models.Index(fields=["updated_at", "id"], name="idx_bc_plan_updated"),
            # Plans that use a template (the template-in-use check), and the admin plan list filtered
            # by template (same order).
            models.Index(fields=["template", "updated_at", "id"], name="idx_bc_plan_template"),
            # Plans by owner, and the plan list filtered by owner (same order and cursor); a person's
            # own plans on their home page.
            models.Index(fields=["owner_user", "updated_at", "id"], name="idx_bc_plan_owner"),
            # The plan list filtered to plans whose review is needed (same order and cursor).
            models.Index(fields=["org", "review_needed", "updated_at", "id"], name="idx_bc_plan_org_drift"),
            # Plans by review date: overdue and due soon (lists, figures).
            models.Index(fields=["org", "next_review_due"], name="idx_bc_plan_org_review_due"),
            # Plans whose exercise is due: the plan list's "Exercise due" filter and figures.
            models.Index(fields=["org", "next_exercise_due"], name="idx_bc_plan_org_exercise_due"),
            # A person's own plans that need them (reviews.attention): each reason read through its own index,
            # so the cost follows what needs them, not how many plans they own.
            models.Index(fields=["owner_user", "next_review_due"], name="idx_bc_plan_owner_review_due"),
            models.Index(fields=["owner_user", "review_needed"], name="idx_bc_plan_owner_drift"),
            models.Index(fields=["owner_user", "changes_requested"], name="idx_bc_plan_owner_changes"),
            models.Index(fields=["owner_user", "next_exercise_due"], name="idx_bc_plan_owner_exercise_due"),
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
        # Stored fields only: a label never costs a query (the plan list shows the active version).
        return f"Version {self.version_number}"

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


class IssuedFileKind(models.TextChoices):
    PLAN_PDF = "plan_pdf", "Plan PDF"
    PLAN_DOCX = "plan_docx", "Plan DOCX"
    EXERCISE_REPORT = "exercise_report", "Exercise report PDF"
    BREAKGLASS_HTML = "breakglass_html", "Break-glass pack (offline HTML)"
    BREAKGLASS_PDF = "breakglass_pdf", "Break-glass pack PDF"
    INCIDENT_REPORT = "incident_report", "Post-incident report PDF"
    KPI_REPORT = "kpi_report", "KPI report"
    EVIDENCE_PACK = "evidence_pack", "Evidence pack"


# Files of a plan version (marked draft, approved or superseded as the version is when rendered).
VERSION_FILE_KINDS = (IssuedFileKind.PLAN_PDF, IssuedFileKind.PLAN_DOCX, IssuedFileKind.BREAKGLASS_HTML,
                      IssuedFileKind.BREAKGLASS_PDF, IssuedFileKind.EVIDENCE_PACK)
# Files issued once, marked final: reports.
FINAL_FILE_KINDS = (IssuedFileKind.EXERCISE_REPORT, IssuedFileKind.INCIDENT_REPORT, IssuedFileKind.KPI_REPORT)
# Files of the organisation rather than of one plan: an incident may activate several plans, or none.
ORG_FILE_KINDS = (IssuedFileKind.INCIDENT_REPORT, IssuedFileKind.KPI_REPORT)


class IssuedFileMarking(models.TextChoices):
    """What a file says about its version, decided when it is rendered (plans.exports.issued)."""

    DRAFT = "draft", "Draft (not approved)"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"
    FINAL = "final", "Final"  # a report (exercise, incident, KPI): issued once


class IssuedFile(models.Model):
    """A file the product issued (decision 2): what it is, its marking, SHA-256 and where it is stored.

    Append-only: a row is written once, when the file is first stored, and never changed; a
    stored file is never re-rendered or overwritten. A version whose state changed since (a
    draft approved, an approved version superseded) gets a new file and row with the new
    marking, and the earlier file still verifies. The verify page and `verify_export` read
    only this table.
    """

    Kind = IssuedFileKind
    Marking = IssuedFileMarking

    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    # Deleted with what they name (cascade_keeping_checks: never set to NULL first, which the checks refuse).
    org = models.ForeignKey(
        Organisation, on_delete=cascade_keeping_checks, null=True, blank=True, related_name="+", db_column="org_id",
        verbose_name="organisation",
    )
    # NULL for the organisation's files (ORG_FILE_KINDS: KPI reports, post-incident reports).
    plan = models.ForeignKey(Plan, on_delete=cascade_keeping_checks, null=True, blank=True,
                             related_name="issued_files", db_column="plan_id")
    # NULL for files that are not a version's (reports).
    version = models.ForeignKey(
        PlanVersion, on_delete=cascade_keeping_checks, null=True, blank=True, related_name="issued_files",
        db_column="version_id", verbose_name="version",
    )
    # The exercise of an after-action report (kind `exercise_report`); NULL for every other file.
    exercise = models.ForeignKey(
        "Exercise", on_delete=cascade_keeping_checks, null=True, blank=True, related_name="issued_files",
        db_column="exercise_id", verbose_name="exercise",
    )
    # The incident of a post-incident report (kind `incident_report`); NULL for every other file.
    incident = models.ForeignKey(
        "Incident", on_delete=cascade_keeping_checks, null=True, blank=True, related_name="issued_files",
        db_column="incident_id", verbose_name="incident",
    )
    marking = models.CharField("marking", max_length=20, choices=Marking.choices)
    sha256 = models.CharField("SHA-256", max_length=64)
    storage_path = models.CharField("storage path", max_length=500)
    size_bytes = models.BigIntegerField("size (bytes)")
    edition = models.PositiveIntegerField(
        "edition", default=1, help_text="Files issued once have edition 1; evidence packs count their builds.")
    issued_at_utc = models.DateTimeField("issued at")
    issued_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="issued_by_user_id", verbose_name="issued by",
    )

    class Meta:
        db_table = "bc_issued_file"
        verbose_name = "issued file"
        ordering = ["-issued_at_utc", "-id"]
        indexes = [
            # The verify page and `verify_export`: which issued file has this SHA-256?
            models.Index(fields=["sha256"], name="idx_bc_issued_file_sha256"),
            # The admin list of one organisation, newest first.
            models.Index(fields=["org", "issued_at_utc"], name="idx_bc_issued_file_org_at"),
        ]
        constraints = [
            # One file per version, kind and marking: the download looks it up by this key.
            # A version's file of a kind and marking is issued once; an evidence pack is built again on
            # request, each build a new edition (1, 2, ...).
            models.UniqueConstraint(fields=["version", "kind", "marking", "edition"], name="uq_bc_issued_file_version"),
            models.CheckConstraint(condition=Q(edition__gte=1), name="ck_issued_file_edition_positive"),
            models.CheckConstraint(condition=Q(kind=IssuedFileKind.EVIDENCE_PACK) | Q(edition=1),
                                   name="ck_issued_file_one_edition"),
            models.CheckConstraint(condition=Q(kind__in=IssuedFileKind.values), name="ck_issued_file_kind_valid"),
            models.CheckConstraint(
                condition=Q(marking__in=IssuedFileMarking.values), name="ck_issued_file_marking_valid"
            ),
            models.CheckConstraint(condition=_hash_ok("sha256", blank=False), name="ck_issued_file_sha256"),
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="ck_issued_file_size_non_negative"),
            # One after-action report per exercise, naming its exercise; every other file names no exercise.
            models.UniqueConstraint(fields=["exercise", "kind"], name="uq_bc_issued_file_exercise"),
            models.CheckConstraint(
                condition=Q(kind=IssuedFileKind.EXERCISE_REPORT, exercise__isnull=False)
                | (~Q(kind=IssuedFileKind.EXERCISE_REPORT) & Q(exercise__isnull=True)),
                name="ck_issued_file_report_exercise",
            ),
            # One post-incident report per incident, naming its incident; every other file names no incident.
            models.UniqueConstraint(fields=["incident", "kind"], name="uq_bc_issued_file_incident"),
            models.CheckConstraint(
                condition=Q(kind=IssuedFileKind.INCIDENT_REPORT, incident__isnull=False)
                | (~Q(kind=IssuedFileKind.INCIDENT_REPORT) & Q(incident__isnull=True)),
                name="ck_issued_file_incident",
            ),
            # Reports are marked final (issued once); a version's files never are.
            models.CheckConstraint(
                condition=Q(kind__in=FINAL_FILE_KINDS, marking=IssuedFileMarking.FINAL)
                | (~Q(kind__in=FINAL_FILE_KINDS) & ~Q(marking=IssuedFileMarking.FINAL)),
                name="ck_issued_file_final_marking",
            ),
            # A version's files name their version; reports name none.
            models.CheckConstraint(
                condition=Q(kind__in=VERSION_FILE_KINDS, version__isnull=False)
                | (~Q(kind__in=VERSION_FILE_KINDS) & Q(version__isnull=True)),
                name="ck_issued_file_version",
            ),
            # The organisation's files (KPI and post-incident reports) name the organisation and no plan;
            # every other file names its plan.
            models.CheckConstraint(
                condition=Q(kind__in=ORG_FILE_KINDS, plan__isnull=True, org__isnull=False)
                | (~Q(kind__in=ORG_FILE_KINDS) & Q(plan__isnull=False)),
                name="ck_issued_file_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]}… ({self.get_marking_display()})"

    def get_absolute_url(self) -> str:
        """The version's page (reads the version unless it was selected with the row); a report's exercise or
        incident; the KPI dashboard for the organisation's KPI reports."""
        if self.exercise_id is not None:
            return reverse("exercises:exercise_detail", args=[self.plan_id, self.exercise_id])
        if self.incident_id is not None:
            return reverse("incidents:incident_detail", args=[self.incident_id])
        if self.plan_id is None:
            return reverse("kpi:dashboard")
        if self.version_id is None:
            return reverse("plans:plan_detail", args=[self.plan_id])
        return reverse("plans:version_detail", args=[self.plan_id, self.version.version_number])


class IssuedFileRequest(models.Model):
    """A file asked for and not issued yet: the one render task that will issue it.

    The unique key makes concurrent first downloads share one task. The task notes when it
    starts and, on failure, the error (the "being prepared" page reads both); the row is
    deleted once the file is issued. Operational, not evidence: rows may be reset or removed.
    """

    version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="+", db_column="version_id", verbose_name="version",
    )
    kind = models.CharField("kind", max_length=20, choices=IssuedFileKind.choices)
    marking = models.CharField("marking", max_length=20, choices=IssuedFileMarking.choices)
    requested_at_utc = models.DateTimeField("requested at")
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="requested_by_user_id", verbose_name="requested by",
    )
    task_id = models.CharField("task id", max_length=64, blank=True)
    started_at_utc = models.DateTimeField("started at", null=True, blank=True)
    failed_at_utc = models.DateTimeField("failed at", null=True, blank=True)
    error = models.TextField("error", blank=True)

    class Meta:
        db_table = "bc_issued_file_request"
        verbose_name = "file request"
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "marking"], name="uq_bc_issued_file_request"),
            models.CheckConstraint(
                condition=Q(kind__in=IssuedFileKind.values), name="ck_issued_file_request_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(marking__in=IssuedFileMarking.values), name="ck_issued_file_request_marking_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of version {self.version_id} ({self.get_marking_display()}), requested"


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
            # The organisation audit page, its CSV and the admin list: one organisation, newest first,
            # paged by keyset on (at_utc, id).
            models.Index(fields=["org", "at_utc", "id"], name="idx_bc_audit_org_at"),
            # A plan's audit page and the plan page's recent entries (same order and cursor).
            models.Index(fields=["plan", "at_utc", "id"], name="idx_bc_audit_plan_at"),
            # The organisation audit page filtered by action (same order and cursor).
            models.Index(fields=["org", "action", "at_utc", "id"], name="idx_bc_audit_org_action_at"),
            # The audit pages filtered by actor (same order and cursor).
            models.Index(fields=["actor_user", "at_utc", "id"], name="idx_bc_audit_actor_at"),
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


class RateCounter(models.Model):
    """Hits of one subject (a client address, an email address) against one limit in one window.

    Shared by every application process and incremented atomically (`plans.ratelimit`), so a
    limit holds however many processes serve the site. Rows of ended windows are removed as
    new windows start.
    """

    key = models.CharField("key", max_length=191, primary_key=True)
    count = models.PositiveIntegerField("hits", default=0)
    expires_at_utc = models.DateTimeField("window ends at")

    class Meta:
        db_table = "bc_rate_counter"
        verbose_name = "rate limit counter"
        indexes = [
            models.Index(fields=["expires_at_utc"], name="idx_bc_rate_counter_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class NotificationKind(models.TextChoices):
    REVIEW_ASSIGNED = "review_assigned", "Review assigned"
    REVIEW_DECISION = "review_decision", "Review decision"
    REVIEW_CANCELLED = "review_cancelled", "Review cancelled"
    ACK_LINK = "ack_link", "Acknowledgement link"
    ACK_LINK_RESEND = "ack_link_resend", "New acknowledgement link on request"
    ACK_REMINDER = "ack_reminder", "Acknowledgement reminder"
    DRIFT = "drift", "Drift alert"
    PASSWORD_RESET = "password_reset", "Password reset"
    FINDINGS_OVERDUE = "findings_overdue", "Overdue findings"
    SECTION_CHANGED = "section_changed", "Owned sections changed in a revision"
    REVIEW_DUE = "review_due", "Review date approaching"
    OTHER = "other", "Other"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # refused for good by the mail server (e.g. no such mailbox)
    GIVEN_UP = "given_up", "Given up"  # temporary failures, too many times


class Notification(models.Model):
    """One email the product sends (the outbox): queued in the sender's transaction, then delivered.

    A row is written by `plans.outbox.notification_queue` and delivered by a task that claims it
    with a lease (`claim_token`, `claimed_at_utc`) and marks it sent in its own commit as soon
    as the mail server accepts it, so nothing is lost or sent twice when a worker dies. The
    message is rendered at delivery from `kind`, the plan, the version and `context_json`.
    `dedupe_key` is unique when set: the same acknowledgement link to a person once per version
    (`ack_link:<plan>:<version>:<user>`), one reminder per person per plan per day
    (`ack_reminder:<plan>:<user>:<YYYY-MM-DD>`).
    """

    Kind = NotificationKind
    Status = NotificationStatus

    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_column="recipient_user_id",
        verbose_name="recipient",
    )
    # The address at queue time: the mail goes where the product said it would.
    to_address = models.EmailField("to", max_length=254)
    kind = models.CharField("kind", max_length=30, choices=Kind.choices)
    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_column="org_id",
        verbose_name="organisation",
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications", db_column="plan_id",
        verbose_name="plan",
    )
    version_number = models.IntegerField("version", null=True, blank=True)
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField("attempts", default=0)
    last_error = models.TextField("last error", blank=True)
    next_attempt_at_utc = models.DateTimeField("next attempt at")
    claimed_at_utc = models.DateTimeField("claimed at", null=True, blank=True)
    claim_token = models.CharField("claim", max_length=32, null=True, blank=True)
    sent_at_utc = models.DateTimeField("sent at", null=True, blank=True)
    message_id = models.CharField("message id", max_length=255, blank=True)
    created_at_utc = models.DateTimeField("queued at")
    dedupe_key = models.CharField("uniqueness key", max_length=190, null=True, blank=True)
    context_json = models.JSONField("render parameters", default=dict, blank=True)

    class Meta:
        db_table = "bc_notification"
        verbose_name = "notification"
        ordering = ["-created_at_utc", "-id"]
        indexes = [
            # Delivery claims the oldest due rows: status = queued AND next_attempt <= now ORDER BY
            # next_attempt, id; the sweeper finds expired leases (status = sending).
            models.Index(fields=["status", "next_attempt_at_utc", "id"], name="idx_bc_notification_due"),
            # The coverage page: who was sent this version's link, and how it went.
            models.Index(fields=["plan", "version_number", "recipient_user"], name="idx_bc_notification_plan_ver"),
            # The hourly "new link" limit of one person (recipient, kind, since), and their mail in the admin.
            models.Index(fields=["recipient_user", "kind", "created_at_utc"], name="idx_bc_notification_user"),
            # The admin list of one organisation, newest first.
            models.Index(fields=["org", "created_at_utc", "id"], name="idx_bc_notification_org_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="ck_notification_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values), name="ck_notification_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(version_number__isnull=True) | Q(version_number__gt=0),
                name="ck_notification_version_positive",
            ),
            # NULL for mail that may repeat; unique otherwise (MariaDB has no partial unique index).
            models.UniqueConstraint(fields=["dedupe_key"], name="uq_bc_notification_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address} ({self.get_status_display()})"


class SearchEntryKind(models.TextChoices):
    TITLE = "title", "Title"
    SECTION = "section", "Section"
    CONTACT = "contact", "Contact"
    PROCESS = "process", "Process"
    RISK = "risk", "Risk"


class SearchEntry(models.Model):
    """One searchable item of a plan's working copy: its title, a section, a contact, a process or a risk.

    Kept by the services through `plans.search` (in the writer's transaction) and read by its one
    selector, `search_entries`. `text` is what people read (names resolved, not ids); `terms` is
    what the full-text index holds: each word of `text` prefixed with the organisation
    ("o12xpayroll"), so a search only ever meets its own organisation's words and short words
    ("IT", "HR") are long enough for MariaDB's minimum token size. The full-text index itself is
    made by the migration (`plans/migrations/0010_search.py`): a FULLTEXT key on MariaDB/MySQL,
    an FTS5 table kept by triggers on SQLite (a migration that remakes this table on SQLite must
    create them again).
    """

    Kind = SearchEntryKind

    # No index of its own: the unique key below starts with the organisation.
    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", db_column="org_id", db_index=False,
        verbose_name="organisation",
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="search_entries", db_column="plan_id", verbose_name="plan",
    )
    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    # The section key, or the contact's, process's or risk's id; empty for the title.
    ref = models.CharField("reference", max_length=100, blank=True)
    label = models.CharField("where", max_length=255)
    text = models.TextField("text", blank=True)
    terms = models.TextField("indexed terms", blank=True)
    updated_at_utc = models.DateTimeField("updated at")

    class Meta:
        db_table = "bc_search_entry"
        verbose_name = "search entry"
        verbose_name_plural = "search entries"
        default_permissions = ()  # kept by the services only: nobody edits it
        constraints = [
            # One entry per item; the services find a plan's entries by it (organisation first).
            models.UniqueConstraint(fields=["org", "plan", "kind", "ref"], name="uq_bc_search_entry_item"),
            models.CheckConstraint(condition=Q(kind__in=SearchEntryKind.values), name="ck_search_entry_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.label} (plan {self.plan_id})"

    def get_absolute_url(self) -> str:
        """Where the item is shown: its place on the plan page."""
        url = reverse("plans:plan_detail", args=[self.plan_id])
        if self.kind == SearchEntryKind.SECTION:
            return f"{url}#section-{self.ref}"
        if self.kind == SearchEntryKind.TITLE:
            return url
        return f"{url}#{self.kind}-{self.ref}"


# --- exercises and findings (ISO 22301 8.5, 8.6, 10.1) ------------------------------------------


class ExerciseType(models.TextChoices):
    WALKTHROUGH = "walkthrough", "Walkthrough"
    TABLETOP = "tabletop", "Tabletop"
    SIMULATION = "simulation", "Simulation"
    FUNCTIONAL = "functional", "Functional"
    FULL_SCALE = "full_scale", "Full-scale"


class ExerciseStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    HELD = "held", "Held"
    REPORTED = "reported", "Reported"
    CLOSED = "closed", "Closed"


class Exercise(models.Model):
    """An exercise of a plan (`plans.exercises`): planned, held, reported (its after-action report
    issued), closed.

    `version` is the version exercised: the plan's approved version when the exercise is held
    (its active version while none is approved), kept whatever versions come after. Recovery
    times achieved are compared with that version's snapshot, never with the live processes.
    """

    Type = ExerciseType
    Status = ExerciseStatus

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="exercises", db_column="plan_id")
    # RESTRICT: a version exercised is not deleted alone; with its plan, both go.
    version = models.ForeignKey(
        PlanVersion, on_delete=models.RESTRICT, related_name="exercises", db_column="version_id",
        verbose_name="version exercised",
    )
    exercise_type = models.CharField("type", max_length=20, choices=Type.choices)
    title = models.CharField("title", max_length=255)
    scenario = models.TextField("scenario", blank=True)
    scheduled_on = models.DateField("scheduled for")
    held_on = models.DateField("held on", null=True, blank=True)
    facilitator_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="facilitator_user_id", verbose_name="facilitator",
    )
    # People of the organisation who took part: `ExerciseParticipant` rows (exercise.participant_rows).
    external_participants = models.TextField(
        "participants from outside", blank=True, help_text="Named people from outside the organisation, one per line.",
    )
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.PLANNED)
    summary = models.TextField("what happened", blank=True)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="created_by_user_id", verbose_name="planned by",
    )
    created_at_utc = models.DateTimeField("planned at")
    reported_at_utc = models.DateTimeField("reported at", null=True, blank=True)
    # The after-action report's render task (operational, like bc_issued_file_request): asked for when,
    # and why it failed. Not history: rows of the task, not of the exercise.
    report_requested_at_utc = models.DateTimeField("report requested at", null=True, blank=True)
    report_error = models.TextField("report error", blank=True)

    history = HistoricalRecords(
        table_name="bc_exercise_history", excluded_fields=["report_requested_at_utc", "report_error"],
    )

    class Meta:
        db_table = "bc_exercise"
        verbose_name = "exercise"
        ordering = ["-id"]
        indexes = [
            # A plan's exercises, newest first (the exercise list, paged by keyset on id; the plan page).
            models.Index(fields=["plan", "id"], name="idx_bc_exercise_plan"),
            # The last exercise a plan held (last_exercised_on).
            models.Index(fields=["plan", "held_on"], name="idx_bc_exercise_plan_held"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExerciseStatus.values), name="ck_exercise_status_valid"),
            models.CheckConstraint(condition=Q(exercise_type__in=ExerciseType.values), name="ck_exercise_type_valid"),
            # Planned: not held yet; held, reported or closed: held on a day.
            models.CheckConstraint(
                condition=Q(status=ExerciseStatus.PLANNED, held_on__isnull=True)
                | (~Q(status=ExerciseStatus.PLANNED) & Q(held_on__isnull=False)),
                name="ck_exercise_held_on_status",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("exercises:exercise_detail", args=[self.plan_id, self.pk])


class ExerciseParticipant(models.Model):
    """A person of the plan's organisation who took part in an exercise (outsiders are named on the exercise)."""

    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, related_name="participant_rows", db_column="exercise_id",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_column="user_id",
        verbose_name="participant",
    )

    history = HistoricalRecords(table_name="bc_exercise_participant_history")

    class Meta:
        db_table = "bc_exercise_participant"
        verbose_name = "exercise participant"
        constraints = [
            models.UniqueConstraint(fields=["exercise", "user"], name="uq_bc_exercise_participant"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in exercise {self.exercise_id}"


class ObjectiveResult(models.TextChoices):
    MET = "met", "Met"
    PARTLY_MET = "partly_met", "Partly met"
    NOT_MET = "not_met", "Not met"


class ExerciseObjective(models.Model):
    """One objective of an exercise and, once it is held, its result (empty until recorded)."""

    Result = ObjectiveResult

    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, related_name="objectives", db_column="exercise_id",
    )
    position = models.PositiveSmallIntegerField("order")
    text = models.TextField("objective")
    result = models.CharField("result", max_length=20, choices=Result.choices, blank=True)
    notes = models.TextField("notes", blank=True)

    history = HistoricalRecords(table_name="bc_exercise_objective_history")

    class Meta:
        db_table = "bc_exercise_objective"
        verbose_name = "exercise objective"
        ordering = ["exercise", "position"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "position"], name="uq_bc_exercise_objective_position"),
            models.CheckConstraint(
                condition=Q(result="") | Q(result__in=ObjectiveResult.values), name="ck_exercise_objective_result",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class ExerciseRecovery(models.Model):
    """The recovery time an exercise achieved for one critical process of the version exercised.

    `process_ref` is the process's id in the version's snapshot (`content_json["processes"]`):
    the live process may have changed or gone since. Its RTO and MTPD are read from that snapshot
    (`plans.exercises.exercise_recoveries`).
    """

    exercise = models.ForeignKey(
        Exercise, on_delete=models.CASCADE, related_name="recoveries", db_column="exercise_id",
    )
    process_ref = models.IntegerField("process (snapshot id)")
    process_name = models.CharField("process", max_length=255)
    achieved_minutes = models.IntegerField("recovery time achieved (minutes)")
    notes = models.TextField("notes", blank=True)
    # How it compares with the snapshot's objectives (plans.recovery.recovery_outcome), kept with the row so
    # the KPIs count recoveries that met their RTO without reading snapshots; "" until judged.
    outcome = models.CharField("outcome", max_length=20, blank=True, choices=RECOVERY_OUTCOMES)

    history = HistoricalRecords(table_name="bc_exercise_recovery_history")

    class Meta:
        db_table = "bc_exercise_recovery"
        verbose_name = "recovery time achieved"
        verbose_name_plural = "recovery times achieved"
        ordering = ["exercise", "process_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "process_ref"], name="uq_bc_exercise_recovery_process"),
            models.CheckConstraint(condition=Q(achieved_minutes__gte=0), name="ck_exercise_recovery_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.process_name}: {self.achieved_minutes} min"


class FindingSource(models.TextChoices):
    EXERCISE = "exercise", "Exercise"
    INCIDENT = "incident", "Incident"


class FindingSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"


class Finding(models.Model):
    """Something to improve, raised from an exercise or from an incident's post-incident review: ISO 22301 10.1.

    A finding has exactly one source: `source_kind` names it and the matching foreign key is
    set, the other one empty (`ck_finding_one_source`, one branch per kind of source).

    A finding that needs a plan change is ticked on the revision that addresses it
    (`FindingTick`); the approval of that revision closes it (`closed_by_version`). Accepting
    its risk instead needs `plans.accept_risk_finding` and a reason.
    """

    Source = FindingSource
    Severity = FindingSeverity
    Status = FindingStatus
    OPEN_STATUSES = (FindingStatus.OPEN, FindingStatus.IN_PROGRESS)

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="findings", db_column="plan_id")
    source_kind = models.CharField("source", max_length=20, choices=Source.choices, default=Source.EXERCISE)
    # Deleted with their source (cascade_keeping_checks: never set to NULL first, which ck_finding_one_source refuses).
    exercise = models.ForeignKey(
        Exercise, on_delete=cascade_keeping_checks, null=True, blank=True, related_name="findings",
        db_column="exercise_id", verbose_name="exercise",
    )
    incident = models.ForeignKey(
        "Incident", on_delete=cascade_keeping_checks, null=True, blank=True, related_name="findings",
        db_column="incident_id", verbose_name="incident",
    )
    description = models.TextField("finding")
    severity = models.CharField("severity", max_length=20, choices=Severity.choices)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_findings",
        db_column="owner_user_id", verbose_name="owner",
    )
    due_on = models.DateField("due on")
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.OPEN)
    risk_accepted_reason = models.TextField("why the risk is accepted", blank=True)
    risk_accepted_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="risk_accepted_by_user_id", verbose_name="risk accepted by",
    )
    closed_at_utc = models.DateTimeField("closed at", null=True, blank=True)
    # The approved version that addressed it (closed by the approval); empty when closed by hand.
    closed_by_version = models.ForeignKey(
        PlanVersion, on_delete=models.RESTRICT, null=True, blank=True, related_name="closed_findings",
        db_column="closed_by_version_id", verbose_name="closed by version",
    )
    raised_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="raised_by_user_id", verbose_name="raised by",
    )
    raised_at_utc = models.DateTimeField("raised at")

    history = HistoricalRecords(table_name="bc_finding_history")

    class Meta:
        db_table = "bc_finding"
        verbose_name = "finding"
        ordering = ["-id"]
        permissions = [("accept_risk_finding", "Can accept the risk of a finding")]
        indexes = [
            # A plan's open findings by due date (the plan page, the save-revision form).
            models.Index(fields=["plan", "status", "due_on"], name="idx_bc_finding_plan_status"),
            # Overdue findings of every organisation (the daily reminder: status open, due before today).
            models.Index(fields=["status", "due_on"], name="idx_bc_finding_status_due"),
            # A plan's findings, newest first (the findings list, paged by keyset on id).
            models.Index(fields=["plan", "id"], name="idx_bc_finding_plan"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=FindingStatus.values), name="ck_finding_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=FindingSeverity.values), name="ck_finding_severity_valid"),
            models.CheckConstraint(condition=Q(source_kind__in=FindingSource.values), name="ck_finding_source_valid"),
            # Exactly one source, the one `source_kind` names (one branch per kind of source).
            models.CheckConstraint(
                condition=Q(source_kind=FindingSource.EXERCISE, exercise__isnull=False, incident__isnull=True)
                | Q(source_kind=FindingSource.INCIDENT, incident__isnull=False, exercise__isnull=True),
                name="ck_finding_one_source",
            ),
            models.CheckConstraint(condition=~Q(description=""), name="ck_finding_description"),
            # An accepted risk says why.
            models.CheckConstraint(
                condition=~Q(status=FindingStatus.RISK_ACCEPTED) | ~Q(risk_accepted_reason=""),
                name="ck_finding_risk_reason",
            ),
            # Only a finding that is done was closed by a version.
            models.CheckConstraint(
                condition=Q(closed_by_version__isnull=True) | Q(status=FindingStatus.DONE),
                name="ck_finding_closed_by_done",
            ),
        ]

    def __str__(self) -> str:
        text = " ".join(self.description.split())
        return text if len(text) <= 80 else f"{text[:79]}…"

    def get_absolute_url(self) -> str:
        return reverse("exercises:finding_detail", args=[self.plan_id, self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class FindingTick(models.Model):
    """A finding ticked on a plan version: that revision addresses it.

    Written with the version (`plans.findings`), never changed: ticks of the active version carry
    forward to the next revision until a version is approved, whose approval closes its ticked
    findings. The version's `version_created` audit row lists them.
    """

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="ticks", db_column="finding_id")
    version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="finding_ticks", db_column="version_id",
    )

    class Meta:
        db_table = "bc_finding_version"
        verbose_name = "finding addressed by a version"
        verbose_name_plural = "findings addressed by versions"
        constraints = [
            models.UniqueConstraint(fields=["finding", "version"], name="uq_bc_finding_version"),
        ]

    def __str__(self) -> str:
        return f"finding {self.finding_id} on version {self.version_id}"


# Incidents live in their own module; imported here so they are this app's models.
from .incident_models import (  # noqa: E402, F401
    Incident,
    IncidentActivation,
    IncidentEvent,
    IncidentEventKind,
    IncidentRecovery,
    IncidentSeverity,
    IncidentStatus,
)

# Resources, vendors and collaborators live in their own module; imported here so they are this app's models.
from .vendor_models import (  # noqa: E402, F401
    CollaboratorRole,
    PlanCollaborator,
    ProcessVendor,
    Resource,
    ResourceKind,
    ResourceQuantity,
    Vendor,
    VendorCriticality,
)
