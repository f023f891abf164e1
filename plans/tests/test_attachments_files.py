"""Attachments: checked uploads, hash-verified downloads, deletion and file clean-up."""

import hashlib
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bcp_site.testing import zip_bytes
from plans.attachments import attachment_upload, plan_delete, sanitize_filename
from plans.exports import version_export_store
from plans.models import Attachment, Audit, IssuedFile, Membership, Plan

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ELF_BYTES = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
EXE_BYTES = b"MZ\x90\x00" + b"\x00" * 64


def ooxml(main_folder="word/") -> bytes:
    return zip_bytes({"[Content_Types].xml": "<Types/>", f"{main_folder}document.xml": "<doc/>"},
                     compression=zipfile.ZIP_STORED)


def odf(mimetype="application/vnd.oasis.opendocument.text") -> bytes:
    return zip_bytes({"content.xml": "<office/>"}, compression=zipfile.ZIP_STORED, mimetype=mimetype)


def upload_url(plan):
    return reverse("files:attachment_list", args=[plan.pk])


def upload(client, plan, name, data):
    return client.post(upload_url(plan), {"file": SimpleUploadedFile(name, data)})


def stored_files(plan):
    folder = f"attachments/plan-{plan.pk}"
    return default_storage.listdir(folder)[1] if default_storage.exists(folder) else []


# ---------------------------------------------------------------- upload


@pytest.mark.parametrize("name,data,content_type", [
    ("Floor plan.pdf", PDF_BYTES, "application/pdf"),
    ("Runbook.docx", ooxml("word/"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("Budget.xlsx", ooxml("xl/"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("Old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "application/msword"),
    ("Notes.odt", odf(), "application/vnd.oasis.opendocument.text"),
    ("Site.png", PNG_BYTES, "image/png"),
    ("Photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
    ("Anim.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
    ("Pic.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp"),
    ("Phone tree.csv", "name,phone\nZoë,+44 1\n".encode(), "text/csv; charset=utf-8"),
    ("readme.txt", b"Plain words < and > are fine.\n", "text/plain; charset=utf-8"),
])
def test_editor_uploads_allowed_types(client, plan, owner, name, data, content_type):
    client.force_login(owner)
    response = upload(client, plan, name, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:plan_detail", args=[plan.pk]) + "#attachments"
    attachment = Attachment.objects.get(plan=plan)
    assert attachment.file_name == name
    assert attachment.content_type == content_type
    assert attachment.size_bytes == len(data)
    assert attachment.hash == hashlib.sha256(data).hexdigest()
    assert attachment.uploaded_by_user == owner
    # stored under a random name, not the user's
    assert attachment.storage_path.startswith(f"attachments/plan-{plan.pk}/")
    assert len(attachment.storage_path.rsplit("/", 1)[1]) == 32 and name not in attachment.storage_path
    with default_storage.open(attachment.storage_path, "rb") as handle:
        assert handle.read() == data
    entry = Audit.objects.get(plan=plan, action="attachment_uploaded")
    assert entry.details_json["sha256"] == attachment.hash and entry.actor_user == owner


@pytest.mark.parametrize("name,data,message", [
    ("payload.pdf", ELF_BYTES, "This .pdf file is not a PDF document"),
    ("setup.pdf", EXE_BYTES, "This .pdf file is not a PDF document"),
    ("setup.exe", EXE_BYTES, ".exe files are not accepted"),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n", ".sh files are not accepted"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG images are not"),
    ("page.html", b"<html><body>hi</body></html>", "HTML files are not accepted"),
    ("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML, SVG and XML markup"),
    ("image.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "This .png file is not a PNG image"),
    ("fake.docx", b"PK\x03\x04 not really a zip", "damaged or not a Word document"),
    ("fake.docx", odf(), "This .docx file is not a Word document"),
    ("sheet.xlsx", ooxml("word/"), "This .xlsx file is not an Excel workbook"),
    ("notes.odt", odf("application/vnd.oasis.opendocument.spreadsheet"), "This .odt file is not an OpenDocument"),
    ("data.csv", b"a,b\n\x00\x01\x02", "binary data"),
    ("data.csv", b"caf\xe9,1\n", "not valid UTF-8"),
    ("empty.pdf", b"", "The file is empty"),
    ("noextension", PDF_BYTES, "needs a name with an extension"),
])
def test_refused_uploads_say_why_and_store_nothing(client, plan, owner, name, data, message):
    client.force_login(owner)
    response = upload(client, plan, name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(plan) == []


def test_too_large_is_refused_with_the_limit(client, plan, owner, settings):
    settings.BCP_ATTACHMENT_MAX_BYTES = 1024
    client.force_login(owner)
    response = upload(client, plan, "big.pdf", PDF_BYTES + b"0" * 2048)
    assert response.status_code == 400
    assert "larger than the 1.0\xa0KB limit" in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(plan) == []


def test_path_like_names_are_cut_to_the_file_name(client, plan, owner):
    client.force_login(owner)
    assert upload(client, plan, "../../x.pdf", PDF_BYTES).status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.file_name == "x.pdf"
    assert ".." not in attachment.storage_path
    response = client.get(reverse("files:attachment_download", args=[plan.pk, attachment.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="x.pdf"'


@pytest.mark.parametrize("raw,clean", [
    ("..\\..\\evil.pdf", "evil.pdf"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("  .hidden.pdf ", "hidden.pdf"),
    ("a\x00b\r\nc.pdf", "abc.pdf"),
    ("Café plan.pdf", "Café plan.pdf"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
])
def test_sanitize_filename(raw, clean):
    assert sanitize_filename(raw) == clean


def test_viewer_upload_is_403(client, plan, member):
    client.force_login(member)
    assert upload(client, plan, "a.pdf", PDF_BYTES).status_code == 403
    assert not Attachment.objects.exists()


def test_upload_needs_login(client, plan):
    response = upload(client, plan, "a.pdf", PDF_BYTES)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_other_organisation_upload_is_404(client, plan, outsider):
    client.force_login(outsider)
    assert upload(client, plan, "a.pdf", PDF_BYTES).status_code == 404
    assert client.get(upload_url(plan)).status_code == 404


def test_archived_plan_refuses_uploads(client, plan, owner):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ARCHIVED)
    client.force_login(owner)
    response = upload(client, plan, "a.pdf", PDF_BYTES)
    assert response.status_code == 400 and "archived" in response.content.decode()


def test_list_page_shows_name_size_uploader_date_hash(client, plan, owner, member):
    client.force_login(owner)
    upload(client, plan, "Floor plan.pdf", PDF_BYTES)
    attachment = Attachment.objects.get()
    client.force_login(member)
    html = client.get(upload_url(plan)).content.decode()
    assert "Floor plan.pdf" in html and "Owner" in html and attachment.hash in html
    assert f"{len(PDF_BYTES)}\xa0bytes" in html
    assert 'type="file"' not in html  # viewers get no upload form
    assert reverse("files:attachment_delete", args=[plan.pk, attachment.pk]) not in html


def test_plan_page_panel_lists_attachments_for_members(client, plan, owner, member):
    client.force_login(owner)
    upload(client, plan, "Floor plan.pdf", PDF_BYTES)
    client.force_login(member)
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    if "files-panel" not in html:
        pytest.skip("the plan page does not include the files panel yet")
    assert "Floor plan.pdf" in html


# ---------------------------------------------------------------- download


@pytest.fixture
def attachment(plan, owner):
    return attachment_upload(plan=plan, actor=owner, uploaded_file=SimpleUploadedFile("Site map.png", PNG_BYTES))


def download_url(attachment):
    return reverse("files:attachment_download", args=[attachment.plan_id, attachment.pk])


def test_member_downloads_with_safe_headers(client, attachment, member):
    client.force_login(member)
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG_BYTES
    assert response["Content-Disposition"] == 'attachment; filename="Site map.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"


def test_download_needs_login_and_same_organisation(client, attachment, outsider):
    response = client.get(download_url(attachment))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(download_url(attachment)).status_code == 404


def test_attachment_of_another_plan_is_404(client, org, owner, attachment):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, title="Other plan")
    client.force_login(owner)
    url = reverse("files:attachment_download", args=[other.pk, attachment.pk])
    assert client.get(url).status_code == 404


def test_changed_stored_bytes_are_refused_and_audited(client, attachment, member):
    with open(default_storage.path(attachment.storage_path), "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n tampered")
    client.force_login(member)
    response = client.get(download_url(attachment))
    assert response.status_code == 409
    assert "no longer matches the SHA-256 recorded at upload" in response.content.decode()
    entry = Audit.objects.get(action="attachment_integrity_failure")
    assert entry.actor_user == member and entry.details_json["recorded_sha256"] == attachment.hash


def test_missing_stored_file_is_refused_and_audited(client, attachment, member):
    default_storage.delete(attachment.storage_path)
    client.force_login(member)
    response = client.get(download_url(attachment))
    assert response.status_code == 409 and "the file is missing" in response.content.decode()
    assert Audit.objects.filter(action="attachment_integrity_failure").count() == 1


# ---------------------------------------------------------------- delete


def delete_url(attachment):
    return reverse("files:attachment_delete", args=[attachment.plan_id, attachment.pk])


def test_delete_confirm_then_file_removed_after_commit(
    client, attachment, editor, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    page = client.get(delete_url(attachment))
    assert page.status_code == 200 and "Delete “Site map.png”?" in page.content.decode()
    assert default_storage.exists(attachment.storage_path)  # GET changes nothing
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(delete_url(attachment))
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert default_storage.exists(attachment.storage_path)  # not before the commit
    for callback in callbacks:
        callback()
    assert not default_storage.exists(attachment.storage_path)
    assert Audit.objects.get(action="attachment_deleted").details_json["file_name"] == "Site map.png"


def test_delete_permissions(client, attachment, member, outsider):
    assert client.post(delete_url(attachment)).status_code == 302  # to login
    client.force_login(member)
    assert client.get(delete_url(attachment)).status_code == 403
    assert client.post(delete_url(attachment)).status_code == 403
    client.force_login(outsider)
    assert client.post(delete_url(attachment)).status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_plan_delete_removes_attachments_and_exports_after_commit(
    plan, owner, attachment, django_capture_on_commit_callbacks
):
    version_export_store(version=plan.current_version, kind="pdf")
    export_path = IssuedFile.objects.get(plan=plan).storage_path
    assert default_storage.exists(export_path)
    plan_id, org = plan.pk, plan.org
    with django_capture_on_commit_callbacks(execute=True):
        plan_delete(plan=plan, actor=owner)
    assert not Plan.objects.filter(pk=plan_id).exists()
    assert not default_storage.exists(attachment.storage_path)
    assert not default_storage.exists(export_path)
    # The plan's own audit rows cascade; the organisation's trail keeps the deletion.
    trace = Audit.objects.get(org=org, action="plan_deleted")
    assert trace.plan is None and trace.actor_user == owner
    assert trace.details_json["title"] == "Head office plan"


def test_a_member_of_another_organisation_cannot_delete_a_plan(plan, outsider):
    from plans.services import ServiceError

    with pytest.raises(ServiceError):
        plan_delete(plan=plan, actor=outsider)
    assert Plan.objects.filter(pk=plan.pk).exists()


def test_admin_plan_deletion_goes_through_the_service(
    rf, plan, attachment, bcp_admin, django_capture_on_commit_callbacks
):
    """PlanAdmin.delete_model / delete_queryset (what the admin's delete page and action call)."""
    from django.contrib import admin

    from bcp_site.testing import make_plan

    second = make_plan(plan.org, plan.owner_user, title="Second")
    second_file = attachment_upload(plan=second, actor=bcp_admin, uploaded_file=SimpleUploadedFile("c.pdf", PDF_BYTES))
    model_admin = admin.site._registry[Plan]
    request = rf.post("/")
    request.user = bcp_admin
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.delete_model(request, plan)
    assert not default_storage.exists(attachment.storage_path)
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.delete_queryset(request, Plan.objects.filter(pk=second.pk))
    assert not Plan.objects.exists()
    assert not default_storage.exists(second_file.storage_path)


def test_admin_bulk_delete_of_attachments_removes_files(
    client, plan, owner, attachment, django_capture_on_commit_callbacks, django_user_model
):
    second = attachment_upload(plan=plan, actor=owner, uploaded_file=SimpleUploadedFile("b.pdf", PDF_BYTES))
    superuser = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    Membership.objects.create(user=superuser, organisation=plan.org)  # services need membership (decision 6)
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:plans_attachment_changelist"), {
            "action": "delete_selected", "_selected_action": [attachment.pk, second.pk], "post": "yes",
        })
    assert not Attachment.objects.exists()
    assert not default_storage.exists(attachment.storage_path) and not default_storage.exists(second.storage_path)
    assert Audit.objects.filter(action="attachment_deleted").count() == 2


def test_a_failed_record_leaves_no_stored_file(plan, owner, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("plans.attachments.audit_record", broken)
    with pytest.raises(RuntimeError):
        attachment_upload(plan=plan, actor=owner, uploaded_file=SimpleUploadedFile("a.pdf", PDF_BYTES))
    assert not Attachment.objects.exists() and stored_files(plan) == []


def test_stored_files_have_no_public_url():
    """Files are reachable only through the permission-checked views: no URL serves the storage folder."""
    from django.urls import Resolver404, resolve

    for path in ("/media/attachments/plan-1/abc", "/files/attachments/plan-1/abc", "/attachments/plan-1/abc"):
        with pytest.raises(Resolver404):
            resolve(path)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_browser_upload_from_the_plan_page_then_download_link(browser_page, plan, owner, tmp_path):
    from bcp_site.pytest_plugin import browser_login

    source = tmp_path / "Evacuation map.pdf"
    source.write_bytes(PDF_BYTES)
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    browser_login(page, "owner")
    page.goto(f"{page.base_url}{reverse('plans:plan_detail', args=[plan.pk])}")
    page.set_input_files("#attachments input[type=file]", str(source))
    page.click("#attachments button[type=submit]")
    page.wait_for_load_state()
    assert "“Evacuation map.pdf” was uploaded." in page.content()
    assert page.locator("#attachments table a[download]", has_text="Evacuation map.pdf").count() == 1
    page.shot("attachments-plan-page-375")
    with page.expect_download() as download_info:
        page.click("#exports a:has-text('PDF')")
    assert download_info.value.suggested_filename == "Head office plan v1.pdf"


def test_upload_over_the_limit_is_dropped_while_it_streams(client, plan, owner, settings, monkeypatch):
    """The size-limit handler stops storing the upload past the limit; no temporary copy of it is made."""
    import plans.attachments as attachments

    settings.BCP_ATTACHMENT_MAX_BYTES = 100 * 1024
    written = []
    original = attachments.SizeLimitUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        written.append(start + len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(attachments.SizeLimitUploadHandler, "receive_data_chunk", spy)
    client.force_login(owner)
    response = upload(client, plan, "huge.pdf", PDF_BYTES + b"0" * (1024 * 1024))
    assert response.status_code == 400
    assert "larger than the 100.0\xa0KB limit" in response.content.decode()
    assert max(written) <= 100 * 1024 + 64 * 1024  # stopped within one chunk of the limit
    assert not Attachment.objects.exists()


def test_upload_checks_csrf(plan, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert upload(client, plan, "a.pdf", PDF_BYTES).status_code == 403
    assert not Attachment.objects.exists()


def test_a_file_store_that_is_down_gets_a_clear_answer_not_a_500(client, plan, owner, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("Could not connect to the endpoint URL")

    monkeypatch.setattr(default_storage, "save", down)
    client.force_login(owner)
    response = upload(client, plan, "plan.pdf", PDF_BYTES)
    assert response.status_code in (400, 503)
    assert "the file store is not available right now. Nothing was saved" in response.content.decode()
    assert not Attachment.objects.exists()
