"""Background tasks of the exports (Django's tasks API: `django_tasks` now, `django.tasks` in Django 6).

Arguments are plain JSON values (ids and names), so every backend can carry them: the
database queue, RQ on Redis, or the immediate backend that runs them at once.
"""

from django_tasks import task

from .breakglass import breakglass_task_run
from .incident_report import incident_report_task_run
from .pending import issued_file_task_run
from .report import exercise_report_task_run


@task()
def issue_version_file(version_id: int, kind: str) -> str:
    """Render, store and record the `kind` ("pdf"/"docx") file of a version in its marking now."""
    return issued_file_task_run(version_id=version_id, kind=kind)


@task()
def issue_exercise_report(exercise_id: int) -> str:
    """Render, store and record the after-action report of a reported exercise (once)."""
    return exercise_report_task_run(exercise_id=exercise_id)


@task()
def issue_breakglass_file(version_id: int, fmt: str) -> str:
    """Render, store and record the break-glass pack ("html"/"pdf") of an approved version in its marking now."""
    return breakglass_task_run(version_id=version_id, fmt=fmt)


@task()
def issue_incident_report(incident_id: int) -> str:
    """Render, store and record the post-incident report of a closed incident (once)."""
    return incident_report_task_run(incident_id=incident_id)
