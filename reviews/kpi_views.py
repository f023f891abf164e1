"""The KPI dashboard of an organisation: live figures, 12-month trends, the snapshots as CSV.

Who sees it: people with `reviews.view_kpi` (BCP Admins, BCP Reviewers and BCP Auditors, see
`reviews.0008_auditor_group`), for their own organisation only: no page takes an organisation
or a row in its URL.
"""

from __future__ import annotations

import csv
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from bcp_site.paging import keyset_page
from bcp_site.text import csv_cell
from plans.selectors import organisation_for

from .kpi import COUNT, PERCENT, figures, format_value, metric_for, percent_of
from .kpi_charts import describe, trend_chart_svg
from .kpi_metrics import in_force_plans, with_ack_coverage
from .kpi_snapshots import kpi_keep_from, kpi_trends, snapshot_rows, trend_start
from .models import ReportRequest
from .report_forms import KpiReportForm, recent_requests

KPI_PERM = "reviews.view_kpi"
COVERAGE_PAGE_SIZE = 25
CSV_CHUNK = 2000


class _Echo:
    """A file-like object whose write returns the line (csv.writer into a streaming response)."""

    def write(self, value):
        return value


def _organisation(request):
    """The person's organisation, if they may see its KPIs: 404 without one, 403 without the permission."""
    org = organisation_for(request.user)
    if org is None:
        raise Http404("You do not belong to an organisation, so there are no figures to show.")
    if not request.user.has_perm(KPI_PERM):
        raise PermissionDenied("Your role does not allow you to see the organisation's figures.")
    return org


@login_required
@require_GET
def dashboard(request):
    """Each metric: its value now (live, database aggregates), a link to the items behind it, and its
    trend over 12 months from the daily snapshots (an SVG chart and a table of month ends).

    Queries, whatever the size of the organisation: the membership, one aggregate per kind of
    rows the metrics count (`reviews.kpi.figures`), one for the snapshots.
    """
    org = _organisation(request)
    today = timezone.localdate()
    trends = {trend.metric.key: trend for trend in kpi_trends(org.pk, today=today)}
    cards = []
    for figure in figures(org.pk, today=today):
        trend = trends[figure.metric.key]
        cards.append({
            "figure": figure, "metric": figure.metric, "items_url": figure.metric.items_url(), "trend": trend,
            "chart": trend_chart_svg(trend, chart_id=f"chart-{figure.metric.key}"),
            "chart_text": describe(trend),
            "months": [{"point": p, "display": format_value(p.value, figure.metric.unit)} for p in trend.months],
        })
    return render(request, "reviews/kpi/dashboard.html", {
        "org": org, "cards": cards, "today": today,
        "report_form": KpiReportForm(initial={"period_from": trend_start(today), "period_to": today}),
        "reports": recent_requests(org=org, kind=ReportRequest.Kind.KPI_REPORT),
        "trend_start": next(iter(trends.values())).start if trends else today,
    })


@login_required
@require_GET
def snapshots_csv(request):
    """Every snapshot row of the organisation (at most KPI_KEEP_YEARS of them), oldest day first, streamed."""
    org = _organisation(request)
    rows = (
        snapshot_rows(org.pk).filter(day__gte=kpi_keep_from()).order_by("day", "metric_key")
        .values_list("day", "metric_key", "unit", "value", "numerator", "denominator", "computed_at_utc")
    )

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(["day", "metric", "label", "unit", "value", "counted", "out_of", "computed_at_utc"])
        for day, key, unit, value, numerator, denominator, computed_at in rows.iterator(chunk_size=CSV_CHUNK):
            metric = metric_for(key)
            yield writer.writerow([
                day.isoformat(), csv_cell(key), csv_cell(metric.label if metric else key), unit,
                "" if value is None else f"{value:.0f}" if unit == COUNT else f"{value:.1f}", numerator,
                "" if denominator is None else denominator,
                computed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kpi-snapshots-{timezone.localdate():%Y%m%d}.csv"'
    return response


@login_required
@require_GET
def ack_coverage_list(request):
    """The items behind "acknowledgement coverage": each approved plan in use with its coverage,
    most recently updated first, "Newer" / "Older" pages.

    Queries: the membership and one page of plans (their coverage counted in the same query).
    """
    org = _organisation(request)
    plans = with_ack_coverage(
        in_force_plans(org.pk).select_related("approved_version").only(
            "id", "title", "status", "updated_at", "org_id", "approved_version__id",
            "approved_version__version_number", "approved_at_utc",
        )
    )
    page = keyset_page(request, plans, keys=("updated_at", "id"), per_page=COVERAGE_PAGE_SIZE)
    rows = [{"plan": plan, "total": plan.ack_total, "done": plan.ack_done,
             "percent": format_value(percent_of(plan.ack_done, plan.ack_total), PERCENT)} for plan in page]
    return render(request, "reviews/kpi/ack_coverage.html", {"org": org, "page": page, "rows": rows})

