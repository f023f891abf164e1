"""The after-action report: rendered by a background task (never in a request), issued once as a PDF recorded in
bc_issued_file, downloaded with its hash checked, and verifiable like plan exports.

The task runs on the database queue, in django_tasks_db's own worker loop (`run_db_worker`); the PDF is read
back with pdftotext.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bcp_site.tasks_support import run_db_worker
from bcp_site.testing import pdf_text
from plans.exercises import exercise_report_issue, exercise_results_record
from plans.exports import render_exercise_report
from plans.models import Audit, Exercise, IssuedFile, Process

from .exercise_support import approve, held_exercise, raise_finding, save_revision

pytestmark = pytest.mark.django_db

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queue(settings):
    """The database queue, with no worker running until the test runs one."""
    settings.TASKS = DATABASE


@pytest.fixture
def exercise(plan, owner, reviewer):
    """A held exercise of the approved version 2 with results, a recovery time and a finding."""
    Process.objects.create(plan=plan, name="Payroll", rto_minutes=60, mtpd_minutes=240)
    save_revision(plan, actor=owner)
    approve(plan, submitter=owner, approver=reviewer)
    exercise = held_exercise(plan, actor=owner, title="Payroll outage drill",
                             objectives=("Pay staff on time", "Tell the bank"))
    payroll = next(p for p in exercise.version.content_json["processes"] if p["name"] == "Payroll")
    exercise_results_record(exercise=exercise, actor=owner, summary="Payroll ran from the bureau's portal.",
                            objectives={o.pk: ("met", "") for o in exercise.objectives.all()},
                            recoveries={payroll["id"]: (90, "The token was in a locked office")})
    raise_finding(exercise, actor=owner, description="Keep a second payroll token off site")
    return exercise


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_report_is_prepared_by_a_worker_issued_once_and_verifies(client, queue, plan, owner, member, exercise,
                                                                     django_capture_on_commit_callbacks, tmp_path):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("exercises:exercise_report_issue", args=[plan.pk, exercise.pk]))
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.REPORTED and not IssuedFile.objects.filter(exercise=exercise).exists()

    url = reverse("exercises:exercise_report", args=[plan.pk, exercise.pk])
    client.force_login(member)  # any member of the organisation reads it
    page = client.get(url)
    assert page.status_code == 202 and "is being prepared" in page.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page.content.decode()

    assert run_db_worker() == 1
    issued = IssuedFile.objects.get(exercise=exercise)
    assert (issued.kind, issued.marking, issued.version_id, issued.plan_id) == ("exercise_report", "final", None,
                                                                                plan.pk)
    response = client.get(url)
    data = body(response)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["ETag"] == f'"{issued.sha256}"' and data.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    text = pdf_text(data, tmp_path)
    for words in ("Payroll outage drill", "After-action report", "Pay staff on time", "Met", "Payroll",
                  "1 h 30 min", "RTO missed", "Keep a second payroll token off site", "Version 2",
                  "Payroll ran from the bureau's portal."):
        assert words in text, words
    assert Audit.objects.filter(action="export_created", details_json__exercise=exercise.title).count() == 1

    # Issued once: the same exercise renders the same bytes, and a second run issues nothing new.
    assert render_exercise_report(exercise) == data
    from plans.exports.report import exercise_report_store

    assert exercise_report_store(exercise=exercise) == (issued, False)

    # Verifiable like plan exports: the verify page and the command read bc_issued_file only.
    upload = ContentFile(data, name="report.pdf")
    page = client.post(reverse("files:verify"), {"file": upload}).content.decode()
    assert "after-action report of the exercise" in page and "Payroll outage drill" in page
    assert exercise.get_absolute_url() in page
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    out = StringIO()
    call_command("verify_export", str(path), stdout=out)
    assert "after-action report" in out.getvalue() and plan.org.name in out.getvalue()
    path.write_bytes(data + b"\n")
    with pytest.raises(CommandError):
        call_command("verify_export", str(path))


def test_a_failed_render_is_said_and_can_be_tried_again(client, queue, plan, owner, exercise, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        exercise_report_issue(exercise=exercise, actor=owner)

    def broken(exercise):
        raise OSError("disk full")

    monkeypatch.setattr("plans.exports.report.render_exercise_report", broken)
    run_db_worker()
    exercise.refresh_from_db()
    assert exercise.report_error == "OSError: disk full"
    client.force_login(owner)
    url = reverse("exercises:exercise_report", args=[plan.pk, exercise.pk])
    page = client.get(url).content.decode()
    assert "could not be prepared" in page and "disk full" in page and "Try again" in page
    assert 'http-equiv="refresh"' not in page

    monkeypatch.undo()
    assert client.post(url).status_code == 302
    run_db_worker()
    assert client.get(url).status_code == 200
    exercise.refresh_from_db()
    assert exercise.report_error == ""


def test_a_changed_stored_report_is_refused_not_replaced(client, plan, owner, exercise,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend renders it at once
        exercise_report_issue(exercise=exercise, actor=owner)
    issued = IssuedFile.objects.get(exercise=exercise)
    default_storage.delete(issued.storage_path)
    default_storage.save(issued.storage_path, ContentFile(b"%PDF-1.7 forged"))
    client.force_login(owner)
    response = client.get(reverse("exercises:exercise_report", args=[plan.pk, exercise.pk]))
    assert response.status_code == 409 and "no longer matches its recorded SHA-256" in response.content.decode()
    assert Audit.objects.filter(action="export_integrity_failure").count() == 1
    assert IssuedFile.objects.filter(exercise=exercise).count() == 1


def test_no_report_before_the_exercise_is_reported(client, plan, owner, exercise):
    client.force_login(owner)
    response = client.get(reverse("exercises:exercise_report", args=[plan.pk, exercise.pk]), follow=True)
    assert "This exercise has no report yet" in response.content.decode()
    assert not IssuedFile.objects.filter(exercise=exercise).exists()
