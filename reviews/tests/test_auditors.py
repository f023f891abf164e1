"""Auditors read everything of their organisation and change nothing; anyone may check an issued file.

The organisation-wall matrix (bcp_site/tests/test_org_walls.py) sweeps every page as an auditor;
these tests pin the group's permissions and what an auditor is not asked to do.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_user
from plans.exports import version_export_store
from plans.file_views import VERIFY_ANONYMOUS_LIMIT
from plans.models import IssuedFile
from plans.services import ServiceError
from reviews.ack_records import ack_record
from reviews.auditors import AUDITOR_GROUP, is_auditor
from reviews.distribution import distribution_set, distribution_users
from reviews.models import Ack

from .kpi_support import plan_in_state

pytestmark = pytest.mark.django_db

ROLES = ["BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin"]


@pytest.fixture
def auditor(org):
    return make_user(org, username="auditor", groups=[AUDITOR_GROUP], is_staff=True)


def _codes(group_names) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.filter(group__name__in=group_names).select_related("content_type")}


def test_the_auditor_group_reads_what_any_role_reads_and_writes_nothing():
    auditor = _codes([AUDITOR_GROUP])
    reads = {code for code in _codes(ROLES) if code.split(".")[1].startswith("view_")}
    assert reads <= auditor
    assert {"plans.view_plan", "plans.view_audit", "plans.view_issuedfile", "reviews.view_ack", "reviews.view_review",
            "plans.view_exercise", "plans.view_finding", "reviews.view_kpi", "auth.view_user"} <= auditor
    assert auditor == reads  # and nothing else: no add, change, delete, submit, approve...
    assert all(code.split(".")[1].startswith("view_") for code in auditor), sorted(auditor)


def test_the_dashboard_is_for_admins_reviewers_and_auditors():
    view_kpi = Permission.objects.get(content_type__app_label="reviews", codename="view_kpi")
    assert set(Group.objects.filter(permissions=view_kpi).values_list("name", flat=True)) == {
        "BCP Admin", "BCP Reviewer", AUDITOR_GROUP}


def test_auditors_are_on_no_distribution(org, owner, template, member, auditor, bcp_admin):
    plan = plan_in_state(org, owner, template, title="Head office", review_due=timezone.localdate())
    assert is_auditor(auditor) and not is_auditor(member)
    assert auditor not in distribution_users(plan) and member in distribution_users(plan)
    distribution_set(plan=plan, actor=bcp_admin, users=[member, auditor],
                     groups=[Group.objects.get(name=AUDITOR_GROUP)])
    assert list(distribution_users(plan)) == [member]


def test_auditors_do_not_acknowledge(client, org, owner, template, auditor):
    plan = plan_in_state(org, owner, template, title="Head office", review_due=timezone.localdate())
    with pytest.raises(ServiceError, match="Auditors read plans without acknowledging them"):
        ack_record(plan=plan, user=auditor, version_number=1, via="page")
    client.force_login(auditor)
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "I have read and understood" not in page and "Who acknowledged" in page
    response = client.post(reverse("acks:plan_ack", args=[plan.pk]), {"version_number": 1}, follow=True)
    assert "Auditors read plans without acknowledging them" in response.content.decode()
    assert not Ack.objects.exists()


def test_a_member_still_acknowledges_from_the_plan_page(client, org, owner, template, member):
    plan = plan_in_state(org, owner, template, title="Head office", review_due=timezone.localdate())
    client.force_login(member)
    assert "I have read and understood version 1" in client.get(plan.get_absolute_url()).content.decode()


# --- checking a file without signing in -------------------------------------------------------------


def _check(client, data: bytes, name="plan.pdf"):
    return client.post(reverse("files:verify"), {"file": SimpleUploadedFile(name, data)})


@pytest.fixture
def issued(org, owner, template, reviewer):
    plan = plan_in_state(org, owner, template, title="Head office plan", review_due=timezone.localdate())
    data, digest = version_export_store(version=plan.approved_version, kind="pdf", actor=reviewer,
                                        data=b"%PDF-1.7 approved head office plan")
    IssuedFile.objects.filter(sha256=digest).update(issued_at_utc=dt.datetime(2026, 2, 3, 10, 0, tzinfo=dt.UTC))
    return plan, data


def test_anyone_may_open_the_check_page(client):
    page = client.get(reverse("files:verify"))
    assert page.status_code == 200 and 'type="file"' in page.content.decode()


def test_without_a_matching_file_nothing_is_revealed(client, issued):
    plan, data = issued
    for attempt in (data + b" ", b"random bytes", data[:-1]):
        text = _check(client, attempt).content.decode()
        assert "This file does not match any file issued by this service" in text
        assert plan.title not in text and "This is the" not in text


def test_with_the_file_it_names_the_file_and_nothing_more(client, issued, owner, reviewer):
    plan, data = issued
    text = _check(client, data).content.decode()
    assert "This is the PDF of plan “Head office plan”, version 1, issued on 2026-02-03." in text
    for private in ("approved", "Approved on", reviewer.username, owner.username, plan.get_absolute_url()):
        assert private not in text.split("<main", 1)[1].split("SHA-256 of the file")[0], private


def test_anonymous_checks_are_rate_limited(client, issued):
    plan, data = issued
    for _ in range(VERIFY_ANONYMOUS_LIMIT):
        assert _check(client, b"not it").status_code == 200
    refused = _check(client, data)
    assert refused.status_code == 429 and plan.title not in refused.content.decode()


def test_signed_in_members_still_get_their_organisations_full_answer(client, issued, member):
    plan, data = issued
    client.force_login(member)
    for _ in range(VERIFY_ANONYMOUS_LIMIT + 1):  # no limit for signed-in people
        text = _check(client, data).content.decode()
    assert "This is the PDF of plan “Head office plan”, version 1, approved on" in text
    assert plan.approved_version.get_absolute_url() in text
