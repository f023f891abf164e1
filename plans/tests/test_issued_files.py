"""Issued files are recorded and never change (decision 2): markings, verification, same bytes, the table's rules.

The main flow runs on the database queue with django_tasks_db's own worker loop in this
process (`run_db_worker`), as `manage.py db_worker` would.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from bcp_site.tasks_support import run_db_worker
from bcp_site.testing import make_plan, pdf_text
from plans.exports import export_context, export_find, render_docx, render_pdf, sha256_bytes, version_export_store
from plans.models import IssuedFile

ROOT = Path(__file__).resolve().parents[2]
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
Marking = IssuedFile.Marking


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def approve(plan, owner, reviewer, capture):
    from reviews import services as workflow

    with capture(execute=True):
        [review] = workflow.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    with capture(execute=True):
        workflow.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()


def new_revision(plan, owner):
    from plans.models import Plan
    from plans.services import plan_prepare_edit, version_create

    with transaction.atomic():
        plan_prepare_edit(plan=Plan.objects.select_for_update().get(pk=plan.pk), actor=owner)
    version_create(plan=plan, actor=owner, note="Second revision")
    plan.refresh_from_db()


def read(issued: IssuedFile) -> bytes:
    with default_storage.open(issued.storage_path, "rb") as handle:
        return handle.read()


# --------------------------------------------------------------------------- the main flow


def test_an_approved_file_still_verifies_after_the_version_is_superseded(
    client, settings, plan, owner, reviewer, member, tmp_path, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE
    approve(plan, owner, reviewer, django_capture_on_commit_callbacks)
    run_db_worker()
    v1 = plan.approved_version
    approved = IssuedFile.objects.get(version=v1, kind=IssuedFile.Kind.PLAN_PDF)
    assert approved.marking == Marking.APPROVED
    approved_bytes = read(approved)
    v1.refresh_from_db()
    assert v1.pdf_export_hash == approved.sha256  # the version's column mirrors the approved copy

    new_revision(plan, owner)
    approve(plan, owner, reviewer, django_capture_on_commit_callbacks)
    run_db_worker()
    assert plan.approved_version.version_number == 2

    # the file people hold still verifies, and says it is no longer the plan in force
    client.force_login(member)
    answer = client.post(reverse("files:verify"), {"file": _upload(approved_bytes)}).content.decode()
    assert "This is the PDF of plan “Head office plan”, version 1, approved on" in answer
    assert "A later version of the plan has been approved since." in answer
    assert read(IssuedFile.objects.get(pk=approved.pk)) == approved_bytes  # never re-rendered or overwritten

    # a download of version 1 now is a new file, marked superseded, issued by a worker
    url = reverse("files:version_export", args=[plan.pk, 1, "pdf"])
    assert client.get(url).status_code == 202
    run_db_worker()
    response = client.get(url)
    assert response.status_code == 200
    superseded_bytes = body(response)
    assert superseded_bytes != approved_bytes
    assert "Superseded: a later version of this plan has been approved" in pdf_text(superseded_bytes, tmp_path)
    assert set(IssuedFile.objects.filter(version=v1, kind=IssuedFile.Kind.PLAN_PDF).values_list("marking", flat=True)) \
        == {Marking.APPROVED, Marking.SUPERSEDED}
    # both verify; the approved copy is the same file as before
    for data, says in ((approved_bytes, "approved on"), (superseded_bytes, "marked superseded")):
        match = export_find(digest=sha256_bytes(data), organisation=plan.org)
        assert match is not None and "version 1" in match.describe() and says in match.describe()
    assert read(IssuedFile.objects.get(pk=approved.pk)) == approved_bytes


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("plan.pdf", data)


def test_a_draft_download_then_the_approval_give_two_files_that_both_verify(
    settings, plan, owner, reviewer, tmp_path, django_capture_on_commit_callbacks
):
    draft_data, draft_digest = version_export_store(version=plan.current_version, kind="pdf")
    assert "Draft: this version has not been approved" in pdf_text(draft_data, tmp_path)
    settings.TASKS = DATABASE
    approve(plan, owner, reviewer, django_capture_on_commit_callbacks)
    run_db_worker()
    files = {f.marking: f for f in IssuedFile.objects.filter(kind=IssuedFile.Kind.PLAN_PDF)}
    assert set(files) == {Marking.DRAFT, Marking.APPROVED}
    assert files[Marking.DRAFT].sha256 == draft_digest and read(files[Marking.DRAFT]) == draft_data
    approved_text = pdf_text(read(files[Marking.APPROVED]), tmp_path)
    assert "Approved" in approved_text and "Draft" not in approved_text
    assert "not approved" in export_find(digest=draft_digest, organisation=plan.org).describe()


# --------------------------------------------------------------------------- same bytes


def test_two_renders_give_the_same_bytes_in_another_process(plan, tmp_path):
    """Another interpreter (other hash seed, other working folder) renders the same PDF and DOCX bytes."""
    version = plan.current_version
    context = export_context(version)
    here = {"pdf": render_pdf(version, context=context), "docx": render_docx(version, context=context)}
    assert render_pdf(version) == here["pdf"] and render_docx(version) == here["docx"]
    (tmp_path / "context.pickle").write_bytes(pickle.dumps(context))
    script = (
        "import pickle, sys, hashlib, django; django.setup();"
        "from plans.exports import render_pdf, render_docx;"
        "c = pickle.load(open(sys.argv[1], 'rb'));"
        "print(hashlib.sha256(render_pdf(None, context=c)).hexdigest(),"
        "      hashlib.sha256(render_docx(None, context=c)).hexdigest())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bcp_site.settings", "DEBUG": "true", "PYTHONHASHSEED": "12345",
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "context.pickle")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [sha256_bytes(here["pdf"]), sha256_bytes(here["docx"])]


@pytest.mark.skipif(not shutil.which("pdffonts"), reason="pdffonts (poppler-utils) is not installed")
def test_the_pdf_embeds_only_the_fonts_shipped_with_the_application(plan, tmp_path):
    path = tmp_path / "plan.pdf"
    path.write_bytes(render_pdf(plan.current_version))
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    fonts = {line.split()[0].split("+", 1)[-1] for line in lines}
    assert fonts and all(name.startswith("BCP-DejaVu-Sans") for name in fonts), fonts
    assert all(" yes " in line for line in lines)  # embedded: the reader needs no font of its own


def test_the_pdf_fetches_nothing_but_the_shipped_fonts(plan):
    from plans.exports.render import FONT_FILES, FONTS_DIR, _fonts_only_fetcher

    fetcher = _fonts_only_fetcher()
    for url in ("https://example.org/x.png", "file:///etc/passwd", (FONTS_DIR / "../css/app.css").as_uri()):
        with pytest.raises(ValueError, match="only the shipped fonts"):
            fetcher.fetch(url)
    assert fetcher.fetch((FONTS_DIR / FONT_FILES[0]).as_uri()) is not None


# --------------------------------------------------------------------------- once, and never changed


def test_a_file_is_issued_once_when_two_renders_race(plan, monkeypatch, django_capture_on_commit_callbacks):
    """The loser of a race (its lookup found nothing; the winner's row is there when it inserts) keeps the
    winner's row and removes only its own copy."""
    import plans.exports.issued as issued_module

    version = plan.current_version
    winner, _ = issued_module.version_file_issue(version=version, kind="pdf", data=b"%PDF- first render")
    monkeypatch.setattr(issued_module, "issued_file_find", lambda **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        loser, rendered = issued_module.version_file_issue(version=version, kind="pdf", data=b"%PDF- second render")
    assert loser.pk == winner.pk and rendered is None
    assert IssuedFile.objects.count() == 1
    assert read(winner) == b"%PDF- first render"
    second_path = issued_module.issued_storage_path(version, "pdf", Marking.DRAFT, sha256_bytes(b"%PDF- second render"))
    assert not default_storage.exists(second_path)


def test_a_missing_file_that_renders_differently_is_refused_not_replaced(client, plan, member):
    version = plan.current_version
    version_export_store(version=version, kind="pdf", data=b"%PDF- bytes nobody can render again")
    issued = IssuedFile.objects.get()
    default_storage.delete(issued.storage_path)
    client.force_login(member)
    response = client.get(reverse("files:version_export", args=[plan.pk, 1, "pdf"]))
    assert response.status_code == 409
    assert "is missing from the file store" in response.content.decode()
    assert not default_storage.exists(issued.storage_path)
    assert IssuedFile.objects.get().sha256 == issued.sha256


def test_the_database_refuses_bad_rows(plan):
    version = plan.current_version
    good = {"kind": "plan_pdf", "org": plan.org, "plan": plan, "version": version, "marking": "draft",
            "sha256": "a" * 64, "storage_path": "exports/x.pdf", "size_bytes": 1,
            "issued_at_utc": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}
    for bad in ({"kind": "plan_exe"}, {"marking": "final"}, {"sha256": "A" * 64}, {"sha256": "abc"},
                {"size_bytes": -1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            IssuedFile.objects.create(**{**good, **bad})
    IssuedFile.objects.create(**good)
    with pytest.raises(IntegrityError), transaction.atomic():
        IssuedFile.objects.create(**{**good, "sha256": "b" * 64})  # a second draft PDF of the same version
    IssuedFile.objects.create(**{**good, "marking": "approved", "sha256": "c" * 64})


def test_the_admin_shows_issued_files_read_only_and_inside_the_organisation(client, plan, bcp_admin, outsider):
    version_export_store(version=plan.current_version, kind="pdf", data=b"%PDF- issued")
    other = make_plan(outsider.membership.organisation, outsider, title="Zulu plan")
    version_export_store(version=other.current_version, kind="pdf", data=b"%PDF- other")
    mine, theirs = IssuedFile.objects.get(plan=plan), IssuedFile.objects.get(plan=other)
    client.force_login(bcp_admin)
    listing = client.get(reverse("admin:plans_issuedfile_changelist")).content.decode()
    assert mine.sha256 in listing and theirs.sha256 not in listing
    change_url = reverse("admin:plans_issuedfile_change", args=[mine.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(change_url, {"sha256": "0" * 64}).status_code == 403
    assert client.post(reverse("admin:plans_issuedfile_delete", args=[mine.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:plans_issuedfile_add")).status_code == 403
    assert client.get(reverse("admin:plans_issuedfile_change", args=[theirs.pk])).status_code == 404
    assert IssuedFile.objects.get(pk=mine.pk).sha256 == mine.sha256


# --------------------------------------------------------------------------- the data migration


def test_migration_moves_the_recorded_export_hashes_into_issued_files(empty_database):
    before, after = [("plans", "0007_list_indexes")], [("plans", "0008_issued_files")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, Plan, Version, Audit = (old.get_model("auth", "User"), old.get_model("plans", "Plan"),
                                  old.get_model("plans", "PlanVersion"), old.get_model("plans", "Audit"))
    org = old.get_model("plans", "Organisation").objects.create(name="Acme")
    template = old.get_model("templates_app", "Template").objects.create(name="Old template")
    owner = User.objects.create(username="old-owner")
    t0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
    plan = Plan.objects.create(org=org, title="Old plan", template=template, owner_user=owner)
    draft = Version.objects.create(plan=plan, version_number=1, status="superseded", template=template,
                                   authored_by_user=owner, authored_at_utc=t0,
                                   pdf_export_hash="1" * 64, pdf_export_path="exports/plan-1/v1-11111111.pdf")
    approved = Version.objects.create(plan=plan, version_number=2, status="active", template=template,
                                      authored_by_user=owner, authored_at_utc=t0, approved_at_utc=t0 + dt.timedelta(1),
                                      pdf_export_hash="2" * 64, pdf_export_path="exports/plan-1/v2-22222222.pdf",
                                      docx_export_hash="3" * 64, docx_export_path="exports/plan-1/v2-33333333.docx")
    Version.objects.create(plan=plan, version_number=3, status="superseded", template=template,
                           authored_by_user=owner, authored_at_utc=t0)  # never exported: no row
    Audit.objects.create(plan=plan, org=org, action="export_created", actor_user=owner, at_utc=t0 + dt.timedelta(2),
                         details_json={"version": 2, "format": "pdf", "sha256": "2" * 64})

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    Issued = executor.loader.project_state(after).apps.get_model("plans", "IssuedFile")
    rows = {(r.version_id, r.kind): r for r in Issued.objects.filter(plan_id=plan.pk)}
    assert set(rows) == {(draft.pk, "plan_pdf"), (approved.pk, "plan_pdf"), (approved.pk, "plan_docx")}
    assert rows[(draft.pk, "plan_pdf")].marking == "draft" and rows[(approved.pk, "plan_pdf")].marking == "approved"
    assert rows[(approved.pk, "plan_pdf")].sha256 == "2" * 64
    assert rows[(approved.pk, "plan_pdf")].storage_path == "exports/plan-1/v2-22222222.pdf"
    assert rows[(approved.pk, "plan_pdf")].issued_at_utc == t0 + dt.timedelta(2)  # from the audit row
    assert rows[(approved.pk, "plan_pdf")].issued_by_user_id == owner.pk
    assert rows[(approved.pk, "plan_docx")].issued_at_utc == t0 + dt.timedelta(1)  # no audit row: the approval
    assert all(r.org_id == org.pk and r.size_bytes == 0 for r in rows.values())  # the files are not in this store


