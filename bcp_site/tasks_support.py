"""Background tasks: the queue's health for the admin, and running the database worker in-process.

The application enqueues work through Django's tasks API (`from django_tasks import task`;
`@task()`; `.enqueue()`), whatever the backend `BCP_TASKS_BACKEND` chose (settings.py):

- `database`: rows in `django_tasks_db_dbtaskresult`, run by `manage.py db_worker`;
- `rq`: jobs in Redis (`REDIS_URL`), run by `manage.py rqworker default --with-scheduler`;
- `immediate`: run inside the request that enqueues them (tests, demos without a worker).

`queue_health()` answers "is work getting done?" for the one you run: how many tasks wait,
since when the oldest has waited, and which failed lately. `run_db_worker()` runs the
database worker's own loop in this process until the queue is empty (tests, and commands
that must finish their work before they return).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

# The oldest waiting task older than this means no worker is taking work (or too few).
STALE_AFTER = timedelta(minutes=1)
RECENT_FAILURES = 10


@dataclass(frozen=True)
class FailedTask:
    name: str
    failed_at: datetime | None
    error: str  # the exception's class and message (its last traceback line)
    task_id: str = ""


@dataclass(frozen=True)
class QueueHealth:
    """What the admin shows about the task queue (None where the backend cannot tell)."""

    backend: str  # "database", "rq" or "immediate"
    description: str
    waiting: int | None = None
    oldest_waiting_since: datetime | None = None
    running: int | None = None
    failed: int | None = None
    recent_failures: list[FailedTask] = field(default_factory=list)
    workers: int | None = None
    error: str = ""  # the queue could not be read (Redis unreachable, ...)

    @property
    def oldest_wait(self) -> timedelta | None:
        if self.oldest_waiting_since is None:
            return None
        return max(timezone.now() - self.oldest_waiting_since, timedelta(0))

    @property
    def stale(self) -> bool:
        """Work has waited longer than STALE_AFTER: no worker is running, or too few."""
        wait = self.oldest_wait
        return wait is not None and wait > STALE_AFTER

    @property
    def problems(self) -> list[str]:
        found = []
        if self.error:
            found.append(self.error)
        if self.stale:
            minutes = int(self.oldest_wait.total_seconds() // 60)
            found.append(f"The oldest task has waited {minutes} minute(s): is a worker running?")
        if self.workers == 0 and self.waiting:
            found.append("No worker is registered with this queue.")
        if self.failed:
            found.append(f"{self.failed} task(s) failed: see the list below.")
        return found


def tasks_backend() -> str:
    """"database", "rq" or "immediate": the kind of the default task backend in use."""
    from django_tasks import task_backends
    from django_tasks_db import DatabaseBackend
    from django_tasks_rq import RQBackend

    backend = task_backends["default"]
    if isinstance(backend, DatabaseBackend):
        return "database"
    if isinstance(backend, RQBackend):
        return "rq"
    return "immediate"


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _task_name(path: str) -> str:
    return path.rsplit(".", 1)[-1] if path else ""


def _database_health() -> QueueHealth:
    """Three queries on the task table (counts by status, the oldest ready task, the latest failures)."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(backend_name="default", queue_name__in=settings.TASK_QUEUES)
    counts = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    oldest = rows.ready().order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    failures = [
        FailedTask(name=_task_name(row.task_path), failed_at=row.finished_at,
                   error=_last_line(row.traceback) or row.exception_class_path, task_id=str(row.id))
        for row in rows.failed().order_by("-finished_at").only(
            "id", "task_path", "finished_at", "traceback", "exception_class_path"
        )[:RECENT_FAILURES]
    ]
    return QueueHealth(
        backend="database",
        description="Database queue: workers run `manage.py db_worker`.",
        waiting=counts.get("READY", 0), oldest_waiting_since=oldest, running=counts.get("RUNNING", 0),
        failed=counts.get("FAILED", 0), recent_failures=failures,
    )


def _rq_health() -> QueueHealth:
    """Reads Redis: each queue's length and first job, the failed and started registries, the workers."""
    import django_rq
    from rq import Worker
    from rq.job import Job

    waiting = running = failed = workers = 0
    oldest = None
    failures: list[FailedTask] = []
    try:
        for name in settings.TASK_QUEUES:
            queue = django_rq.get_queue(name)
            waiting += queue.count
            first = queue.get_job_ids(0, 1)
            if first:
                job = Job.fetch(first[0], connection=queue.connection)
                if job.enqueued_at and (oldest is None or job.enqueued_at < oldest):
                    oldest = job.enqueued_at
            running += queue.started_job_registry.count
            registry = queue.failed_job_registry
            failed += registry.count
            for job_id in registry.get_job_ids(0, RECENT_FAILURES - 1):
                job = Job.fetch(job_id, connection=queue.connection)
                result = job.latest_result()
                failures.append(FailedTask(
                    name=_task_name(job.func_name or ""), failed_at=job.ended_at,
                    error=_last_line(result.exc_string if result else ""), task_id=job_id,
                ))
            workers += Worker.count(queue=queue)
    except Exception as error:  # noqa: BLE001 - the page says the queue cannot be read, and why
        return QueueHealth(backend="rq", description=f"RQ on Redis at {settings.REDIS_URL}.",
                           error=f"Redis could not be read: {type(error).__name__}: {error}")
    if oldest is not None and timezone.is_naive(oldest):  # RQ keeps UTC times
        oldest = oldest.replace(tzinfo=UTC)
    return QueueHealth(
        backend="rq", description="RQ on Redis: workers run `manage.py rqworker default --with-scheduler`.",
        waiting=waiting, oldest_waiting_since=oldest, running=running, failed=failed,
        recent_failures=failures[:RECENT_FAILURES], workers=workers,
    )


def queue_health() -> QueueHealth:
    backend = tasks_backend()
    if backend == "database":
        return _database_health()
    if backend == "rq":
        return _rq_health()
    return QueueHealth(backend=backend, description="Tasks run inside the request that enqueues them: no queue.")


def run_db_worker(*, max_tasks: int | None = None, queue_names: list[str] | None = None) -> int:
    """Run the database worker's loop here until no task is ready (or `max_tasks` ran); returns how many ran.

    The loop is django_tasks_db's own (`db_worker --batch`): the same claiming, running and
    recording of results as a worker process, inside this process and its database connection.
    """
    from django_tasks_db.management.commands import db_worker

    worker = db_worker.Worker(
        queue_names=queue_names or list(settings.TASK_QUEUES), interval=0, batch=True, backend_name="default",
        startup_delay=False, max_tasks=max_tasks, worker_id=f"inprocess-{get_random_string(12)}",
        excluded_queue_names=[],
    )
    if connection.in_atomic_block:
        # Inside a transaction (a test's): the loop's "close stale connections" would close this one
        # and lose the transaction, so it is skipped; everything else runs as in a worker process.
        with mock.patch.object(db_worker, "close_old_connections", lambda: None):
            worker.run()
    else:
        worker.run()
    return worker._run_tasks
