"""Review-needed flag, the linked-changes panel and page, and the admin upload of change files."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bcp_site.testing import make_plan
from plans.changes import changes_import
from plans.models import ChangeLogMap, ChangeRecord, Plan
from plans.panels import changes_panel
from plans.plan_facts import plan_facts_approved
from plans.tests.test_changes_import import change_doc

pytestmark = pytest.mark.django_db

APPROVED_AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def approve(plan: Plan, at: datetime = APPROVED_AT) -> Plan:
    """Approve as the approval service records it (its stored facts included), at a chosen time."""
    plan.refresh_from_db()
    plan.status, plan.approved_at_utc, plan.approved_version = Plan.Status.APPROVED, at, plan.current_version
    facts = plan_facts_approved(plan, plan.current_version)
    plan.save(update_fields=["status", "approved_at_utc", "approved_version", *facts])
    return plan


def link(plan: Plan, *, occurred_at: datetime, summary: str = "A change", bad_hash: bool = False) -> dict:
    stamp = occurred_at.isoformat()
    doc = change_doc(occurred_at=stamp, summary=summary, plans=[plan.pk],
                     content_hash="0" * 64 if bad_hash else None)
    report = changes_import(files=[(f"{doc['guid']}.json", json.dumps(doc).encode())])
    assert report.ok and report.linked == 1
    return doc


def render_panel(plan: Plan, user) -> str:
    request = RequestFactory().get(plan.get_absolute_url())
    request.user = user
    # The plan page computes the panel (plans.panels.changes_panel); the tag only renders it.
    return Template("{% load change_tags %}{% plan_changes_panel plan panel %}").render(
        Context({"plan": plan, "request": request, "panel": changes_panel(plan)})
    )


# --- review needed -------------------------------------------------------------------------


def test_review_needed_is_stored_when_a_change_after_the_approval_is_linked(org, owner, template):
    before = approve(make_plan(org, owner, template=template, title="Change before approval"))
    link(before, occurred_at=APPROVED_AT - timedelta(minutes=1))
    after = approve(make_plan(org, owner, template=template, title="Change after approval"))
    link(after, occurred_at=APPROVED_AT + timedelta(minutes=1))
    never = make_plan(org, owner, template=template, title="Never approved")
    link(never, occurred_at=APPROVED_AT + timedelta(days=30))
    quiet = approve(make_plan(org, owner, template=template, title="No changes"))
    assert quiet.approved_at_utc

    flags = dict(Plan.objects.values_list("title", "review_needed"))

    assert flags == {
        "Change before approval": False, "Change after approval": True, "Never approved": False, "No changes": False,
    }


def test_new_approval_clears_review_needed(plan):
    approve(plan)
    link(plan, occurred_at=APPROVED_AT + timedelta(hours=1))
    assert Plan.objects.get(pk=plan.pk).review_needed is True
    approve(plan, at=APPROVED_AT + timedelta(days=1))
    assert Plan.objects.get(pk=plan.pk).review_needed is False


# --- the panel on the plan page ------------------------------------------------------------


def test_panel_lists_changes_newest_first_with_hash_mark_and_review_flag(plan, member):
    approve(plan)
    link(plan, occurred_at=APPROVED_AT - timedelta(days=2), summary="Old switch retired")
    link(plan, occurred_at=APPROVED_AT + timedelta(days=1), summary="New data centre", bad_hash=True)

    html = render_panel(plan, member)

    assert html.index("New data centre") < html.index("Old switch retired")
    assert html.count("hash mismatch") == 1
    assert "Review needed:" in html and "1 linked change occurred after this plan was approved" in html
    assert "2 linked changes, newest first" in html


def test_panel_without_review_flag(plan, member):
    link(plan, occurred_at=APPROVED_AT)  # never approved
    html = render_panel(plan, member)
    assert "Review needed" not in html
    assert "1 linked change, newest first" in html


def test_panel_is_limited_and_runs_a_fixed_number_of_queries(plan, member):
    approve(plan)
    link(plan, occurred_at=APPROVED_AT + timedelta(days=1), summary="change 0")
    with CaptureQueriesContext(connection) as small:
        render_panel(plan, member)

    docs = [change_doc(occurred_at=(APPROVED_AT + timedelta(days=i)).isoformat(), summary=f"change {i}",
                       plans=[plan.pk]) for i in range(1, 25)]
    changes_import(files=[(f"{d['guid']}.json", json.dumps(d).encode()) for d in docs])
    with CaptureQueriesContext(connection) as large:
        html = render_panel(plan, member)

    # 1: counts (all linked changes, and those after approval); 2: the newest 20 changes.
    assert len(small) == len(large) == 2
    assert "Showing the newest 20 of 25 linked changes." in html
    shown = re.findall(r"<td>\s*(change \d+)\s", html)
    assert shown == [f"change {i}" for i in range(24, 4, -1)]  # the newest 20, newest first
    assert reverse("changes:plan_changes", args=[plan.pk]) in html


def test_panel_on_the_plan_page_when_included(client, plan, member):
    """The plans-UI engineer includes the panel in plan_detail.html; check it once it is there."""
    approve(plan)
    link(plan, occurred_at=APPROVED_AT + timedelta(days=1), summary="Router swapped")
    client.force_login(member)
    page = client.get(plan.get_absolute_url()).content.decode()
    if "plan_changes_panel" not in open("templates/plans/plan_detail.html").read():
        pytest.skip("plan_detail.html does not include the changes panel yet")
    assert "Router swapped" in page and "Review needed" in page


# --- the linked-changes page ---------------------------------------------------------------


def test_plan_changes_page_paginates(client, plan, member):
    docs = [change_doc(occurred_at=(APPROVED_AT + timedelta(hours=i)).isoformat(), summary=f"change {i:02d}",
                       plans=[plan.pk]) for i in range(55)]
    changes_import(files=[(f"{d['guid']}.json", json.dumps(d).encode()) for d in docs])
    client.force_login(member)
    url = reverse("changes:plan_changes", args=[plan.pk])

    response = client.get(url)
    first = response.content.decode()
    second = client.get(url, {"cursor": response.context["page"].older_cursor}).content.decode()

    assert "change 54" in first and "change 05" in first and "change 04" not in first and "Older" in first
    assert "change 04" in second and "change 00" in second and "change 05" not in second
    assert "Newer" in second and "Older" not in second


def test_plan_changes_page_login_and_other_organisation(client, plan, outsider):
    url = reverse("changes:plan_changes", args=[plan.pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(url).status_code == 404


# --- admin upload --------------------------------------------------------------------------

UPLOAD_URL = "admin:plans_changerecord_upload"


def upload(client, content: bytes, name: str, **data):
    return client.post(reverse(UPLOAD_URL), {"file": SimpleUploadedFile(name, content), **data})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_admin_upload_of_one_json_file(client, bcp_admin, plan):
    doc = change_doc(summary="Uploaded by hand")
    client.force_login(bcp_admin)
    assert "Upload change files" in client.get(reverse("admin:plans_changerecord_changelist")).content.decode()
    assert client.get(reverse(UPLOAD_URL)).status_code == 200

    response = upload(client, json.dumps(doc).encode(), f"{doc['guid']}.json", plan=plan.pk)

    assert response.status_code == 302
    assert ChangeRecord.objects.get(guid=doc["guid"]).summary == "Uploaded by hand"
    link = ChangeLogMap.objects.get(change_guid=doc["guid"])
    assert link.plan == plan
    assert plan.audit_entries.get(action="change_linked").actor_user == bcp_admin
    assert any("Imported 1 change(s)" in m and "linked 1 plan link(s)" in m for m in messages_of(response))
    listing = client.get(reverse("admin:plans_changerecord_changelist")).content.decode()
    assert "Uploaded by hand" in listing


def zip_of(members: dict[str, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            if content is None:
                archive.writestr(zipfile.ZipInfo(name), b"")  # a directory entry when name ends with /
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def test_admin_upload_of_a_zip_reports_bad_files_and_imports_the_good(client, bcp_admin, plan):
    good = change_doc(plans=[plan.pk], summary="From the zip")
    nested = change_doc(plans=[plan.pk], summary="From a folder in the zip")
    mismatch = change_doc(plans=[plan.pk], summary="Hash mismatch", content_hash="1" * 64)
    bad_guid = str(uuid.uuid4())
    content = zip_of({
        "changes/": None,
        f"changes/{good['guid']}.json": json.dumps(good).encode(),
        f"../../etc/{nested['guid']}.json": json.dumps(nested).encode(),
        f"{mismatch['guid']}.json": json.dumps(mismatch).encode(),
        f"{bad_guid}.json": b"{not json",
        "README.md": b"ignored",
    })
    client.force_login(bcp_admin)

    response = upload(client, content, "changes.zip")

    assert response.status_code == 302
    shown = messages_of(response)
    assert any(m.startswith(f"Error: {bad_guid}.json: invalid JSON") for m in shown)
    assert any(m.startswith(f"Warning: {mismatch['guid']}.json: content_hash does not match") for m in shown)
    assert any("Imported 3 change(s) from 4 file(s)" in m and "1 error(s)" in m for m in shown)
    assert set(ChangeRecord.objects.values_list("summary", flat=True)) == {
        "From the zip", "From a folder in the zip", "Hash mismatch",
    }
    assert ChangeRecord.objects.get(guid=mismatch["guid"]).hash_mismatch is True


def test_admin_upload_strict_refuses_hash_mismatch(client, bcp_admin):
    doc = change_doc(content_hash="1" * 64)
    client.force_login(bcp_admin)
    response = upload(client, json.dumps(doc).encode(), f"{doc['guid']}.json", strict="on")
    assert any("refused (--strict)" in m for m in messages_of(response))
    assert not ChangeRecord.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "error"),
    [
        (b"PK\x03\x04 broken", "changes.zip", "not a valid zip archive"),
        (b"hello", "changes.txt", "Upload a .json change file or a .zip of them."),
        (zip_of({"readme.txt": b"x"}), "changes.zip", "The zip holds no .json change files."),
    ],
)
def test_admin_upload_refuses_bad_uploads_with_a_form_error(client, bcp_admin, content, name, error):
    client.force_login(bcp_admin)
    response = upload(client, content, name)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ChangeRecord.objects.exists()


def test_admin_upload_caps_zip_members(client, bcp_admin, monkeypatch):
    from plans import change_forms

    monkeypatch.setattr(change_forms, "ZIP_MAX_MEMBERS", 2)
    docs = [change_doc(summary=f"c{i}") for i in range(3)]
    content = zip_of({f"{d['guid']}.json": json.dumps(d).encode() for d in docs})
    client.force_login(bcp_admin)
    response = upload(client, content, "many.zip")
    assert "The zip holds 3 change files; at most 2 per upload." in response.content.decode()
    monkeypatch.setattr(change_forms, "ZIP_MAX_MEMBERS", 10)
    monkeypatch.setattr(change_forms, "ZIP_MAX_MEMBER_BYTES", 50)
    response = upload(client, content, "many.zip")
    assert f"{docs[0]['guid']}.json is larger than 50 bytes." in response.content.decode()
    assert not ChangeRecord.objects.exists()


def test_admin_upload_cannot_link_another_organisations_plan(client, bcp_admin, other_org, outsider, template):
    foreign = make_plan(other_org, outsider, template=template, title="Foreign")
    doc = change_doc(plans=[foreign.pk])
    client.force_login(bcp_admin)

    refused = upload(client, json.dumps(doc).encode(), f"{doc['guid']}.json", plan=foreign.pk)
    assert f"No plan {foreign.pk} exists in your organisation." in refused.content.decode()

    response = upload(client, json.dumps(doc).encode(), f"{doc['guid']}.json")
    assert any(f"plan {foreign.pk} does not exist; not linked" in m for m in messages_of(response))
    assert not ChangeLogMap.objects.filter(plan=foreign).exists()


def test_admin_upload_permissions(client, reviewer, member):
    # Staff without plans.add_changerecord: no upload.
    client.force_login(reviewer)
    assert client.get(reverse(UPLOAD_URL)).status_code == 403
    assert "Upload change files" not in client.get(reverse("admin:plans_changerecord_changelist")).content.decode()
    # Not staff: the admin login page.
    client.force_login(member)
    response = client.get(reverse(UPLOAD_URL))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Anonymous: the admin login page.
    client.logout()
    assert "/admin/login/" in client.get(reverse(UPLOAD_URL))["Location"]


def test_admin_change_list_shows_only_changes_of_the_admins_organisation(
    client, bcp_admin, plan, other_org, outsider, template
):
    foreign = make_plan(other_org, outsider, template=template, title="Foreign")
    link(plan, occurred_at=APPROVED_AT, summary="Ours")
    link(foreign, occurred_at=APPROVED_AT, summary="Theirs")
    client.force_login(bcp_admin)
    listing = client.get(reverse("admin:plans_changerecord_changelist")).content.decode()
    assert "Ours" in listing and "Theirs" not in listing
