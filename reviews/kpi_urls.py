"""The organisation's KPI dashboard (reviews.kpi_views)."""

from django.urls import path

from . import kpi_views

app_name = "kpi"

urlpatterns = [
    path("", kpi_views.dashboard, name="dashboard"),
    path("snapshots.csv", kpi_views.snapshots_csv, name="snapshots_csv"),
    path("acknowledgements/", kpi_views.ack_coverage_list, name="ack_coverage"),
]
