"""Attachments through django-storages' S3 backend, against a real local S3-compatible server (moto_server)."""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plans.models import Attachment, IssuedFile

BUCKET = "bcp-test-files"
PDF_BYTES = b"%PDF-1.4\n% stored in S3\n%%EOF\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_server_command() -> list[str] | None:
    local = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if os.path.exists(local):
        return [local]
    found = shutil.which("moto_server")
    return [found] if found else None


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1 for this module; skipped with the reason when it cannot start."""
    command = _moto_server_command()
    if command is None:
        pytest.skip("moto_server is not installed (pip install -r requirements-dev.txt installs moto[server])")
    port = _free_port()
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"moto_server did not start on {url} (exit code {process.poll()})")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def s3_storage(s3_endpoint, settings):
    import boto3

    options = {
        "bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1",
        "access_key": "testing", "secret_key": "testing", "default_acl": None, "querystring_auth": True,
        "file_overwrite": False, "addressing_style": "path",
    }
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": options}}
    return client


def test_attachment_upload_download_delete_through_s3(
    s3_storage, client, plan, owner, django_capture_on_commit_callbacks
):
    from django.core.files.storage import storages
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)

    client.force_login(owner)
    response = client.post(reverse("files:attachment_list", args=[plan.pk]),
                           {"file": SimpleUploadedFile("Continuity.pdf", PDF_BYTES)})
    assert response.status_code == 302
    attachment = Attachment.objects.get(plan=plan)
    stored = s3_storage.get_object(Bucket=BUCKET, Key=attachment.storage_path)["Body"].read()
    assert stored == PDF_BYTES
    assert attachment.hash == hashlib.sha256(PDF_BYTES).hexdigest()

    download = client.get(reverse("files:attachment_download", args=[plan.pk, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == 'attachment; filename="Continuity.pdf"'

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("files:attachment_delete", args=[plan.pk, attachment.pk]))
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert attachment.storage_path not in keys


def test_export_is_stored_in_s3(s3_storage, client, plan, member):
    client.force_login(member)
    response = client.get(reverse("files:version_export", args=[plan.pk, 1, "pdf"]))
    assert response.status_code == 200
    issued = IssuedFile.objects.get(version=plan.current_version, kind=IssuedFile.Kind.PLAN_PDF)
    body = s3_storage.get_object(Bucket=BUCKET, Key=issued.storage_path)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == issued.sha256
