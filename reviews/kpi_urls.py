"""The organisation's KPI dashboard (reviews.kpi_views)."""

from django.urls import path

from . import kpi_views, report_views

app_name = "kpi"

urlpatterns = [
    path("", kpi_views.dashboard, name="dashboard"),
    path("snapshots.csv", kpi_views.snapshots_csv, name="snapshots_csv"),
    path("acknowledgements/", kpi_views.ack_coverage_list, name="ack_coverage"),
    path("reports/", report_views.kpi_report_request, name="report_request"),
    path("reports/<id:request_id>/", report_views.kpi_report, name="report"),
    path("reports/<id:request_id>/retry/", report_views.kpi_report_retry, name="report_retry"),
    path("reports/<id:request_id>/download", report_views.kpi_report_download, name="report_download"),
]
