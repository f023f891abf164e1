"""Workflow in the Django admin: actions on plans and reviews, their permissions, and the edit lock."""

import pytest
from django.urls import reverse
from django.utils import timezone

from bcp_site.testing import make_plan, make_user
from plans.models import Audit, Contact, Plan, Risk
from reviews import services
from reviews.models import Review

pytestmark = pytest.mark.django_db

PLANS = reverse("admin:plans_plan_changelist")
REVIEWS = reverse("admin:reviews_review_changelist")


@pytest.fixture(autouse=True)
def _no_hooks(monkeypatch):
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: None)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)


def act(client, changelist, action, objs, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objs], **extra}
    return client.post(changelist, data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def status_of(plan) -> str:
    return Plan.objects.get(pk=plan.pk).status


def action_names(client, changelist) -> set[str]:
    response = client.get(changelist)
    assert response.status_code == 200
    form = response.context["action_form"]
    return {value for value, _label in form.fields["action"].choices if value} if form else set()


def in_review(plan, actor, *reviewers):
    return services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))


# --- actions on plans ----------------------------------------------------------------------


def test_reviewer_approves_from_the_plan_changelist(client, plan, owner, reviewer, reviewer2):
    in_review(plan, owner, reviewer, reviewer2)
    client.force_login(reviewer)
    confirmation = act(client, PLANS, "approve_plans", [plan])  # the confirmation page first: nothing decided
    assert "Head office plan: 1 of 2 reviewers has approved; the plan stays in review." in " ".join(
        confirmation.content.decode().split()).replace("<strong>", "").replace("</strong>", "")
    assert Review.objects.filter(status=Review.Status.APPROVED).count() == 0
    response = act(client, PLANS, "approve_plans", [plan], confirm="yes")
    assert messages_of(response) == [
        "Head office plan: your approval is recorded; the plan stays in review until every reviewer has approved."
    ]
    client.force_login(reviewer2)
    response = act(client, PLANS, "approve_plans", [plan], confirm="yes")
    assert messages_of(response) == [
        "Head office plan: approved; every reviewer has approved, so version 1 is now approved."
    ]
    assert status_of(plan) == Plan.Status.APPROVED


def test_plan_approve_action_reports_per_plan_why_it_refused(client, org, template, plan, owner, reviewer,
                                                             bcp_admin):
    own = make_plan(org, bcp_admin, template=template, title="Admin's own plan")
    in_review(own, bcp_admin, reviewer)
    in_review(plan, owner, reviewer)
    client.force_login(bcp_admin)
    response = act(client, PLANS, "approve_plans", [own, plan], confirm="yes")
    assert sorted(messages_of(response)) == [
        "Admin's own plan: not done. You own this plan, so you cannot approve it.",
        "Head office plan: not done. You have no pending review of this plan.",
    ]
    assert status_of(own) == status_of(plan) == Plan.Status.IN_REVIEW


def test_request_changes_on_plans_asks_for_notes_first(client, plan, owner, reviewer):
    in_review(plan, owner, reviewer)
    client.force_login(reviewer)
    page = act(client, PLANS, "request_changes_plans", [plan])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/reviews/request_changes.html"
    assert 'name="notes"' in page.content.decode()
    assert status_of(plan) == Plan.Status.IN_REVIEW

    blank = act(client, PLANS, "request_changes_plans", [plan], apply="yes", notes="  ")
    assert "Notes are required when requesting changes." in blank.content.decode()
    assert status_of(plan) == Plan.Status.IN_REVIEW

    done = act(client, PLANS, "request_changes_plans", [plan], apply="yes", notes="Fix the RTO of payroll.")
    assert messages_of(done) == ["Head office plan: changes requested; the plan is back in draft."]
    assert status_of(plan) == Plan.Status.DRAFT
    assert Review.objects.get().notes == "Fix the RTO of payroll."


def test_archive_and_restore_actions(client, plan, owner, reviewer, bcp_admin):
    (review,) = in_review(plan, owner, reviewer)
    client.force_login(bcp_admin)
    response = act(client, PLANS, "archive_plans", [plan])
    assert messages_of(response) == [
        "Head office plan: not done. This plan is in review. Withdraw it or wait for the decision before archiving."
    ]
    services.review_approve(review=review, actor=reviewer)
    assert messages_of(act(client, PLANS, "archive_plans", [plan])) == ["Head office plan: archived."]
    assert status_of(plan) == Plan.Status.ARCHIVED
    assert messages_of(act(client, PLANS, "restore_plans", [plan])) == ["Head office plan: restored to draft."]
    assert status_of(plan) == Plan.Status.DRAFT
    assert messages_of(act(client, PLANS, "restore_plans", [plan])) == [
        "Head office plan: not done. Only an archived plan can be restored; this plan is a draft."
    ]


def test_actions_are_offered_only_with_their_permission(client, org, reviewer, bcp_admin):
    assert action_names(client_for(client, reviewer), PLANS) == {"approve_plans", "request_changes_plans"}
    assert {"approve_plans", "request_changes_plans", "archive_plans", "restore_plans"} <= action_names(
        client_for(client, bcp_admin), PLANS
    )
    staff_editor = make_user(org, username="staffeditor", groups=["BCP Editor"], is_staff=True)
    assert not {"approve_plans", "request_changes_plans", "archive_plans", "restore_plans"} & action_names(
        client_for(client, staff_editor), PLANS
    )


def test_an_action_without_its_permission_is_refused(client, org, plan, owner, reviewer):
    (review,) = in_review(plan, owner, reviewer)
    services.review_approve(review=review, actor=reviewer)
    client.force_login(reviewer)  # reviewers may not archive
    response = act(client, PLANS, "archive_plans", [plan])
    assert "No action selected." in messages_of(response)
    assert status_of(plan) == Plan.Status.APPROVED


def client_for(client, user):
    client.force_login(user)
    return client


# --- actions on reviews --------------------------------------------------------------------


def test_review_admin_actions(client, plan, owner, reviewer, reviewer2):
    first, second = in_review(plan, owner, reviewer, reviewer2)
    client.force_login(reviewer)
    # "All": the list opens on the reviewer's own pending reviews, and actions act on the list shown.
    response = act(client, REVIEWS + "?mine=everyone", "approve_reviews", [first, second], confirm="yes")
    assert set(messages_of(response)) == {
        f"{first}: your approval is recorded; the plan stays in review until every reviewer has approved.",
        f"{second}: not done. Only the assigned reviewer can decide this review.",
    }
    client.force_login(reviewer2)
    response = act(client, REVIEWS, "request_changes_reviews", [second], apply="yes", notes="Missing risks.")
    assert messages_of(response) == [f"{second}: changes requested; the plan is back in draft."]
    assert status_of(plan) == Plan.Status.DRAFT
    assert Audit.objects.filter(plan=plan, action="changes_requested").count() == 1


def test_self_approval_refused_in_the_review_admin(client, org, template, reviewer, bcp_admin):
    plan = make_plan(org, bcp_admin, template=template)
    plan.status = Plan.Status.IN_REVIEW
    plan.save()
    review = Review.objects.create(plan=plan, version=plan.current_version, requested_by_user=reviewer,
                                   reviewer_user=bcp_admin, requested_at_utc=timezone.now())
    client.force_login(bcp_admin)
    response = act(client, REVIEWS, "approve_reviews", [review], confirm="yes")
    assert messages_of(response) == [f"{review}: not done. You own this plan, so you cannot approve it."]
    assert Review.objects.get().status == Review.Status.PENDING


def test_my_pending_reviews_filter(client, org, template, owner, reviewer, reviewer2):
    mine = make_plan(org, owner, template=template, title="Mine to review")
    theirs = make_plan(org, owner, template=template, title="Theirs to review")
    in_review(mine, owner, reviewer)
    in_review(theirs, owner, reviewer2)
    client.force_login(reviewer)
    response = client.get(REVIEWS + "?mine=pending")
    assert [r.plan.title for r in response.context["cl"].result_list] == ["Mine to review"]
    assert "My pending reviews" in response.content.decode()


def test_plan_admin_shows_history_and_audit(client, plan, owner, reviewer, bcp_admin):
    in_review(plan, owner, reviewer)
    client.force_login(bcp_admin)
    change = client.get(reverse("admin:plans_plan_change", args=[plan.pk]))
    assert "submitted_for_review" in change.content.decode()
    history = client.get(reverse("admin:plans_plan_history", args=[plan.pk]))
    assert history.status_code == 200
    assert [r.status for r in history.context["page_obj"].object_list][:2] == ["in_review", "draft"]


# --- edit lock -----------------------------------------------------------------------------


@pytest.fixture
def locked(plan, owner, reviewer):
    Contact.objects.create(plan=plan, name="Alice")
    from plans.services import version_create

    version_create(plan=plan, actor=owner, note="with Alice")
    in_review(plan, owner, reviewer)
    return plan


def test_admin_refuses_to_change_or_delete_a_contact_of_a_plan_in_review(client, locked, bcp_admin):
    contact = locked.contacts.get(name="Alice")
    client.force_login(bcp_admin)
    change = reverse("admin:plans_contact_change", args=[contact.pk])
    page = client.get(change, follow=True)
    assert "is in review, so it cannot be changed." in " ".join(messages_of(page))
    response = client.post(change, {"plan": locked.pk, "name": "Mallory"})
    assert response.status_code == 403
    assert client.post(reverse("admin:plans_contact_delete", args=[contact.pk]), {"post": "yes"}).status_code == 403
    bulk = client.post(reverse("admin:plans_contact_changelist"),
                       {"action": "delete_selected", "_selected_action": [contact.pk], "post": "yes"})
    assert bulk.status_code == 403
    assert locked.contacts.get(pk=contact.pk).name == "Alice"


def test_admin_refuses_to_add_a_risk_to_a_plan_in_review(client, locked, bcp_admin):
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_risk_add"), {
        "plan": locked.pk, "threat": "Flood", "likelihood": "likely", "impact": "major", "mitigation": "",
    })
    assert response.status_code == 200
    assert "This plan is in review, so it cannot be changed." in response.content.decode()
    assert not Risk.objects.filter(threat="Flood").exists()


def test_admin_refuses_to_change_or_delete_a_plan_in_review(client, locked, bcp_admin):
    client.force_login(bcp_admin)
    change = reverse("admin:plans_plan_change", args=[locked.pk])
    page = client.get(change)
    assert page.status_code == 200  # read-only view
    assert any("is in review, so it cannot be changed." in m for m in messages_of(page))
    response = client.post(change, {"title": "Renamed", "org": locked.org_id, "template": locked.template_id,
                                    "owner_user": locked.owner_user_id})
    assert response.status_code == 403
    assert client.post(reverse("admin:plans_plan_delete", args=[locked.pk]), {"post": "yes"}).status_code == 403
    assert Plan.objects.get(pk=locked.pk).title == "Head office plan"


def test_admin_child_edit_on_an_approved_plan_starts_a_new_revision(client, plan, owner, reviewer, bcp_admin):
    (review,) = in_review(plan, owner, reviewer)
    services.review_approve(review=review, actor=reviewer)
    client.force_login(bcp_admin)
    response = client.post(reverse("admin:plans_contact_add"), {"plan": plan.pk, "name": "Bob"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT and plan.approved_version.version_number == 1
    assert Audit.objects.filter(plan=plan, action="contact_added").exists()


def test_plan_actions_refuse_plans_not_in_review(client, plan, reviewer):
    client.force_login(reviewer)
    assert messages_of(act(client, PLANS, "approve_plans", [plan], confirm="yes")) == [
        "Head office plan: not done. This plan is draft, not in review."
    ]
    response = act(client, PLANS, "request_changes_plans", [plan], apply="yes", notes="Why")
    assert messages_of(response) == ["Head office plan: not done. This plan is draft, not in review."]
    assert status_of(plan) == Plan.Status.DRAFT
