"""Background tasks of reviews (Django's tasks API: `django_tasks` now, `django.tasks` in Django 6)."""

from django_tasks import task

from .report_requests import report_build_run


@task()
def build_report(request_id: int) -> str:
    """Build, store and record the file of a report request (a KPI report or an evidence pack), once."""
    return report_build_run(request_id=request_id)
