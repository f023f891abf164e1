"""Background tasks of the exports (Django's tasks API: `django_tasks` now, `django.tasks` in Django 6).

Arguments are plain JSON values (ids and names), so every backend can carry them: the
database queue, RQ on Redis, or the immediate backend that runs them at once.
"""

from django_tasks import task

from .pending import issued_file_task_run


@task()
def issue_version_file(version_id: int, kind: str) -> str:
    """Render, store and record the `kind` ("pdf"/"docx") file of a version in its marking now."""
    return issued_file_task_run(version_id=version_id, kind=kind)
