"""One home per workflow rule: acknowledgeable, plan_actions_for, and unsaved changes on submit."""

import pytest
from django.urls import reverse

from plans.models import Contact, Plan
from plans.services import contact_save
from reviews import services
from reviews.ack_records import acknowledgeable
from reviews.models import Ack
from reviews.permissions import PlanActions, plan_actions_for
from reviews.tests.ack_support import approve, new_revision, skip_exports

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    skip_exports(monkeypatch)


@pytest.fixture
def approved(plan, owner, reviewer, django_capture_on_commit_callbacks):
    return approve(plan, submitter=owner, approver=reviewer, capture=django_capture_on_commit_callbacks)


# --- "can this version be acknowledged now": reviews.ack_records.acknowledgeable ---------------

def test_acknowledgeable_is_the_rule(approved, owner, member):
    assert acknowledgeable(approved, 1, user=member) is None
    assert acknowledgeable(approved, 2) == "not_approved"  # not approved (yet)
    new_revision(approved, actor=owner)
    assert acknowledgeable(approved, 1) is None  # v1 stays the approved plan while v2 is drafted
    member.is_active = False
    assert acknowledgeable(approved, 1, user=member) == "inactive"
    Plan.objects.filter(pk=approved.pk).update(status=Plan.Status.ARCHIVED)
    approved.refresh_from_db()
    assert acknowledgeable(approved, 1) == "archived"


def test_unapproved_plan_has_nothing_to_acknowledge(plan):
    assert acknowledgeable(plan) == "not_approved"


def test_archived_plan_offers_no_acknowledge_button_and_refuses_it(client, approved, member):
    client.force_login(member)
    ack_url = reverse("acks:plan_ack", args=[approved.pk])
    assert ack_url in client.get(approved.get_absolute_url()).content.decode()
    Plan.objects.filter(pk=approved.pk).update(status=Plan.Status.ARCHIVED)
    assert ack_url not in client.get(approved.get_absolute_url()).content.decode()
    response = client.post(ack_url, {"version_number": 1}, follow=True)
    assert "This plan is archived: there is nothing to acknowledge." in response.content.decode()
    assert not Ack.objects.exists()


# --- "may this person submit / withdraw / approve here": reviews.permissions ---------------------

def test_plan_actions_for_is_the_rule(plan, owner, editor, reviewer, member):
    plan.refresh_from_db()
    assert plan_actions_for(plan, owner, round_reviews=[], current=plan.current_version).can_submit
    assert not plan_actions_for(plan, member, round_reviews=[], current=plan.current_version).can_submit
    reviews = services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    plan.refresh_from_db()
    as_owner = plan_actions_for(plan, owner, round_reviews=reviews, current=plan.current_version)
    as_editor = plan_actions_for(plan, editor, round_reviews=reviews, current=plan.current_version)
    as_reviewer = plan_actions_for(plan, reviewer, round_reviews=reviews, current=plan.current_version)
    assert as_owner.can_withdraw and not as_owner.can_submit and not as_owner.can_approve
    assert not as_editor.can_withdraw and "withdraw" in as_editor.reasons  # neither submitter nor owner
    assert as_reviewer.can_approve and as_reviewer.my_review == reviews[0]
    services.review_approve(review=reviews[0], actor=reviewer)
    plan.refresh_from_db()
    done = plan_actions_for(plan, owner, round_reviews=reviews, current=plan.current_version)
    assert done.already_approved and "already approved" in done.reasons["submit"]
    assert plan_actions_for(plan, None, round_reviews=[], current=None) == PlanActions()


def test_withdraw_rule_holds_on_the_page_and_the_panel(client, plan, owner, editor, reviewer):
    services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    withdraw = reverse("reviews:withdraw", args=[plan.pk])
    client.force_login(editor)
    assert withdraw not in client.get(plan.get_absolute_url()).content.decode()
    client.post(withdraw)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.IN_REVIEW  # refused
    client.force_login(owner)
    assert withdraw in client.get(plan.get_absolute_url()).content.decode()


# --- unsaved changes: plans.services.working_copy_differs, asked by the submit service -----------

def test_submit_refuses_unsaved_changes_by_the_same_rule_as_the_page(client, plan, owner, reviewer):
    contact_save(plan=plan, actor=owner, expected_revision=None, values={"name": "Alice"})
    client.force_login(owner)
    assert "Unsaved changes" in client.get(plan.get_absolute_url()).content.decode()
    with pytest.raises(services.ServiceError) as refused:
        services.plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    assert refused.value.code == "unsaved_changes"
    assert Contact.objects.filter(plan=plan, name="Alice").count() == 1
