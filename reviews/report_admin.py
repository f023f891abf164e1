"""Report requests in the admin: read-only rows (asked for on the KPI dashboard and a plan's evidence
page, built by a task: `reviews.report_requests`), scoped to the person's organisation like every
admin of organisation data. The dashboard and the evidence page list the latest ten; here are all of
them, with why a build failed."""

from django.contrib import admin
from django.utils.html import format_html

from bcp_site.admin_base import recent_filter
from bcp_site.text import display_name
from plans.admin import ReadOnlyAdminMixin, organisation_box
from plans.admin_scoping import OrgScopedAdmin

from .models import ReportRequest


def report_state(report: ReportRequest) -> str:
    """What has become of a request, in the dashboard's words."""
    if report.issued_file_id:
        return "Ready"
    return f"Failed: {report.error}" if report.error else "Being prepared"


@admin.register(ReportRequest)
class ReportRequestAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    org_field = "org"
    list_display = ["requested_at_utc", "kind", "subject", "requested_by", "state"]
    list_filter = ["kind", recent_filter("requested_at_utc", "asked"), organisation_box("org")]
    list_select_related = ["plan", "version", "requested_by_user"]
    ordering = ["-requested_at_utc", "-id"]  # idx_bc_report_request_org for one organisation and kind
    fields = ["org", "kind", "subject", "as_of_utc", "requested_by", "requested_at_utc", "started_at_utc",
              "state", "issued_file"]
    readonly_fields = fields

    @admin.display(description="for")
    def subject(self, obj):
        if obj.kind == ReportRequest.Kind.KPI_REPORT:
            return f"{obj.period_from:%d %b %Y} to {obj.period_to:%d %b %Y}"
        return f"{obj.plan.title}, version {obj.version.version_number}"

    @admin.display(description="requested by")
    def requested_by(self, obj):
        return display_name(obj.requested_by_user) or "—"

    @admin.display(description="file")
    def state(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), report_state(obj))
