"""Export downloads, the verify page and `manage.py verify_export`."""

import os
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from bcp_site.testing import make_plan
from plans.exports import version_export_store
from plans.models import Audit, IssuedFile
from plans.panels import files_panel
from plans.services import version_create
from reviews.models import Review


def export_url(plan, number, kind):
    return reverse("files:version_export", args=[plan.pk, number, kind])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("kind,content_type,magic", [
    ("pdf", "application/pdf", b"%PDF-"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
])
def test_member_downloads_export_which_is_stored_and_recorded(client, plan, member, kind, content_type, magic):
    client.force_login(member)
    response = client.get(export_url(plan, 1, kind))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="Head office plan v1.{kind}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    data = body(response)
    assert data.startswith(magic)
    import hashlib

    issued = IssuedFile.objects.get(plan=plan, version__version_number=1, kind=f"plan_{kind}")
    assert issued.sha256 == hashlib.sha256(data).hexdigest() and issued.marking == IssuedFile.Marking.DRAFT
    assert issued.size_bytes == len(data) and issued.issued_by_user == member
    assert default_storage.exists(issued.storage_path)
    assert response["ETag"] == f'"{issued.sha256}"'
    # the second download serves the stored file: same bytes, no second "export_created"
    assert body(client.get(export_url(plan, 1, kind))) == data
    assert Audit.objects.filter(plan=plan, action="export_created").count() == 1


def test_download_needs_login(client, plan):
    response = client.get(export_url(plan, 1, "pdf"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_other_organisation_gets_404(client, plan, outsider):
    client.force_login(outsider)
    assert client.get(export_url(plan, 1, "pdf")).status_code == 404
    assert not IssuedFile.objects.exists()


def test_unknown_version_or_format_is_404(client, plan, member):
    client.force_login(member)
    assert client.get(export_url(plan, 9, "pdf")).status_code == 404
    assert client.get(export_url(plan, 1, "exe")).status_code == 404


def test_tampered_stored_export_is_refused_and_audited(client, plan, member):
    version = plan.current_version
    version_export_store(version=version, kind="pdf")
    path = default_storage.path(IssuedFile.objects.get(version=version, kind="plan_pdf").storage_path)
    with open(path, "ab") as handle:
        handle.write(b"% tampered")
    client.force_login(member)
    response = client.get(export_url(plan, 1, "pdf"))
    assert response.status_code == 409
    assert "no longer matches its recorded SHA-256" in response.content.decode()
    assert Audit.objects.filter(plan=plan, action="export_integrity_failure").count() == 1


def test_missing_stored_export_is_rendered_again(client, plan, member):
    version = plan.current_version
    data, digest = version_export_store(version=version, kind="docx")
    path = IssuedFile.objects.get(version=version, kind="plan_docx").storage_path
    default_storage.delete(path)
    client.force_login(member)
    response = client.get(export_url(plan, 1, "docx"))
    assert response.status_code == 200 and body(response) == data
    assert default_storage.exists(path)  # the same bytes, back where the record says
    assert Audit.objects.filter(plan=plan, action="export_restored").count() == 1


# ---------------------------------------------------------------- verify page


def verify(client, data: bytes, name="plan.pdf"):
    return client.post(reverse("files:verify"), {"file": SimpleUploadedFile(name, data)})


@pytest.fixture
def approved_export(plan, reviewer):
    version = plan.current_version
    at = datetime(2025, 5, 6, 10, 0, tzinfo=UTC)
    Review.objects.create(plan=plan, version=version, requested_by_user=plan.owner_user, reviewer_user=reviewer,
                          status=Review.Status.APPROVED, requested_at_utc=at, decided_at_utc=at)
    plan.approved_version, plan.approved_at_utc, plan.status = version, at, plan.Status.APPROVED
    plan.save()
    version.approved_at_utc, version.approval_round = at, 1  # as review_approve records it
    version.save(update_fields=["approved_at_utc", "approval_round"])
    data, _digest = version_export_store(version=version, kind="pdf")
    return data


def test_verify_page_recognises_an_approved_export(client, member, approved_export):
    client.force_login(member)
    page = client.get(reverse("files:verify"))
    assert page.status_code == 200 and 'type="file"' in page.content.decode()
    text = verify(client, approved_export).content.decode()
    assert "This is the PDF of plan “Head office plan”, version 1, approved on 2025-05-06." in text


def test_verify_page_says_not_approved_for_a_draft_version(client, plan, member):
    data, _ = version_export_store(version=plan.current_version, kind="docx")
    client.force_login(member)
    text = verify(client, data, "plan.docx").content.decode()
    assert "This is the DOCX of plan “Head office plan”, version 1, not approved." in text


def test_verify_page_rejects_modified_and_random_files(client, member, approved_export):
    client.force_login(member)
    for data in (approved_export + b"\n", os.urandom(2048)):
        text = verify(client, data).content.decode()
        assert "This file does not match any export" in text
        assert "This is the" not in text


def test_verify_page_does_not_match_other_organisations(client, outsider, approved_export):
    client.force_login(outsider)
    assert "This file does not match any export" in verify(client, approved_export).content.decode()


def test_verify_page_needs_a_file(client, member):
    assert client.get(reverse("files:verify")).status_code == 200  # anyone may check a file
    client.force_login(member)
    response = client.post(reverse("files:verify"), {})
    assert response.status_code == 400
    assert "Choose the PDF or DOCX file to check." in response.content.decode()


def test_nav_links_to_the_verify_page(client, plan, member):
    client.force_login(member)
    assert reverse("files:verify") in client.get(reverse("files:verify")).content.decode()


# ---------------------------------------------------------------- command


def test_command_reports_a_match(approved_export, tmp_path, capsys):
    path = tmp_path / "copy.pdf"
    path.write_bytes(approved_export)
    call_command("verify_export", str(path))
    out = capsys.readouterr().out
    assert "This is the PDF of plan “Head office plan”, version 1, approved on 2025-05-06." in out
    assert "Acme Ltd" in out


def test_command_exits_1_for_modified_random_and_missing_files(approved_export, tmp_path):
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(approved_export.replace(b"Head office", b"Head offics", 1) + b" ")
    random_file = tmp_path / "random.bin"
    random_file.write_bytes(os.urandom(512))
    for path in (modified, random_file):
        with pytest.raises(CommandError, match="does not match any export") as raised:
            call_command("verify_export", str(path))
        assert raised.value.returncode == 1
    with pytest.raises(CommandError, match="no such file"):
        call_command("verify_export", str(tmp_path / "nope.pdf"))


def test_command_exit_code_from_the_shell(tmp_path, settings):
    """The real process exits non-zero with a clear line for a missing file (no database needed)."""
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, os.path.join(settings.BASE_DIR, "manage.py"), "verify_export", str(tmp_path / "nope.pdf")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'nope.pdf'}: no such file." in result.stderr


# ---------------------------------------------------------------- panel


def render_panel(plan, user, tag="{% plan_files_panel plan panel %}", **extra):
    """The panel as the plan page shows it: computed by plans.panels.files_panel, rendered by the tag."""
    request = RequestFactory().get("/")
    request.user = user
    if "panel" in tag:
        extra["panel"] = files_panel(plan, user)
    return Template("{% load file_tags %}" + tag).render(Context({"plan": plan, "request": request, **extra}))


def test_panel_shows_approved_and_active_exports_and_attachments(plan, owner, approved_export):
    plan.refresh_from_db()
    version_create(plan=plan, actor=owner, note="next")
    plan.refresh_from_db()
    html = render_panel(plan, owner)
    assert export_url(plan, 1, "pdf") in html and export_url(plan, 2, "docx") in html
    assert "Approved version" in html and "Active version" in html
    assert plan.approved_version.pdf_export_hash in html
    assert reverse("files:attachment_list", args=[plan.pk]) in html  # editors get the upload form


def test_panel_hides_upload_form_from_viewers(plan, member):
    html = render_panel(plan, member)
    assert 'type="file"' not in html
    assert "No files attached yet." in html


def test_panel_query_count_does_not_grow(plan, owner, django_assert_num_queries):
    from plans.models import Attachment

    def add(n):
        for i in range(n):
            name = default_storage.save(f"attachments/plan-{plan.pk}/x{i}", ContentFile(b"x"))
            Attachment.objects.create(plan=plan, file_name=f"f{i}.txt", storage_path=name, content_type="text/plain",
                                      size_bytes=1, uploaded_by_user=owner, uploaded_at_utc=plan.created_at,
                                      hash="0" * 64)

    from plans.selectors import plan_detail_queryset

    plan = plan_detail_queryset().get(pk=plan.pk)  # as the plan page loads it: with its versions
    render_panel(plan, owner)  # warms the permission cache of this user object
    add(2)
    # The newest attachments with uploaders (the versions came with the plan)
    with django_assert_num_queries(1):
        render_panel(plan, owner)
    add(30)
    with django_assert_num_queries(1):
        html = render_panel(plan, owner)
    assert "All attachments" in html


def test_version_links_tag(plan):
    html = render_panel(plan, None, "{% version_export_links plan version %}", version=plan.current_version)
    assert export_url(plan, 1, "pdf") in html and export_url(plan, 1, "docx") in html


def test_other_plans_export_is_not_the_verify_match(org, owner, plan, member, approved_export, client):
    other = make_plan(org, owner, title="Second plan")
    data, _ = version_export_store(version=other.current_version, kind="pdf")
    client.force_login(member)
    assert "plan “Second plan”, version 1, not approved" in verify(client, data).content.decode()
