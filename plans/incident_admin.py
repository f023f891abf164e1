"""Incidents in the admin: read-only, scoped to the user's organisation.

Incidents are declared, activated, recorded, stood down, reviewed and closed on the incident pages
(`plans.incident_views`, through `plans.incidents`); here they are read, with their activations,
recovery times, timeline and findings shown readably. The timeline has its own list, read-only as
the timeline is everywhere: no add, change or delete, no actions (its model has no change or delete
permission at all). History is for reading (workflow state and evidence).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from bcp_site.text import display_name

from .admin import ReadOnlyAdminMixin, organisation_box, person_box
from .admin_scoping import OrgScopedAdmin, OrgScopedHistoryAdmin
from .exercise_admin import _table
from .incident_display import process_statuses, version_response
from .models import Incident, IncidentEvent, IncidentRecovery

TIMELINE_IN_ADMIN = 200


def _when(value) -> str:
    return date_format(timezone.localtime(value), "j M Y H:i") if value else "—"


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdminMixin, OrgScopedHistoryAdmin):
    """Incidents, read-only: the incident pages change them, through plans.incidents."""

    org_field = "org"
    list_display = ["title", "status", "severity", "declared_at_utc", "declared_by_user", "closed_at_utc"]
    list_filter = ["status", "severity", person_box("declared_by_user", "declared by"), organisation_box("org")]
    search_fields = ["title"]
    list_select_related = ["declared_by_user"]
    ordering = ["-id"]  # newest first, on the primary key (idx_bc_incident_org for one organisation)
    show_full_result_count = False
    fields = [
        "title", "severity", "status", "description", "declared_at_utc", "declared_by_user", "stood_down_at_utc",
        "stood_down_by_user", "review_summary", "closed_at_utc", "closed_by_user", "plans_activated",
        "recovery_times", "timeline", "findings", "page",
    ]
    readonly_fields = fields

    @admin.display(description="plans activated (version in force)")
    def plans_activated(self, obj):
        rows = [(a.plan.title, f"Version {a.version.version_number}", "yes" if a.version_approved else "NOT APPROVED",
                 _when(a.activated_at_utc), display_name(a.activated_by_user))
                for a in obj.activations.select_related("plan", "version", "activated_by_user")
                .defer("plan__draft_content_json", "version__content_json").order_by("activated_at_utc", "id")]
        return _table(["Plan", "Version", "Approved", "Activated", "By"], rows) if rows else "—"

    @admin.display(description="recovery times (against the activated version)")
    def recovery_times(self, obj):
        rows = []
        recoveries = list(IncidentRecovery.objects.filter(activation__incident=obj).order_by("id"))
        for activation in obj.activations.select_related("plan", "version__template").order_by("id"):
            mine = [r for r in recoveries if r.activation_id == activation.pk]
            if not mine:
                continue
            response = version_response(activation.version, people={})
            for status in process_statuses(response.processes, mine):
                if status.recovery is None:
                    continue
                rows.append((activation.plan.title, status.process.name, status.process.rto, status.process.mtpd,
                             _when(status.recovery.disrupted_at_utc), _when(status.recovery.recovered_at_utc),
                             status.minutes_text, status.outcome_label))
        headers = ["Plan", "Process", "RTO", "MTPD", "Disrupted", "Recovered", "Time", "Outcome"]
        return _table(headers, rows) if rows else "—"

    @admin.display(description="timeline (newest first)")
    def timeline(self, obj):
        rows = [(_when(e.at_utc), e.get_kind_display(), display_name(e.author_user) or "system", e.text)
                for e in obj.events.select_related("author_user").order_by("-at_utc", "-id")[:TIMELINE_IN_ADMIN]]
        return _table(["At", "Kind", "By", "Entry"], rows) if rows else "—"

    @admin.display(description="findings")
    def findings(self, obj):
        rows = [(format_html('<a href="{}">{}</a>', reverse("admin:plans_finding_change", args=[f.pk]), f),
                 f.plan.title, f.get_severity_display(), f.get_status_display(), f"{f.due_on:%d %b %Y}")
                for f in obj.findings.select_related("plan").defer("plan__draft_content_json").order_by("id")]
        return _table(["Finding", "Plan", "Severity", "Status", "Due"], rows) if rows else "—"

    @admin.display(description="on the site")
    def page(self, obj):
        return format_html('<a href="{}">The incident page</a>', obj.get_absolute_url())


@admin.register(IncidentEvent)
class IncidentEventAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Timeline entries, read-only: the timeline is append-only everywhere (no change or delete permission exists)."""

    org_field = "incident__org"
    actions = None  # not even Django's "delete selected"
    list_display = ["at_utc", "incident", "kind", "author_user", "__str__"]
    list_filter = ["kind", person_box("author_user", "by"), organisation_box("incident__org")]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident", "author_user"]
    ordering = ["-at_utc", "-id"]
    show_full_result_count = False
    fields = ["incident", "at_utc", "author_user", "kind", "text"]
    readonly_fields = fields
