"""Nobody waits for a file: "being prepared", one shared task, a real worker, then the file; HTTP caching.

These tests use the database queue and run django_tasks_db's own worker loop in this process
(`bcp_site.tasks_support.run_db_worker`), as `manage.py db_worker` would.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from bcp_site.tasks_support import queue_health, run_db_worker
from bcp_site.testing import make_user
from plans.models import Attachment, Audit, IssuedFile, IssuedFileRequest

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
RENDER_TASK = "plans.exports.tasks.issue_version_file"


@pytest.fixture
def queue(settings):
    """The database queue, with no worker running until the test runs one."""
    settings.TASKS = DATABASE


def export_url(plan, number=1, kind="pdf"):
    return reverse("files:version_export", args=[plan.pk, number, kind])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def render_tasks():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=RENDER_TASK)


# --------------------------------------------------------------------------- being prepared


def test_first_download_is_prepared_by_a_worker_then_served(client, queue, plan, member, editor):
    client.force_login(member)
    page = client.get(export_url(plan))
    assert page.status_code == 202
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "The PDF of version 1 is being prepared" in html
    assert page["Cache-Control"] == "no-store" and "ETag" not in page
    assert render_tasks().count() == 1 and not IssuedFile.objects.exists()

    # a second person's first download, and a refresh, share the one task
    other = make_user(plan.org, username="another", groups=["BCP Viewer"])
    client.force_login(other)
    assert client.get(export_url(plan)).status_code == 202
    client.force_login(member)
    assert client.get(export_url(plan)).status_code == 202
    assert render_tasks().count() == 1 and IssuedFileRequest.objects.count() == 1

    assert run_db_worker() == 1
    response = client.get(export_url(plan))
    assert response.status_code == 200
    data = body(response)
    assert data.startswith(b"%PDF-")
    issued = IssuedFile.objects.get()
    assert issued.sha256 == hashlib.sha256(data).hexdigest() and issued.issued_by_user == member
    assert response["ETag"] == f'"{issued.sha256}"'
    assert not IssuedFileRequest.objects.exists()
    assert Audit.objects.filter(plan=plan, action="export_created").count() == 1


def test_a_request_no_worker_picked_up_within_a_minute_says_so_and_can_be_tried_again(client, queue, plan, member):
    client.force_login(member)
    client.get(export_url(plan, kind="docx"))
    IssuedFileRequest.objects.update(requested_at_utc=timezone.now() - timedelta(seconds=61))
    page = client.get(export_url(plan, kind="docx"))
    html = page.content.decode()
    assert page.status_code == 202
    assert "No background worker has picked this up in 60 seconds" in html
    assert "manage.py db_worker" in html and "Try again" in html
    assert '<meta http-equiv="refresh" content="15">' in html  # it keeps checking, more slowly

    response = client.post(export_url(plan, kind="docx"))
    assert response.status_code == 302 and response["Location"] == export_url(plan, kind="docx")
    assert render_tasks().count() == 2  # a new task (the first may be lost); whichever runs first issues the file
    assert "No background worker" not in client.get(export_url(plan, kind="docx")).content.decode()
    assert run_db_worker() == 2
    assert client.get(export_url(plan, kind="docx")).status_code == 200
    assert IssuedFile.objects.count() == 1


def test_a_failed_render_is_said_plainly_and_listed_in_the_admin(client, queue, monkeypatch, plan, member, org):
    from plans import exports

    def broken(version, **kwargs):
        raise OSError("disk full")

    monkeypatch.setitem(exports.RENDERERS, "pdf", broken)
    client.force_login(member)
    client.get(export_url(plan))
    run_db_worker()
    page = client.get(export_url(plan))
    html = page.content.decode()
    assert page.status_code == 202
    assert "could not be prepared" in html and "OSError: disk full" in html
    assert "http-equiv" not in html  # nothing changes by itself: no refresh
    assert "Try again" in html

    superuser = make_user(org, username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    admin_page = client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist"))
    text = admin_page.content.decode()
    assert admin_page.status_code == 200
    assert "Queue health" in text and "1 task(s) failed" in text and "OSError: disk full" in text

    monkeypatch.setitem(exports.RENDERERS, "pdf", exports.render_pdf)  # fixed: try again
    client.force_login(member)
    client.post(export_url(plan))
    run_db_worker()
    assert client.get(export_url(plan)).status_code == 200


def test_only_superusers_see_the_task_queue(client, queue, bcp_admin, reviewer):
    for person in (bcp_admin, reviewer):
        client.force_login(person)
        assert client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist")).status_code == 403
        assert "dbtaskresult" not in client.get(reverse("admin:index")).content.decode()


def test_admin_shows_how_long_the_oldest_task_has_waited(client, queue, plan, member, org):
    from django_tasks_db.models import DBTaskResult

    client.force_login(member)
    client.get(export_url(plan))
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=7))
    health = queue_health()
    assert health.waiting == 1 and health.stale
    client.force_login(make_user(org, username="root", is_staff=True, is_superuser=True))
    text = client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist")).content.decode()
    assert "The oldest task has waited 7 minute(s): is a worker running?" in text


def test_approval_after_commit_enqueues_both_files_and_no_render_happens_in_the_request(
    client, queue, plan, owner, reviewer, django_capture_on_commit_callbacks
):
    from reviews import services as workflow

    with django_capture_on_commit_callbacks(execute=True):
        [review] = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reviews:approve", args=[review.pk]))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.approved_version_id == plan.current_version_id
    assert sorted(t.args_kwargs["kwargs"]["kind"] for t in render_tasks()) == ["docx", "pdf"]
    assert not IssuedFile.objects.exists()
    run_db_worker()
    assert set(IssuedFile.objects.values_list("kind", "marking")) == {
        ("plan_pdf", "approved"), ("plan_docx", "approved"),
        ("breakglass_html", "approved"), ("breakglass_pdf", "approved"),  # the version's break-glass pack too
    }
    # the first download right after is served at once
    assert client.get(export_url(plan)).status_code == 200


# --------------------------------------------------------------------------- HTTP caching


@pytest.fixture
def issued_pdf(plan):
    from plans.exports import version_export_store

    data, digest = version_export_store(version=plan.current_version, kind="pdf")
    return data, digest


def test_export_download_has_an_etag_and_a_repeat_is_a_304_without_reading_the_file(
    client, plan, member, issued_pdf, monkeypatch
):
    data, digest = issued_pdf
    client.force_login(member)
    first = client.get(export_url(plan))
    assert first.status_code == 200 and body(first) == data
    assert first["ETag"] == f'"{digest}"'
    assert first["Cache-Control"] == "private, no-cache"

    def no_reading(*args, **kwargs):
        raise AssertionError("a 304 must not read the stored file")

    monkeypatch.setattr(default_storage, "open", no_reading)
    again = client.get(export_url(plan), HTTP_IF_NONE_MATCH=f'"{digest}"')
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == f'"{digest}"' and again["Cache-Control"] == "private, no-cache"
    assert client.get(export_url(plan), HTTP_IF_NONE_MATCH=f'W/"{digest}", "other"').status_code == 304


def test_a_stale_etag_gets_the_file(client, plan, member, issued_pdf):
    data, digest = issued_pdf
    client.force_login(member)
    response = client.get(export_url(plan), HTTP_IF_NONE_MATCH='"' + "0" * 64 + '"')
    assert response.status_code == 200 and body(response) == data


def test_walls_and_sign_in_come_before_the_304(client, plan, outsider, issued_pdf):
    _data, digest = issued_pdf
    tag = f'"{digest}"'
    response = client.get(export_url(plan), HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(export_url(plan), HTTP_IF_NONE_MATCH=tag).status_code == 404
    assert client.get(export_url(plan), HTTP_IF_NONE_MATCH="*").status_code == 404


def test_a_tampered_file_is_refused_even_to_a_matching_etag_on_a_full_download(client, plan, member, issued_pdf):
    _data, digest = issued_pdf
    issued = IssuedFile.objects.get()
    with open(default_storage.path(issued.storage_path), "ab") as handle:
        handle.write(b"tampered")
    client.force_login(member)
    assert client.get(export_url(plan)).status_code == 409  # no If-None-Match: the file is read and checked
    assert client.get(export_url(plan), HTTP_IF_NONE_MATCH=f'"{digest}"').status_code == 304  # the copy held is good


@pytest.fixture
def attachment(plan, owner):
    data = b"attached bytes"
    path = default_storage.save(f"attachments/plan-{plan.pk}/notes.txt", ContentFile(data))
    return Attachment.objects.create(
        plan=plan, file_name="notes.txt", storage_path=path, content_type="text/plain", size_bytes=len(data),
        uploaded_by_user=owner, uploaded_at_utc=timezone.now(), hash=hashlib.sha256(data).hexdigest(),
    )


def test_attachment_download_has_an_etag_and_a_304(client, plan, member, outsider, attachment, monkeypatch):
    url = reverse("files:attachment_download", args=[plan.pk, attachment.pk])
    client.force_login(member)
    first = client.get(url)
    assert first.status_code == 200 and body(first) == b"attached bytes"
    assert first["ETag"] == f'"{attachment.hash}"' and first["Cache-Control"] == "private, no-cache"
    monkeypatch.setattr(default_storage, "open", lambda *a, **k: pytest.fail("a 304 must not read the file"))
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"{attachment.hash}"').status_code == 304
    client.force_login(outsider)
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"{attachment.hash}"').status_code == 404


def test_pages_stay_uncached(client, plan, member):
    client.force_login(member)
    for url in (plan.get_absolute_url(), reverse("files:attachment_list", args=[plan.pk]), reverse("files:verify")):
        response = client.get(url)
        assert response.status_code == 200
        assert "ETag" not in response and "private" not in response.get("Cache-Control", "")


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the data-migration groups
def test_simultaneous_first_downloads_share_one_task(queue, plan, member, owner):
    """Several people ask for the same file at the same instant (threads, each its own connection)."""
    import threading

    from django.db import connection

    from plans.exports import version_file_request

    version = plan.current_version
    people = [member, owner] + [make_user(plan.org, username=f"viewer{i}", groups=["BCP Viewer"]) for i in range(4)]
    barrier = threading.Barrier(len(people))
    states, errors = [], []

    def download(person):
        try:
            barrier.wait()
            states.append(version_file_request(version=version, kind="pdf", actor=person))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=download, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert all(state.issued is None and state.request is not None for state in states)
    assert render_tasks().count() == 1 and IssuedFileRequest.objects.count() == 1
    assert run_db_worker() == 1
    assert IssuedFile.objects.count() == 1
