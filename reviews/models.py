"""Review rounds, acknowledgements and who a plan is distributed to."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    # The round ended without this reviewer's decision (withdrawn, or another reviewer
    # requested changes).
    CANCELLED = "cancelled", "Cancelled"


class Review(models.Model):
    """One reviewer's decision on one submitted version of a plan (one row per reviewer per round)."""

    Status = ReviewStatus

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="reviews", db_column="plan_id")
    version = models.ForeignKey(
        "plans.PlanVersion", on_delete=models.CASCADE, related_name="reviews", db_column="version_id",
        verbose_name="submitted version",
    )
    round_number = models.PositiveIntegerField("round", default=1)
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_reviews",
        db_column="requested_by_user_id", verbose_name="requested by",
    )
    reviewer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_reviews",
        db_column="reviewer_user_id", verbose_name="reviewer",
    )
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_at_utc = models.DateTimeField("requested at")
    decided_at_utc = models.DateTimeField("decided at", null=True, blank=True)
    notes = models.TextField("notes", blank=True)

    history = HistoricalRecords(table_name="bc_review_history")

    class Meta:
        db_table = "bc_review"
        verbose_name = "review"
        ordering = ["-requested_at_utc", "-id"]
        indexes = [
            # A reviewer's queue.
            models.Index(fields=["reviewer_user"], name="idx_bc_review_reviewer"),
            # Open reviews.
            models.Index(fields=["status"], name="idx_bc_review_status"),
            # The admin list of reviews, newest request first.
            models.Index(fields=["requested_at_utc", "id"], name="idx_bc_review_requested"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="ck_review_status_valid"),
            models.UniqueConstraint(
                fields=["plan", "round_number", "reviewer_user"], name="uq_bc_review_round_reviewer"
            ),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query (lists, action messages, history).
        return f"Review {self.pk} (round {self.round_number})"

    def get_absolute_url(self) -> str:
        return reverse("reviews:review_detail", args=[self.pk])


class Ack(models.Model):
    """A person's confirmation that they read one version of a plan."""

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="acks", db_column="plan_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_acks", db_column="user_id"
    )
    ack_at_utc = models.DateTimeField("acknowledged at")
    ack_version_number = models.IntegerField("version acknowledged")

    class Meta:
        db_table = "bc_ack"
        verbose_name = "acknowledgement"
        ordering = ["plan", "-ack_at_utc"]
        indexes = [
            # Has this user acknowledged this plan (and which versions)?
            models.Index(fields=["plan", "user"], name="idx_bc_ack_plan_user"),
            # The admin list of acknowledgements, newest first (and its "last 7/30/365 days" filter).
            models.Index(fields=["ack_at_utc", "id"], name="idx_bc_ack_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "user", "ack_version_number"], name="uq_bc_ack_plan_user_version"
            ),
            models.CheckConstraint(condition=Q(ack_version_number__gt=0), name="ck_ack_version_positive"),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query.
        return f"Acknowledgement of version {self.ack_version_number} by user {self.user_id}"


class ReaderCount(models.Model):
    """How many people read an organisation's plans (its active members who are not auditors), kept
    by `reviews.coverage_counts` so a plan page shows coverage without counting the organisation."""

    organisation = models.OneToOneField(
        "plans.Organisation", on_delete=models.CASCADE, primary_key=True, related_name="+", db_column="org_id"
    )
    readers = models.IntegerField("readers", default=0)

    class Meta:
        db_table = "bc_reader_count"
        verbose_name = "reader count"

    def __str__(self) -> str:
        return f"{self.readers} readers in organisation {self.organisation_id}"


class AckCount(models.Model):
    """How many of the organisation's readers acknowledged one version of a plan, kept by
    `reviews.coverage_counts` (acknowledgements by leavers and auditors do not count)."""

    plan = models.ForeignKey("plans.Plan", on_delete=models.CASCADE, related_name="+", db_column="plan_id")
    version_number = models.IntegerField("version")
    acknowledged = models.IntegerField("acknowledged by readers", default=0)

    class Meta:
        db_table = "bc_ack_count"
        verbose_name = "acknowledgement count"
        constraints = [
            models.UniqueConstraint(fields=["plan", "version_number"], name="uq_bc_ack_count_plan_version"),
        ]

    def __str__(self) -> str:
        return f"{self.acknowledged} acknowledgements of version {self.version_number} of plan {self.plan_id}"


class PlanDistribution(models.Model):
    """Who must acknowledge a plan, when it is not everyone in the organisation: a user or a group."""

    plan = models.ForeignKey(
        "plans.Plan", on_delete=models.CASCADE, related_name="distribution", db_column="plan_id"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        db_column="user_id",
    )
    group = models.ForeignKey(
        "auth.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_column="group_id"
    )

    class Meta:
        db_table = "bc_plan_distribution"
        verbose_name = "distribution entry"
        verbose_name_plural = "distribution"
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="ck_distribution_user_xor_group",
            ),
            models.UniqueConstraint(fields=["plan", "user"], name="uq_bc_distribution_plan_user"),
            models.UniqueConstraint(fields=["plan", "group"], name="uq_bc_distribution_plan_group"),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query.
        return f"user {self.user_id}" if self.user_id is not None else f"group {self.group_id}"


class KpiUnit(models.TextChoices):
    PERCENT = "percent", "%"
    COUNT = "count", "count"


class Kpi(models.Model):
    """One figure of one organisation on one day: a snapshot of a metric of `reviews.kpi`.

    Written by `manage.py kpi_snapshot` (one row per organisation, metric and day: running it
    again the same day updates the rows), never by hand; rows older than `KPI_KEEP_YEARS` are
    deleted by the same command. `value` is empty when there was nothing to count (a
    percentage of no plans); a percentage keeps what it was worked out from
    (`numerator` of `denominator`), so "83.3%" can be read as "5 of 6".
    """

    Unit = KpiUnit

    org = models.ForeignKey(
        "plans.Organisation", on_delete=models.CASCADE, related_name="+", db_column="org_id",
        verbose_name="organisation",
    )
    metric_key = models.CharField("metric", max_length=64)
    day = models.DateField("day")
    unit = models.CharField("unit", max_length=10, choices=Unit.choices)
    value = models.DecimalField("value", max_digits=14, decimal_places=1, null=True, blank=True)
    numerator = models.BigIntegerField("counted", default=0)
    denominator = models.BigIntegerField("out of", null=True, blank=True)
    computed_at_utc = models.DateTimeField("computed at")

    class Meta:
        db_table = "bc_kpi"
        verbose_name = "KPI snapshot"
        verbose_name_plural = "KPI snapshots"
        ordering = ["-day", "metric_key"]
        indexes = [
            # The dashboard's trends and the CSV: one organisation's rows since a day, by day and metric.
            models.Index(fields=["org", "day", "metric_key"], name="idx_bc_kpi_org_day"),
            # The daily retention: rows before a day, of every organisation.
            models.Index(fields=["day"], name="idx_bc_kpi_day"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["org", "metric_key", "day"], name="uq_bc_kpi_org_metric_day"),
            models.CheckConstraint(condition=Q(unit__in=KpiUnit.values), name="ck_kpi_unit_valid"),
            models.CheckConstraint(condition=~Q(metric_key=""), name="ck_kpi_metric_key"),
            models.CheckConstraint(condition=Q(value__isnull=True) | Q(value__gte=0), name="ck_kpi_value_non_negative"),
            models.CheckConstraint(
                condition=~Q(unit=KpiUnit.PERCENT) | Q(value__isnull=True) | Q(value__lte=100),
                name="ck_kpi_percent_range",
            ),
            models.CheckConstraint(condition=Q(numerator__gte=0), name="ck_kpi_numerator_non_negative"),
            models.CheckConstraint(
                condition=Q(denominator__isnull=True) | Q(denominator__gte=0), name="ck_kpi_denominator_non_negative",
            ),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query.
        return f"{self.metric_key} on {self.day:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("kpi:dashboard")


class ReportKind(models.TextChoices):
    KPI_REPORT = "kpi_report", "KPI report for management review"
    EVIDENCE_PACK = "evidence_pack", "Evidence pack"


class ReportRequest(models.Model):
    """A request for a file built by a background task: a KPI report for a period, or a plan version's
    evidence pack (`reviews.kpi_report`, `reviews.evidence_pack`, run by `reviews.report_requests`).

    Each request gives a new issued file (`issued_file`, once the task has built it; `error` says why
    not). `as_of_utc` is the moment the file describes: the same request built again gives the same
    figures and, for a pack, the same bytes.
    """

    Kind = ReportKind

    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    org = models.ForeignKey(
        "plans.Organisation", on_delete=models.CASCADE, related_name="+", db_column="org_id",
        verbose_name="organisation",
    )
    plan = models.ForeignKey(
        "plans.Plan", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_column="plan_id",
    )
    version = models.ForeignKey(
        "plans.PlanVersion", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        db_column="version_id",
    )
    period_from = models.DateField("from", null=True, blank=True)
    period_to = models.DateField("to", null=True, blank=True)
    as_of_utc = models.DateTimeField("as of")
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="requested_by_user_id", verbose_name="requested by",
    )
    requested_at_utc = models.DateTimeField("requested at")
    started_at_utc = models.DateTimeField("started at", null=True, blank=True)
    issued_file = models.ForeignKey(
        "plans.IssuedFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_column="issued_file_id", verbose_name="issued file",
    )
    error = models.TextField("error", blank=True)

    class Meta:
        db_table = "bc_report_request"
        verbose_name = "report request"
        ordering = ["-requested_at_utc", "-id"]
        indexes = [
            # The dashboard's list of an organisation's KPI reports, newest first.
            models.Index(fields=["org", "kind", "requested_at_utc", "id"], name="idx_bc_report_request_org"),
            # A plan's evidence packs, newest first.
            models.Index(fields=["plan", "kind", "requested_at_utc", "id"], name="idx_bc_report_request_plan"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReportKind.values), name="ck_report_request_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=ReportKind.KPI_REPORT) | Q(
                    period_from__isnull=False, period_to__isnull=False, period_from__lte=models.F("period_to"),
                    plan__isnull=True, version__isnull=True),
                name="ck_report_request_kpi_period",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ReportKind.EVIDENCE_PACK) | Q(plan__isnull=False, version__isnull=False),
                name="ck_report_request_pack_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"

    def get_absolute_url(self) -> str:
        """The request's page: what has become of it, the file to download, or try again."""
        if self.kind == ReportKind.KPI_REPORT:
            return reverse("kpi:report", args=[self.pk])
        return reverse("evidence:pack", args=[self.plan_id, self.pk])
