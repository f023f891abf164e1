"""The stored coverage totals (reviews.coverage_counts) follow every change to the people they count.

After each step of a leaver-and-joiner story the plan page's numbers are what a person would count by
hand, and an exact recount finds nothing to mend (`coverage_recount` returns how many stored figures
were wrong), whichever way the change was written: the people services, a plain `save()`, either
side of the group relation, a move, a deletion.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from bcp_site.testing import make_org, make_plan, make_user
from plans.people import person_deactivate, person_move
from reviews.ack_coverage import ack_coverage
from reviews.ack_records import ack_record
from reviews.auditors import AUDITOR_GROUP
from reviews.coverage_counts import coverage_recount
from reviews.models import AckCount, ReaderCount

from .ack_support import approve, skip_exports

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)


def numbers(plan) -> tuple[int, int]:
    coverage = ack_coverage(plan)
    return coverage.acknowledged_count, coverage.total


def assert_exact(plan, expected: tuple[int, int]) -> None:
    assert numbers(plan) == expected
    assert coverage_recount() == 0, "a stored total was wrong"


@pytest.fixture
def approved(plan, owner, reviewer, django_capture_on_commit_callbacks):
    return approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)


def test_totals_follow_joiners_leavers_auditors_moves_and_deletions(approved, org, owner, reviewer, bcp_admin):
    plan, User = approved, get_user_model()
    auditors = Group.objects.get(name=AUDITOR_GROUP)
    superuser = User.objects.create_superuser("root", "root@example.org", "x")
    assert_exact(plan, (0, 3))  # owner, reviewer, BCP admin

    ann, bob = make_user(org, username="ann"), make_user(org, username="bob")
    assert_exact(plan, (0, 5))
    for person in (ann, bob, owner):
        ack_record(plan=plan, user=person, version_number=1, via="page")
    ack_record(plan=plan, user=ann, version_number=1, via="page")  # twice: counted once
    assert_exact(plan, (3, 5))

    person_deactivate(person=bob, actor=bcp_admin)  # a leaver: out of both numbers
    assert_exact(plan, (2, 4))
    bob.is_active = True
    bob.save()  # back again, acknowledgement included
    assert_exact(plan, (3, 5))

    ann.groups.add(auditors)  # an auditor reads but does not acknowledge
    assert_exact(plan, (2, 4))
    ann.groups.add(auditors)  # already one: nothing changes
    assert_exact(plan, (2, 4))
    auditors.user_set.remove(ann)  # from the group's side
    assert_exact(plan, (3, 5))
    auditors.user_set.add(ann, bob)
    assert_exact(plan, (1, 3))
    bob.groups.clear()
    auditors.user_set.clear()
    assert_exact(plan, (3, 5))

    elsewhere = make_org("Elsewhere")
    person_move(person=bob, organisation=elsewhere, actor=superuser)  # counted in the other organisation
    assert_exact(plan, (2, 4))
    assert ReaderCount.objects.get(organisation=elsewhere).readers == 1
    person_move(person=bob, organisation=org, actor=superuser)  # and back: his acknowledgement counts again
    assert_exact(plan, (3, 5))

    ann.delete()
    assert_exact(plan, (2, 4))
    User.objects.filter(username="bob").delete()
    assert_exact(plan, (1, 3))


def test_deleting_an_organisation_or_a_plan_takes_their_totals(org, owner):
    other = make_org("Going")
    make_user(other, username="leaving1")
    make_user(other, username="leaving2")
    assert ReaderCount.objects.get(organisation=other).readers == 2
    other.delete()
    assert not ReaderCount.objects.filter(organisation_id=other.pk).exists()

    plan = make_plan(org, owner)
    AckCount.objects.create(plan=plan, version_number=1, acknowledged=0)
    plan.delete()
    assert not AckCount.objects.filter(plan_id=plan.pk).exists()
    assert coverage_recount() == 0


def test_a_recount_mends_what_bulk_inserts_left_uncounted(approved, org):
    User = get_user_model()
    people = User.objects.bulk_create(User(username=f"bulk{i}") for i in range(3))
    people = list(User.objects.filter(username__startswith="bulk"))
    from plans.models import Membership

    Membership.objects.bulk_create(Membership(user=p, organisation=org) for p in people)
    assert numbers(approved) == (0, 2)  # inserted without signals: not counted yet
    assert coverage_recount(org.pk) == 1  # the organisation's reader count mended
    assert numbers(approved) == (0, 5)
    assert coverage_recount() == 0


def test_the_coverage_command_reports_what_it_mended(approved, org):
    from io import StringIO

    from django.core.management import call_command

    ReaderCount.objects.filter(organisation=org).update(readers=99)
    out = StringIO()
    call_command("coverage_recount", stdout=out)
    assert "1 stored figure mended" in out.getvalue()
    assert numbers(approved) == (0, 2)
    out = StringIO()
    call_command("coverage_recount", stdout=out)
    assert "every stored figure was right" in out.getvalue()
