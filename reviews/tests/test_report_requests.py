"""Files built on request: the KPI report for management review and the evidence pack of a version."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan, make_user, pdf_text
from plans.exports import export_find
from plans.models import Audit, IssuedFile
from reviews import services
from reviews.evidence_pack import build_evidence_pack
from reviews.kpi_snapshots import kpi_snapshot_take
from reviews.models import Ack, ReportRequest
from reviews.report_requests import as_of_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(org, owner, reviewer, template, django_capture_on_commit_callbacks):
    """An approved plan, its files issued (the after-commit work runs), one acknowledgement."""
    plan = make_plan(org, owner, template=template, title="Warehouse plan")
    with django_capture_on_commit_callbacks(execute=True):
        (review,) = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
        services.review_approve(review=review, actor=reviewer)
    plan.refresh_from_db()
    Ack.objects.create(plan=plan, user=owner, ack_at_utc=timezone.now(), ack_version_number=1)
    return plan


def _download(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def test_a_kpi_report_is_prepared_in_the_background_and_issued_as_a_verifiable_file(
    client, org, bcp_admin, approved, tmp_path, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    for days_ago in (20, 10, 0):
        kpi_snapshot_take(day=today - dt.timedelta(days=days_ago), org_ids=[org.pk])
    client.force_login(bcp_admin)
    dashboard = client.get(reverse("kpi:dashboard")).content.decode()
    assert "Report for management review" in dashboard and "No report has been asked for yet." in dashboard

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("kpi:report_request"), {
            "period_from": (today - dt.timedelta(days=30)).isoformat(), "period_to": today.isoformat()})
    report = ReportRequest.objects.get()
    assert response["Location"] == reverse("kpi:report", args=[report.pk])
    waiting = client.get(response["Location"])
    assert waiting.status_code == 202 and "is being prepared" in waiting.content.decode()

    for callback in callbacks:  # the worker's turn: the task is enqueued after the commit
        callback()
    ready = client.get(response["Location"]).content.decode()
    report.refresh_from_db()
    assert report.issued_file.kind == IssuedFile.Kind.KPI_REPORT and report.issued_file.plan_id is None
    assert report.issued_file.sha256 in ready

    data = _download(client, reverse("kpi:report_download", args=[report.pk]))
    text = pdf_text(data, tmp_path)
    assert "Business continuity KPIs" in text and "Plans drifting" in text
    assert "Plans approved" in text and "Warehouse plan" in text and "Open findings and actions" in text
    match = export_find(digest=report.issued_file.sha256, organisation=org)
    assert match is not None and match.issued.pk == report.issued_file_id
    assert Audit.objects.filter(org=org, action="kpi_report_requested").exists()
    assert Audit.objects.filter(org=org, action="report_downloaded").exists()


def test_a_bad_period_is_refused_with_a_clear_message(client, org, bcp_admin):
    client.force_login(bcp_admin)
    today = timezone.localdate()
    response = client.post(reverse("kpi:report_request"), {
        "period_from": today.isoformat(), "period_to": (today - dt.timedelta(days=3)).isoformat()}, follow=True)
    assert "The end of the period must be on or after its start." in response.content.decode()
    response = client.post(reverse("kpi:report_request"), {"period_from": "0001-01-01", "period_to": "9999-12-31"},
                           follow=True)
    assert "choose today or earlier" in response.content.decode()
    assert not ReportRequest.objects.exists()


def test_people_without_the_figures_or_of_another_organisation_see_no_report(
    client, org, other_org, bcp_admin, member, outsider
):
    today = timezone.localdate()
    report = ReportRequest.objects.create(kind="kpi_report", org=org, period_from=today, period_to=today,
                                          as_of_utc=timezone.now(), requested_at_utc=timezone.now())
    client.force_login(member)  # a viewer: no figures
    assert client.get(reverse("kpi:report", args=[report.pk])).status_code == 403
    stranger = make_user(other_org, username="far-admin", groups=["BCP Admin"])
    client.force_login(stranger)
    assert client.get(reverse("kpi:report", args=[report.pk])).status_code == 404


# --- evidence packs -------------------------------------------------------------------------------


def _pack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_pack_lists_every_file_with_its_hash_and_the_same_moment_gives_the_same_bytes(approved, tmp_path):
    version = approved.approved_version
    as_of = as_of_now()
    first = build_evidence_pack(version, as_of=as_of)
    assert build_evidence_pack(version, as_of=as_of) == first  # deterministic

    files = _pack(first)
    manifest = json.loads(files["manifest.json"])
    listed = {item["name"]: item for item in manifest["files"]}
    assert {"plan-v1-approved.pdf", "plan-v1-approved.docx", "acknowledgements.csv", "audit.csv",
            "reviews.csv", "reviews.json", "README.txt"} <= set(listed)
    import hashlib

    for name, item in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == item["sha256"], name
    # The plan's PDF in the pack is the issued file people hold.
    pdf = IssuedFile.objects.get(version=version, kind=IssuedFile.Kind.PLAN_PDF)
    assert listed["plan-v1-approved.pdf"]["sha256"] == pdf.sha256
    assert b"acknowledged" in files["acknowledgements.csv"]
    assert json.loads(files["reviews.json"])[0]["status"] == "approved"

    if shutil.which("sha256sum"):  # checked offline as the README says
        folder = tmp_path / "pack"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True).returncode == 0
        (folder / "audit.csv").write_bytes(files["audit.csv"] + b"forged,row\n")
        checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
        assert checked.returncode != 0 and "audit.csv: FAILED" in checked.stdout


def test_each_pack_request_is_a_new_issued_file_that_verifies(
    client, approved, outsider, django_capture_on_commit_callbacks
):
    auditor = make_user(approved.org, username="auditor-1", groups=["BCP Auditor"])
    client.force_login(auditor)
    evidence = client.get(reverse("evidence:plan_evidence", args=[approved.pk])).content.decode()
    assert "Prepare the pack" in evidence
    issued = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("evidence:pack_request", args=[approved.pk]), {"version": "1"})
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 200 and "sha256sum -c SHA256SUMS" in page.content.decode()
        issued.append(ReportRequest.objects.order_by("-pk").first().issued_file)
    assert issued[0].pk != issued[1].pk and {f.kind for f in issued} == {IssuedFile.Kind.EVIDENCE_PACK}
    assert [row.edition for row in issued] == [1, 2]
    for row in issued:
        match = export_find(digest=row.sha256, organisation=approved.org)
        assert match is not None and match.issued.sha256 == row.sha256 and match.issued.kind == row.kind
    report = ReportRequest.objects.order_by("-pk").first()
    data = _download(client, reverse("evidence:pack_download", args=[approved.pk, report.pk]))
    assert "manifest.json" in _pack(data)
    client.force_login(outsider)  # another organisation: no such plan
    assert client.get(reverse("evidence:pack", args=[approved.pk, report.pk])).status_code == 404
    assert client.get(reverse("evidence:pack_download", args=[approved.pk, report.pk])).status_code == 404


def test_bcp_admins_and_auditors_list_their_organisations_requests_in_the_admin(
    client, org, other_org, owner, bcp_admin, reviewer
):
    today, now = timezone.localdate(), timezone.now()
    plan = make_plan(org, owner, title="Warehouse plan")
    auditor = make_user(org, username="auditor", groups=["BCP Auditor"], is_staff=True)

    def asked(organisation, **fields):
        return ReportRequest.objects.create(org=organisation, as_of_utc=now, requested_at_utc=now,
                                            requested_by_user=owner, **fields)

    failed = asked(org, kind=ReportRequest.Kind.KPI_REPORT, period_from=today, period_to=today,
                   error="The period has no snapshots.")
    pending = asked(org, kind=ReportRequest.Kind.EVIDENCE_PACK, plan=plan, version=plan.current_version)
    asked(other_org, kind=ReportRequest.Kind.KPI_REPORT, period_from=today, period_to=today, error="Not yours.")
    changelist = reverse("admin:reviews_reportrequest_changelist")
    for person in (bcp_admin, auditor):
        client.force_login(person)
        page = client.get(changelist).content.decode()
        assert "Failed: The period has no snapshots." in page and "Being prepared" in page
        assert f"Warehouse plan, version {plan.current_version.version_number}" in page
        assert f'href="{reverse("kpi:report", args=[failed.pk])}"' in page  # each leads to its own page
        assert f'href="{reverse("evidence:pack", args=[plan.pk, pending.pk])}"' in page
        assert "Not yours." not in page
        assert "Add report request" not in page
    client.force_login(reviewer)  # in the admin, but not for these
    assert client.get(changelist).status_code == 403
