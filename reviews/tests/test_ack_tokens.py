"""Signed acknowledgement links and the rules of recording an acknowledgement (service level)."""

import time

import pytest
from django.core import signing

from bcp_site.testing import make_user
from plans.models import Audit
from plans.services import ServiceError
from reviews import ack_links, ack_records
from reviews.ack_coverage import ack_coverage
from reviews.models import Ack
from reviews.services import plan_archive

from .ack_support import approve, new_revision, skip_exports

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)


@pytest.fixture
def approved(plan, owner, reviewer, django_capture_on_commit_callbacks):
    return approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)


def test_valid_token_names_person_plan_and_version(approved, member):
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    assert ack_links.ack_token_read(token) == ack_links.AckClaim(
        user_id=member.pk, plan_id=approved.pk, version_number=1
    )
    target = ack_links.ack_link_target(ack_links.ack_token_read(token))
    assert (target.user, target.plan, target.version.version_number, target.state) == (
        member, approved, 1, ack_records.LinkState.OK
    )
    assert len(token) < 80 and "/" not in token


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: t[:-5],  # truncated
    lambda t: "x" + t,  # payload changed
    lambda t: "garbage",
    lambda t: "",
])
def test_tampered_token_is_invalid(approved, member, mangle):
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    with pytest.raises(ack_links.AckLinkInvalid):
        ack_links.ack_token_read(mangle(token))


def test_token_cannot_be_rewritten_for_another_person_or_version(approved, member, reviewer):
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    payload, stamp, signature = token.split(".")
    user_id, plan_id, version = payload.split("-")
    other_person = "-".join([signing.b62_encode(reviewer.pk), plan_id, version])
    other_version = "-".join([user_id, plan_id, signing.b62_encode(2)])
    other_plan = "-".join([user_id, signing.b62_encode(approved.pk + 1), version])
    for forged in (other_person, other_version, other_plan):
        with pytest.raises(ack_links.AckLinkInvalid):
            ack_links.ack_token_read(f"{forged}.{stamp}.{signature}")
    # Signed with the same key but another salt (another feature's tokens): refused too.
    foreign = signing.TimestampSigner(salt="something.else", sep=".").sign(payload)
    with pytest.raises(ack_links.AckLinkInvalid):
        ack_links.ack_token_read(foreign)
    # A genuine token of another person is that person's, never the first one's.
    theirs = ack_links.ack_token_make(user=reviewer, plan=approved, version_number=1)
    assert ack_links.ack_token_read(theirs).user_id == reviewer.pk


def test_expired_token_keeps_its_claim_for_the_new_link_form(approved, member, settings, monkeypatch):
    settings.BCP_ACK_LINK_DAYS = 30
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 29 * 86400)
    assert ack_links.ack_token_read(token).user_id == member.pk  # still valid on day 29
    monkeypatch.setattr(time, "time", lambda: real + 31 * 86400)
    with pytest.raises(ack_links.AckLinkExpired) as raised:
        ack_links.ack_token_read(token)
    assert raised.value.claim == ack_links.AckClaim(user_id=member.pk, plan_id=approved.pk, version_number=1)


def test_superseded_version(approved, owner, reviewer, member, django_capture_on_commit_callbacks):
    old = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    new_revision(approved, actor=owner)
    # While version 2 is drafted, version 1 stays the approved one and can be acknowledged.
    assert ack_links.ack_link_target(ack_links.ack_token_read(old)).state == ack_records.LinkState.OK
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    target = ack_links.ack_link_target(ack_links.ack_token_read(old))
    assert target.state == ack_records.LinkState.SUPERSEDED
    assert target.approved_version.version_number == 2
    with pytest.raises(ServiceError) as refused:
        ack_records.ack_record(plan=approved, user=member, version_number=1, via="link")
    assert refused.value.code == "superseded"
    assert not Ack.objects.exists()


def test_link_to_unapproved_version_is_refused(approved, owner, member):
    new_revision(approved, actor=owner)
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=2)
    assert ack_links.ack_link_target(ack_links.ack_token_read(token)).state == ack_records.LinkState.NOT_APPROVED


def test_archived_plan(approved, member, bcp_admin):
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    plan_archive(plan=approved, actor=bcp_admin)
    assert ack_links.ack_link_target(ack_links.ack_token_read(token)).state == ack_records.LinkState.ARCHIVED
    with pytest.raises(ServiceError) as refused:
        ack_records.ack_record(plan=approved, user=member, version_number=1, via="link")
    assert refused.value.code == "archived"


def test_inactive_user(approved, member):
    token = ack_links.ack_token_make(user=member, plan=approved, version_number=1)
    member.is_active = False
    member.save()
    assert ack_links.ack_link_target(ack_links.ack_token_read(token)).state == ack_records.LinkState.INACTIVE
    with pytest.raises(ServiceError) as refused:
        ack_records.ack_record(plan=approved, user=member, version_number=1, via="link")
    assert refused.value.code == "inactive"


def test_link_for_a_person_outside_the_plans_organisation_is_invalid(approved, outsider):
    token = ack_links.ack_token_make(user=outsider, plan=approved, version_number=1)
    with pytest.raises(ack_links.AckLinkInvalid):
        ack_links.ack_link_target(ack_links.ack_token_read(token))


def test_deleted_user_makes_link_invalid(approved, org):
    person = make_user(org, username="leaver")
    token = ack_links.ack_token_make(user=person, plan=approved, version_number=1)
    person.delete()
    with pytest.raises(ack_links.AckLinkInvalid):
        ack_links.ack_link_target(ack_links.ack_token_read(token))


def test_record_is_idempotent_and_audited_once(approved, member):
    first, created = ack_records.ack_record(plan=approved, user=member, version_number=1, via="link")
    again, created_again = ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Ack.objects.filter(plan=approved, user=member).count() == 1
    audits = Audit.objects.filter(plan=approved, action="ack_recorded")
    assert [a.details_json for a in audits] == [{"version": 1, "via": "link", "user": "member"}]
    assert audits[0].actor_user == member


def test_acknowledgement_is_per_version(approved, owner, reviewer, member, django_capture_on_commit_callbacks):
    ack_records.ack_record(plan=approved, user=member, version_number=1, via="page")
    assert ack_coverage(approved).ack_at_by_user.keys() == {member.pk}
    new_revision(approved, actor=owner)
    approve(approved, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)
    coverage = ack_coverage(approved)
    assert coverage.version_number == 2
    assert member in [row.user for row in coverage.outstanding]
    assert coverage.acknowledged == []
    ack_records.ack_record(plan=approved, user=member, version_number=2, via="page")
    assert sorted(Ack.objects.filter(user=member).values_list("ack_version_number", flat=True)) == [1, 2]
    assert [row.user for row in ack_coverage(approved).acknowledged] == [member]
