"""The KPI report for management review (ISO 22301 9.3): a PDF for a chosen period, issued as a file.

What it shows, for the organisation and the period of its request (`bc_report_request`):
each metric at the start and the end of the period (from the daily snapshots) and as the request
stood (`as_of_utc`, computed live when the file is built), its trend over the period as a chart;
then what happened in the period: open findings and their actions, exercises held, incidents
declared, and plans approved. Other features add what they record with `register_period_section`.

Built by a background task (`reviews.report_requests`), never in a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from django.utils import timezone

from bcp_site.text import display_name
from plans.exports.render import (
    _css_string,
    format_utc,
    pdf_from_template,
)
from plans.models import Exercise, Finding, Incident, PlanVersion

from .kpi import figures, format_value
from .kpi_charts import describe, trend_chart_svg
from .kpi_snapshots import kpi_trends
from .models import ReportRequest

SECTION_ROWS = 200  # rows listed per section; the rest are counted


@dataclass
class PeriodSection:
    """Something that happened in the period, as a table."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    total: int = 0
    empty: str = "None in this period."


PeriodSectionBuilder = Callable[[int, dt.date, dt.date], PeriodSection]
_sections: list[tuple[int, PeriodSectionBuilder]] = []


def register_period_section(builder: PeriodSectionBuilder, *, order: int) -> None:
    """Add `builder(org_id, period_from, period_to) -> PeriodSection` to every KPI report, at `order`."""
    if all(existing is not builder for _order, existing in _sections):
        _sections.append((order, builder))


def _day(value) -> str:
    return value.isoformat() if value else "—"


def open_findings_section(org_id: int, start: dt.date, end: dt.date) -> PeriodSection:
    """Findings still open at the report's time, oldest due date first (their actions and owners)."""
    rows = (Finding.objects.filter(plan__org_id=org_id)
            .filter(status__in=[Finding.Status.OPEN, Finding.Status.IN_PROGRESS])
            .select_related("plan", "owner_user").order_by("due_on", "id"))
    today = timezone.localdate()
    found = list(rows[:SECTION_ROWS])
    return PeriodSection(
        title="Open findings and actions", columns=["Plan", "Finding", "Severity", "Owner", "Due", "Status"],
        rows=[[f.plan.title, f.description, f.get_severity_display(), display_name(f.owner_user),
               _day(f.due_on) + (" (overdue)" if f.due_on and f.due_on < today else ""), f.get_status_display()]
              for f in found],
        total=rows.count() if len(found) == SECTION_ROWS else len(found), empty="No open findings.",
    )


def exercises_section(org_id: int, start: dt.date, end: dt.date) -> PeriodSection:
    rows = (Exercise.objects.filter(plan__org_id=org_id, held_on__gte=start, held_on__lte=end)
            .select_related("plan").order_by("held_on", "id"))
    found = list(rows[:SECTION_ROWS])
    return PeriodSection(
        title="Exercises held", columns=["Held on", "Plan", "Exercise", "Type", "Status"],
        rows=[[_day(e.held_on), e.plan.title, e.title, e.get_exercise_type_display(), e.get_status_display()]
              for e in found],
        total=rows.count() if len(found) == SECTION_ROWS else len(found),
    )


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's first moment and the moment after its last day (in the display time zone)."""
    zone = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=zone),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone))


def incidents_section(org_id: int, start: dt.date, end: dt.date) -> PeriodSection:
    begin, finish = _bounds(start, end)
    rows = (Incident.objects.filter(org_id=org_id, declared_at_utc__gte=begin, declared_at_utc__lt=finish)
            .select_related("declared_by_user").order_by("declared_at_utc", "id"))
    found = list(rows[:SECTION_ROWS])
    return PeriodSection(
        title="Incidents declared", columns=["Declared", "Incident", "Severity", "Declared by", "Status"],
        rows=[[format_utc(i.declared_at_utc), i.title, i.get_severity_display(), display_name(i.declared_by_user),
               i.get_status_display()] for i in found],
        total=rows.count() if len(found) == SECTION_ROWS else len(found),
    )


def approvals_section(org_id: int, start: dt.date, end: dt.date) -> PeriodSection:
    begin, finish = _bounds(start, end)
    rows = (PlanVersion.objects.filter(plan__org_id=org_id, approved_at_utc__gte=begin, approved_at_utc__lt=finish)
            .select_related("plan").only("version_number", "approved_at_utc", "plan__title")
            .order_by("approved_at_utc", "id"))
    found = list(rows[:SECTION_ROWS])
    return PeriodSection(
        title="Plans approved", columns=["Approved", "Plan", "Version"],
        rows=[[format_utc(v.approved_at_utc), v.plan.title, f"v{v.version_number}"] for v in found],
        total=rows.count() if len(found) == SECTION_ROWS else len(found),
    )


register_period_section(open_findings_section, order=10)
register_period_section(exercises_section, order=20)
register_period_section(incidents_section, order=30)
register_period_section(approvals_section, order=40)


def kpi_report_context(request: ReportRequest) -> dict:
    """What the report shows, as plain data."""
    org, start, end = request.org, request.period_from, request.period_to
    now = figures(org.pk, today=timezone.localdate(request.as_of_utc))
    trends = {trend.metric.key: trend for trend in kpi_trends(org.pk, today=end, start=start)}
    metrics = []
    for figure in now:
        trend = trends.get(figure.metric.key)
        points = [p for p in (trend.points if trend else []) if p.value is not None]
        unit = figure.metric.unit
        metrics.append({
            "label": figure.metric.label, "help": figure.metric.help,
            "start": format_value(points[0].value, unit) if points else "—",
            "start_day": points[0].day if points else None,
            "end": format_value(points[-1].value, unit) if points else "—",
            "end_day": points[-1].day if points else None,
            "now": figure.display, "now_detail": figure.detail,
            "chart": trend_chart_svg(trend, chart_id=f"chart-{figure.metric.key}") if trend else "",
            "chart_text": describe(trend) if trend else "",
        })
    sections = [builder(org.pk, start, end) for _order, builder in sorted(_sections, key=lambda s: s[0])]
    title = f"Business continuity KPIs, {start:%d %b %Y} to {end:%d %b %Y}"
    return {
        "title": title, "organisation": org.name, "period_from": start, "period_to": end,
        "as_of": format_utc(request.as_of_utc), "requested_by": display_name(request.requested_by_user),
        "metrics": metrics, "sections": sections,
        "css_running_title": _css_string(f"{org.name} · {title}"),
        "created_iso": request.as_of_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def render_kpi_report(request: ReportRequest) -> bytes:
    """The report's PDF. Raises ServiceError "renderer_unavailable" when WeasyPrint cannot load."""
    with timezone.override(UTC):
        context = kpi_report_context(request)
    return pdf_from_template("reviews/kpi/print/report.html", context, identifier=f"bcp-kpi-report-{request.pk}")
