"""KPI snapshots in the admin: read-only rows (written by `manage.py kpi_snapshot` only), scoped to the
person's organisation like every admin of organisation data."""

from django.contrib import admin

from bcp_site.admin_base import recent_filter
from plans.admin import ReadOnlyAdminMixin, organisation_box
from plans.admin_scoping import OrgScopedAdmin

from .kpi import format_value, metric_for, metrics
from .models import Kpi


class MetricFilter(admin.SimpleListFilter):
    """The registered metrics (a fixed list: never a DISTINCT over the snapshots)."""

    title = "metric"
    parameter_name = "metric"

    def lookups(self, request, model_admin):
        return [(metric.key, metric.label) for metric in metrics()]

    def queryset(self, request, queryset):
        return queryset.filter(metric_key=self.value()) if self.value() else queryset


@admin.register(Kpi)
class KpiAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """One row per organisation, metric and day; the dashboard draws them (`reviews.kpi_views`)."""

    org_field = "org"
    list_display = ["day", "metric", "figure", "counted", "computed_at_utc"]
    list_filter = [MetricFilter, recent_filter("computed_at_utc", "computed"), organisation_box("org")]
    ordering = ["-day", "-metric_key"]  # idx_bc_kpi_org_day for one organisation (read backwards)
    fields = ["org", "day", "metric", "figure", "counted", "computed_at_utc"]
    readonly_fields = fields

    @admin.display(description="metric", ordering="metric_key")
    def metric(self, obj):
        metric = metric_for(obj.metric_key)
        return metric.label if metric else obj.metric_key

    @admin.display(description="value", ordering="value")
    def figure(self, obj):
        return format_value(obj.value, obj.unit)

    @admin.display(description="counted")
    def counted(self, obj):
        if obj.denominator is None:
            return obj.numerator
        return f"{obj.numerator} of {obj.denominator}"
