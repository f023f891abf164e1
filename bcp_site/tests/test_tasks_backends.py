"""Background tasks on the backends the product supports: the database queue and RQ on a real Redis.

The database queue is run by django_tasks_db's own worker loop (in this process, on the test's
database); RQ by a real RQ worker against a real redis-server (a private one started for these
tests when the binary is installed, else the one on 127.0.0.1:6379). Each runs the export flow
end to end: approval -> two render tasks -> two issued files that verify.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from bcp_site.tasks_support import queue_health, run_db_worker
from plans.exports import export_find, sha256_bytes
from plans.models import IssuedFile, IssuedFileRequest

ROOT = Path(__file__).resolve().parents[2]
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
RENDER_TASK = "plans.exports.tasks.issue_version_file"
RQ = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


def approve_through_the_workflow(plan, owner, reviewer, capture):
    """Submit and approve `plan` with the real services, running the after-commit hooks."""
    from reviews import services as workflow

    with capture(execute=True):
        [review] = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    with capture(execute=True):
        workflow.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()
    return plan.approved_version


def assert_both_files_issued_and_verify(plan, version):
    files = {f.kind: f for f in IssuedFile.objects.filter(version=version)}
    assert set(files) == {IssuedFile.Kind.PLAN_PDF, IssuedFile.Kind.PLAN_DOCX,  # and the version's break-glass pack
                          IssuedFile.Kind.BREAKGLASS_HTML, IssuedFile.Kind.BREAKGLASS_PDF}
    for issued in files.values():
        assert issued.marking == IssuedFile.Marking.APPROVED
        with default_storage.open(issued.storage_path, "rb") as handle:
            data = handle.read()
        assert sha256_bytes(data) == issued.sha256
        match = export_find(digest=issued.sha256, organisation=plan.org)
        assert match is not None and f"version {version.version_number}, approved on" in match.describe()
    assert not IssuedFileRequest.objects.exists()


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(("value", "backend"), [
    ("", "django_tasks_db.DatabaseBackend"),
    ("database", "django_tasks_db.DatabaseBackend"),
    ("rq", "django_tasks_rq.RQBackend"),
    ("immediate", "django_tasks.backends.immediate.ImmediateBackend"),
])
def test_the_backend_comes_from_the_environment(value, backend):
    env = {**os.environ, "DEBUG": "true", "BCP_TASKS_BACKEND": value}
    code = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                            env={**env, "DJANGO_SETTINGS_MODULE": "bcp_site.settings"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


@pytest.mark.parametrize(("env", "message"), [
    ({"BCP_TASKS_BACKEND": "celery"}, "BCP_TASKS_BACKEND='celery': use one of database, rq, immediate"),
    ({"BCP_TASKS_BACKEND": "rq", "REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL='http://127.0.0.1:6379'"),
])
def test_bad_task_settings_refuse_to_start(env, message):
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**base, "DEBUG": "true", **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr


# --------------------------------------------------------------------------- database queue


def test_database_queue_runs_the_approval_exports_through_its_worker(
    settings, plan, owner, reviewer, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DATABASE
    version = approve_through_the_workflow(plan, owner, reviewer, django_capture_on_commit_callbacks)
    renders = DBTaskResult.objects.filter(task_path=RENDER_TASK).order_by("enqueued_at")
    assert [t.args_kwargs["kwargs"] for t in renders] == [
        {"version_id": version.pk, "kind": "pdf"}, {"version_id": version.pk, "kind": "docx"},
    ]
    assert not IssuedFile.objects.exists()  # nothing was rendered inside the approval
    health = queue_health()
    assert health.backend == "database" and health.oldest_waiting_since is not None
    assert health.waiting == DBTaskResult.objects.count() >= 2  # the renders, and the approval's mail

    assert run_db_worker() == health.waiting
    assert set(renders.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert_both_files_issued_and_verify(plan, version)
    assert queue_health().waiting == 0


def test_queue_health_reports_old_waiting_work_and_failures(settings, plan):
    from django_tasks_db.models import DBTaskResult

    from plans.exports.tasks import issue_version_file

    settings.TASKS = DATABASE
    result = issue_version_file.enqueue(version_id=plan.current_version_id, kind="pdf")
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=datetime(2020, 1, 1, tzinfo=UTC))
    health = queue_health()
    assert health.stale and any("is a worker running?" in p for p in health.problems)

    issue_version_file.enqueue(version_id=plan.current_version_id, kind="exe")  # fails in the worker
    run_db_worker()
    health = queue_health()
    assert health.waiting == 0 and health.failed == 1
    [failure] = health.recent_failures
    assert failure.name == "issue_version_file" and "KeyError" in failure.error


# --------------------------------------------------------------------------- RQ on Redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real Redis: a private redis-server on a free port, else the one on 127.0.0.1:6379."""
    server = shutil.which("redis-server")
    if server is None:
        if not _answers(6379):
            pytest.skip("no redis-server installed, nothing answers on 127.0.0.1:6379 (apt-get install redis-server)")
        yield "redis://127.0.0.1:6379/13"
        return
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if _answers(port):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the private redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def rq_backend(settings, redis_url):
    import django_rq

    settings.TASKS = RQ
    settings.BCP_TASKS_BACKEND = "rq"
    settings.REDIS_URL = redis_url
    settings.RQ_QUEUES = {"default": {"URL": redis_url, "DEFAULT_TIMEOUT": 600}}
    django_rq.get_connection("default").flushdb()
    yield redis_url
    django_rq.get_connection("default").flushdb()


def _rq_worker():
    """A real RQ worker (in this process, so it shares the test's database transaction)."""
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    queue = django_rq.get_queue("default", job_class=Job)
    return SimpleWorker([queue], connection=queue.connection, job_class=Job)


def test_rq_runs_the_approval_exports_end_to_end(rq_backend, plan, owner, reviewer, django_capture_on_commit_callbacks):
    import django_rq

    version = approve_through_the_workflow(plan, owner, reviewer, django_capture_on_commit_callbacks)
    queue = django_rq.get_queue("default")
    renders = [job for job in queue.get_jobs() if job.func_name == RENDER_TASK]
    assert [job.kwargs for job in renders] == [  # the PDF and the DOCX, waiting in Redis
        {"version_id": version.pk, "kind": "pdf"}, {"version_id": version.pk, "kind": "docx"},
    ]
    assert not IssuedFile.objects.exists()
    health = queue_health()
    assert health.backend == "rq" and health.waiting == queue.count >= 2 and health.workers == 0
    assert "No worker is registered with this queue." in health.problems

    assert _rq_worker().work(burst=True)
    assert queue.count == 0 and queue.failed_job_registry.count == 0
    assert_both_files_issued_and_verify(plan, version)


def test_rq_failures_show_in_the_queue_health(rq_backend, plan):
    from plans.exports.tasks import issue_version_file

    issue_version_file.enqueue(version_id=plan.current_version_id, kind="exe")
    _rq_worker().work(burst=True)
    health = queue_health()
    assert health.failed == 1 and health.waiting == 0
    assert health.recent_failures[0].name == "issue_version_file"
    assert "KeyError" in health.recent_failures[0].error


def test_rq_worker_command_runs_in_its_own_process(rq_backend, tmp_path):
    """`manage.py rqworker --burst` (what production runs) takes a job from Redis and runs it."""
    from plans.exports.tasks import issue_version_file

    result = issue_version_file.enqueue(version_id=999999, kind="pdf")  # a version that is gone: returns ""
    env = {**os.environ, "DEBUG": "true", "BCP_TASKS_BACKEND": "rq", "REDIS_URL": rq_backend,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    done = subprocess.run([sys.executable, "manage.py", "rqworker", "default", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    finished = issue_version_file.get_result(result.id)
    assert finished.status == "SUCCESSFUL", finished.errors[0].traceback if finished.errors else done.stderr
    assert finished.return_value == ""


def test_rq_runs_a_deferred_task_once_its_time_has_come(rq_backend, plan):
    """Retries re-enqueue with `.using(run_after=...)`: RQ keeps them in its scheduled registry, and
    a worker started with its scheduler (`rqworker default --with-scheduler`) moves them to the queue."""
    import django_rq
    from django.utils import timezone

    from plans.exports.tasks import issue_version_file

    when = timezone.now() + timedelta(seconds=1)
    result = issue_version_file.using(run_after=when).enqueue(version_id=plan.current_version_id, kind="pdf")
    queue = django_rq.get_queue("default")
    assert queue.count == 0 and queue.scheduled_job_registry.count == 1
    _rq_worker().work(burst=True, with_scheduler=True)
    assert not IssuedFile.objects.exists()  # not yet due
    time.sleep(max((when - timezone.now()).total_seconds(), 0) + 0.2)
    _rq_worker().work(burst=True, with_scheduler=True)
    assert issue_version_file.get_result(result.id).status == "SUCCESSFUL"
    assert IssuedFile.objects.filter(version_id=plan.current_version_id, kind=IssuedFile.Kind.PLAN_PDF).exists()
