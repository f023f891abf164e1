"""Incidents (bc_incident) and what hangs off one: the plans activated, the timeline, the recovery of each
affected critical process. Imported at the end of `plans.models`, so they are the `plans` app's models.

The rules that can live in the database do: statuses and kinds limited to their values, the dates
each status needs, one activation per plan and incident, one recovery row per process of an
activation, a recovery never before its disruption. Writes go through `plans.incidents`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .recovery import RECOVERY_OUTCOMES


class IncidentSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOOD_DOWN = "stood_down", "Stood down"
    CLOSED = "closed", "Closed"


class Incident(models.Model):
    """A disruption the organisation declared, and the response to it (ISO 22301 8.4).

    active -> stood down -> closed. An incident belongs to an organisation and activates zero or
    more of its plans (`IncidentActivation`), each at the version in force at that moment. Its
    timeline (`IncidentEvent`) is append-only. Stood down, it gets a post-incident review that
    raises findings into the improvement loop (`bc_finding`, source `incident`); closed, its
    post-incident report is issued (`bc_issued_file`, kind `incident_report`).
    """

    Severity = IncidentSeverity
    Status = IncidentStatus

    org = models.ForeignKey(
        "plans.Organisation", on_delete=models.CASCADE, related_name="incidents", db_column="org_id",
        verbose_name="organisation",
    )
    title = models.CharField("title", max_length=255)
    description = models.TextField("what is happening", blank=True)
    severity = models.CharField("severity", max_length=20, choices=Severity.choices)
    status = models.CharField("status", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    declared_at_utc = models.DateTimeField("declared at")
    declared_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="declared_by_user_id", verbose_name="declared by",
    )
    stood_down_at_utc = models.DateTimeField("stood down at", null=True, blank=True)
    stood_down_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="stood_down_by_user_id", verbose_name="stood down by",
    )
    # The post-incident review, written once the incident is stood down and frozen when it closes.
    review_summary = models.TextField("post-incident review", blank=True)
    closed_at_utc = models.DateTimeField("closed at", null=True, blank=True)
    closed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="closed_by_user_id", verbose_name="closed by",
    )
    # The post-incident report's render task (operational, like the exercise's): not history.
    report_requested_at_utc = models.DateTimeField("report requested at", null=True, blank=True)
    report_error = models.TextField("report error", blank=True)

    history = HistoricalRecords(
        table_name="bc_incident_history", excluded_fields=["report_requested_at_utc", "report_error"],
    )

    class Meta:
        db_table = "bc_incident"
        verbose_name = "incident"
        ordering = ["-id"]
        permissions = [("stand_down_incident", "Can stand down and close any incident of the organisation")]
        indexes = [
            # The incident list: one organisation's incidents, newest first (paged by keyset on id).
            models.Index(fields=["org", "id"], name="idx_bc_incident_org"),
            # The active incidents of an organisation (the list's first block).
            models.Index(fields=["org", "status", "id"], name="idx_bc_incident_org_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=IncidentStatus.values), name="ck_incident_status_valid"),
            models.CheckConstraint(
                condition=Q(severity__in=IncidentSeverity.values), name="ck_incident_severity_valid",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="ck_incident_title"),
            # Active: neither stood down nor closed; stood down: stood down, not closed; closed: both.
            models.CheckConstraint(
                condition=Q(status=IncidentStatus.ACTIVE, stood_down_at_utc__isnull=True, closed_at_utc__isnull=True)
                | Q(status=IncidentStatus.STOOD_DOWN, stood_down_at_utc__isnull=False, closed_at_utc__isnull=True)
                | Q(status=IncidentStatus.CLOSED, stood_down_at_utc__isnull=False, closed_at_utc__isnull=False),
                name="ck_incident_status_dates",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", args=[self.pk])


class IncidentActivation(models.Model):
    """A plan activated for an incident, at the version in force at that moment; never changed.

    The version in force is the plan's approved version; a plan with none is activated at its
    newest version, and `version_approved` is False: the pages warn "not approved" wherever it
    is shown. Whatever versions are approved later, the activation keeps its version, and the
    recovery of each process is judged against that version's snapshot (decision 8).
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="activations",
                                 db_column="incident_id", verbose_name="incident")
    # RESTRICT: a plan an incident activated is evidence; it is archived, never deleted (plans.attachments says
    # why); only with its whole organisation, incidents included.
    plan = models.ForeignKey("plans.Plan", on_delete=models.RESTRICT, related_name="incident_activations",
                             db_column="plan_id", verbose_name="plan")
    version = models.ForeignKey(
        "plans.PlanVersion", on_delete=models.RESTRICT, related_name="incident_activations", db_column="version_id",
        verbose_name="version in force",
    )
    version_approved = models.BooleanField(
        "version approved", help_text="Whether the version in force was the plan's approved version when activated.",
    )
    activated_at_utc = models.DateTimeField("activated at")
    activated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="activated_by_user_id", verbose_name="activated by",
    )

    history = HistoricalRecords(table_name="bc_incident_activation_history")

    class Meta:
        db_table = "bc_incident_activation"
        verbose_name = "plan activation"
        ordering = ["incident", "id"]
        indexes = [
            # A plan's incidents (the plan delete refusal, the plan's evidence).
            models.Index(fields=["plan", "activated_at_utc"], name="idx_bc_incident_act_plan"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["incident", "plan"], name="uq_bc_incident_activation_plan"),
        ]

    def __str__(self) -> str:
        # Stored fields only: a label never costs a query.
        return f"plan {self.plan_id} in incident {self.incident_id}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", args=[self.incident_id]) + f"#plan-{self.plan_id}"


class IncidentEventKind(models.TextChoices):
    DECISION = "decision", "Decision"
    ACTION = "action", "Action"
    COMMUNICATION = "communication", "Communication"
    UPDATE = "update", "Update"


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: when, who, what kind, what. Append-only.

    Nothing updates or deletes a row: there is no service, page or admin form that would, and
    the model has no change or delete permission at all (`default_permissions`). The services
    also add entries of their own (declared, plan activated, process recovered, stood down).
    """

    Kind = IncidentEventKind

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events", db_column="incident_id",
                                 verbose_name="incident")
    at_utc = models.DateTimeField("at")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_column="author_user_id", verbose_name="by",
    )
    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    text = models.TextField("entry")

    class Meta:
        db_table = "bc_incident_event"
        verbose_name = "timeline entry"
        verbose_name_plural = "timeline entries"
        ordering = ["incident", "-at_utc", "-id"]
        default_permissions = ("add", "view")  # append-only: nobody may change or delete an entry
        indexes = [
            # An incident's timeline, newest first (the activation page, the timeline page paged by keyset).
            models.Index(fields=["incident", "at_utc", "id"], name="idx_bc_incident_event_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=IncidentEventKind.values), name="ck_incident_event_kind"),
            models.CheckConstraint(condition=~Q(text=""), name="ck_incident_event_text"),
        ]

    def __str__(self) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= 80 else f"{text[:79]}…"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_timeline", args=[self.incident_id]) + f"#event-{self.pk}"


class IncidentRecovery(models.Model):
    """An affected critical process of an activated version: disrupted since, recovered at.

    `process_ref` is the process's id in the activated version's snapshot; its RTO and MTPD are
    read from there (`plans.incidents.activation_recoveries`), never from the live process. The
    time achieved is `recovered_at_utc - disrupted_at_utc`, judged like an exercise's.
    """

    activation = models.ForeignKey(IncidentActivation, on_delete=models.CASCADE, related_name="recoveries",
                                   db_column="activation_id", verbose_name="activation")
    process_ref = models.IntegerField("process (snapshot id)")
    process_name = models.CharField("process", max_length=255)
    disrupted_at_utc = models.DateTimeField("disrupted since")
    recovered_at_utc = models.DateTimeField("recovered at", null=True, blank=True)
    notes = models.TextField("notes", blank=True)
    # How it compares with the snapshot's objectives (plans.recovery.recovery_outcome), kept with the row so
    # the KPIs count recoveries that met their RTO without reading snapshots; "" until judged.
    outcome = models.CharField("outcome", max_length=20, blank=True, choices=RECOVERY_OUTCOMES)

    history = HistoricalRecords(table_name="bc_incident_recovery_history")

    class Meta:
        db_table = "bc_incident_recovery"
        verbose_name = "process recovery"
        verbose_name_plural = "process recoveries"
        ordering = ["activation", "process_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activation", "process_ref"], name="uq_bc_incident_recovery_process"),
            models.CheckConstraint(
                condition=Q(recovered_at_utc__isnull=True) | Q(recovered_at_utc__gte=F("disrupted_at_utc")),
                name="ck_incident_recovery_after_disruption",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process_name} in activation {self.activation_id}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:incident_detail", args=[self.activation.incident_id]) + "#processes"


__all__ = [
    "Incident", "IncidentActivation", "IncidentEvent", "IncidentEventKind", "IncidentRecovery",
    "IncidentSeverity", "IncidentStatus",
]
