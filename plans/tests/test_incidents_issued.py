"""The issued-file table's kinds and what each names, held by the database: a version's files name their plan and
version; reports are final and name their exercise or incident; the organisation's files (KPI and post-incident
reports) name no plan. The verify paths describe a file without a plan by its organisation."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from plans.exports import export_find
from plans.models import IssuedFile

from .exercise_support import held_exercise
from .incident_support import approved_crisis_plan, declared

pytestmark = pytest.mark.django_db

Kind, Marking = IssuedFile.Kind, IssuedFile.Marking


@pytest.fixture(autouse=True)
def _no_exports(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)


def _row(**fields) -> IssuedFile:
    data = fields.pop("data", b"file")
    defaults = {"sha256": hashlib.sha256(data).hexdigest(), "storage_path": "x", "size_bytes": len(data),
                "issued_at_utc": timezone.now()}
    return IssuedFile.objects.create(**{**defaults, **fields})


def _refused(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        _row(**fields)


def test_each_kind_names_what_it_must(org, owner, reviewer):
    plan = approved_crisis_plan(org, owner, reviewer)
    version = plan.approved_version
    incident = declared(org, owner)
    exercise = held_exercise(plan, actor=owner)

    # KPI reports: the organisation's, no plan, version or exercise, final.
    _row(kind=Kind.KPI_REPORT, org=org, marking=Marking.FINAL, data=b"kpi 1")
    _refused(kind=Kind.KPI_REPORT, org=org, plan=plan, marking=Marking.FINAL)
    _refused(kind=Kind.KPI_REPORT, org=org, plan=None, version=version, marking=Marking.FINAL)
    _refused(kind=Kind.KPI_REPORT, org=None, marking=Marking.FINAL)
    _refused(kind=Kind.KPI_REPORT, org=org, marking=Marking.APPROVED)
    # Every other kind has a plan.
    for kind in (Kind.PLAN_PDF, Kind.PLAN_DOCX, Kind.BREAKGLASS_HTML, Kind.BREAKGLASS_PDF, Kind.EVIDENCE_PACK):
        _refused(kind=kind, org=org, plan=None, version=version, marking=Marking.APPROVED)
    # A version's files (exports, break-glass packs, evidence packs) name their version and are never final.
    _row(kind=Kind.EVIDENCE_PACK, org=org, plan=plan, version=version, marking=Marking.APPROVED, data=b"pack")
    _refused(kind=Kind.EVIDENCE_PACK, org=org, plan=plan, version=None, marking=Marking.APPROVED)
    _refused(kind=Kind.BREAKGLASS_HTML, org=org, plan=plan, version=version, marking=Marking.FINAL)
    # Post-incident reports: the incident, no plan, final; one per incident.
    _row(kind=Kind.INCIDENT_REPORT, org=org, incident=incident, marking=Marking.FINAL, data=b"report")
    _refused(kind=Kind.INCIDENT_REPORT, org=org, incident=incident, marking=Marking.FINAL, data=b"again")
    _refused(kind=Kind.INCIDENT_REPORT, org=org, plan=plan, incident=declared(org, owner), marking=Marking.FINAL)
    _refused(kind=Kind.PLAN_PDF, org=org, plan=plan, version=version, incident=incident, marking=Marking.APPROVED)
    # The exercise report's rules stand: its exercise, no version, final.
    _row(kind=Kind.EXERCISE_REPORT, org=org, plan=plan, exercise=exercise, marking=Marking.FINAL, data=b"aar")
    _refused(kind=Kind.EXERCISE_REPORT, org=org, plan=plan, exercise=exercise, version=version, marking=Marking.FINAL)
    _refused(kind=Kind.EXERCISE_REPORT, org=org, plan=plan, exercise=None, marking=Marking.FINAL)
    _refused(kind=Kind.PLAN_PDF, org=org, plan=plan, version=version, exercise=exercise, marking=Marking.APPROVED)
    # Unknown kinds are refused.
    _refused(kind="mixtape", org=org, plan=plan, version=version, marking=Marking.APPROVED)


def test_a_kpi_report_verifies_by_its_organisation(client, org, owner, other_org, tmp_path):
    data = b"%PDF-1.7 a KPI report"
    path = "exports/org-kpi.pdf"
    default_storage.save(path, ContentFile(data))
    issued = _row(kind=Kind.KPI_REPORT, org=org, marking=Marking.FINAL, storage_path=path, data=data)
    match = export_find(digest=issued.sha256, organisation=org)
    assert match is not None and match.plan is None
    assert match.describe().startswith(f"This is a KPI report of {org.name}, issued ")
    assert export_find(digest=issued.sha256, organisation=other_org) is None  # another organisation's: no match
    client.force_login(owner)
    page = client.post(reverse("files:verify"), {
        "file": SimpleUploadedFile("kpi.pdf", data, content_type="application/pdf")}).content.decode()
    assert "Match" in page and f"This is a KPI report of {org.name}" in page and f"Organisation: {org.name}" in page
    client.logout()
    page = client.post(reverse("files:verify"), {
        "file": SimpleUploadedFile("kpi.pdf", data, content_type="application/pdf")}).content.decode()
    assert f"This is a KPI report of {org.name}, issued on" in page
    copy = tmp_path / "kpi.pdf"
    copy.write_bytes(data)
    out = StringIO()
    call_command("verify_export", str(copy), stdout=out)
    assert f"KPI report of {org.name}" in out.getvalue() and f"Organisation: {org.name}." in out.getvalue()


def test_deletions_cascade_without_breaking_the_checks(org, owner, reviewer):
    """On MariaDB Django's CASCADE would first set a nullable column to NULL, which the checks refuse; the
    finding's source and what an issued file names are deleted in order instead, on every database."""
    from bcp_site.testing import make_user
    from plans.attachments import plan_delete
    from plans.exports.breakglass import breakglass_issue
    from plans.exports.incident_report import incident_report_store
    from plans.findings import incident_finding_raise
    from plans.incidents import incident_close, incident_review_save, incident_stand_down
    from plans.models import Finding, Incident, Organisation, Plan

    from .exercise_support import raise_finding

    admin = make_user(org, groups=["BCP Admin"])
    spare = approved_crisis_plan(org, owner, reviewer, title="Spare plan")  # no incident: may be deleted
    breakglass_issue(version=spare.approved_version, fmt="html", data=b"pack of the spare plan")
    raise_finding(held_exercise(spare, actor=owner), actor=owner)
    _row(kind=Kind.EXERCISE_REPORT, org=org, plan=spare, exercise=spare.exercises.get(), marking=Marking.FINAL,
         data=b"report of the spare plan")
    plan_delete(plan=spare, actor=admin)
    assert not Plan.objects.filter(pk=spare.pk).exists() and not Finding.objects.exists()
    assert not IssuedFile.objects.exists()

    plan = approved_crisis_plan(org, owner, reviewer)
    incident = declared(org, owner, plans=[plan])
    incident_stand_down(incident=incident, actor=owner)
    incident_finding_raise(incident=incident, plan=plan, actor=owner, description="Pumps", severity="low",
                           owner=owner, due_on=timezone.localdate())
    incident_review_save(incident=incident, actor=owner, summary="Done.")
    incident_report_store(incident=incident_close(incident=incident, actor=owner))
    _row(kind=Kind.KPI_REPORT, org=org, marking=Marking.FINAL, data=b"kpi")
    Organisation.objects.filter(pk=org.pk).delete()  # a superuser removes the whole organisation
    assert not Incident.objects.exists() and not Finding.objects.exists() and not IssuedFile.objects.exists()
