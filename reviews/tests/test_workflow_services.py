"""The workflow service: every allowed and refused transition, the reviewer rules, audit and history."""

import threading

import pytest
from django.db import connections

from bcp_site.testing import make_plan, make_user
from plans.models import Audit, Contact, Plan
from plans.services import ServiceError, plan_prepare_edit, version_create
from reviews import services
from reviews.models import Review

from .ack_support import links_call

pytestmark = pytest.mark.django_db


def submit(plan, actor, *reviewers):
    return services.plan_submit_for_review(plan=plan, actor=actor, reviewers=list(reviewers))


def refresh(plan):
    plan.refresh_from_db()
    return plan


def audit_actions(plan):
    return list(Audit.objects.filter(plan=plan).order_by("id").values_list("action", flat=True))


def approved_plan(plan, owner, reviewer):
    (review,) = submit(plan, owner, reviewer)
    services.review_approve(review=review, actor=reviewer)
    return refresh(plan)


@pytest.fixture
def hooks(monkeypatch):
    """Record the after-approval hooks instead of running the real exports and ack mail."""
    calls = []
    monkeypatch.setattr("plans.exports.version_exports_enqueue", lambda **kw: calls.append(("exports", kw)))
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: calls.append(("acks", links_call(kw))))
    return calls


# --- submit ------------------------------------------------------------------------------


def test_submit_creates_one_review_per_reviewer_tied_to_the_version(plan, owner, reviewer, reviewer2):
    reviews = submit(plan, owner, reviewer, reviewer2)

    plan = refresh(plan)
    assert plan.status == Plan.Status.IN_REVIEW
    assert {r.reviewer_user for r in reviews} == {reviewer, reviewer2}
    assert {(r.version_id, r.round_number, r.status, r.requested_by_user_id) for r in reviews} == {
        (plan.current_version_id, 1, Review.Status.PENDING, owner.pk)
    }
    entry = Audit.objects.get(plan=plan, action="submitted_for_review")
    assert entry.actor_user == owner
    assert entry.details_json == {"from": "draft", "to": "in_review", "version": 1, "round": 1,
                                  "reviewers": ["reviewer", "reviewer2"]}
    assert plan.history.first().status == Plan.Status.IN_REVIEW
    assert Review.history.count() == 2


def test_eligible_reviewers_are_reviewers_of_the_organisation_minus_owner_author_and_submitter(
    org, plan, owner, editor, member, reviewer, reviewer2, bcp_admin, outsider
):
    make_user(org, username="gone", groups=["BCP Reviewer"], is_active=False)
    assert set(services.eligible_reviewers(plan)) == {reviewer, reviewer2, bcp_admin}
    assert set(services.eligible_reviewers(plan, actor=bcp_admin)) == {reviewer, reviewer2}
    # The author of the active version is excluded even when they are not the owner.
    version_create(plan=plan, actor=reviewer2, note="reviewer2 wrote this")
    assert set(services.eligible_reviewers(plan)) == {reviewer, bcp_admin}


@pytest.mark.parametrize(
    "who, message",
    [
        ("owner", "Owner owns this plan, so they cannot review this revision."),
        ("self", "Bcpadmin cannot review this plan: you cannot review a plan you submit."),
        ("member", "Member cannot review this plan: they are not a reviewer in this plan's organisation."),
        ("outsider", "Outsider cannot review this plan: they are not a reviewer in this plan's organisation."),
    ],
)
def test_submit_refuses_ineligible_reviewers(plan, owner, member, outsider, bcp_admin, reviewer, who, message):
    person = {"owner": owner, "self": bcp_admin, "member": member, "outsider": outsider}[who]
    with pytest.raises(ServiceError) as exc:
        submit(plan, bcp_admin, reviewer, person)
    assert exc.value.message == message
    assert refresh(plan).status == Plan.Status.DRAFT
    assert not Review.objects.exists()


def test_submit_refuses_the_versions_author_as_reviewer(plan, owner, reviewer):
    version_create(plan=plan, actor=reviewer, note="by the reviewer")
    with pytest.raises(ServiceError) as exc:
        submit(plan, owner, reviewer)
    assert exc.value.message == "Reviewer wrote version 2 of this plan, so they cannot review this revision."


def test_submit_needs_a_reviewer(plan, owner):
    with pytest.raises(ServiceError, match="Choose at least one reviewer."):
        submit(plan, owner)


def test_submit_refuses_unsaved_working_copy(plan, owner, reviewer):
    plan.draft_content_json = {**plan.draft_content_json, "overview": {"purpose": "Changed", "scope": "x"}}
    plan.save()
    with pytest.raises(ServiceError, match="Save a revision first"):
        submit(plan, owner, reviewer)
    version_create(plan=plan, actor=owner, note="saved")
    submit(plan, owner, reviewer)
    assert refresh(plan).status == Plan.Status.IN_REVIEW


def test_submit_refuses_unsaved_live_rows(plan, owner, reviewer):
    Contact.objects.create(plan=plan, name="New contact")
    with pytest.raises(ServiceError, match="Save a revision first"):
        submit(plan, owner, reviewer)


def test_submit_refuses_without_permission_or_from_another_organisation(plan, member, outsider, reviewer):
    with pytest.raises(ServiceError, match="Your role does not allow submitting plans for review."):
        submit(plan, member, reviewer)
    with pytest.raises(ServiceError, match="This plan belongs to another organisation."):
        submit(plan, outsider, reviewer)


def test_submit_refused_in_every_status_but_draft(plan, owner, reviewer, reviewer2, bcp_admin, hooks):
    submit(plan, owner, reviewer)
    with pytest.raises(ServiceError, match="This plan is already in review."):
        submit(plan, owner, reviewer2)
    services.review_approve(review=Review.objects.get(reviewer_user=reviewer), actor=reviewer)
    with pytest.raises(ServiceError, match="This plan is approved"):
        submit(plan, owner, reviewer2)
    services.plan_archive(plan=plan, actor=bcp_admin)
    with pytest.raises(ServiceError, match="This plan is archived. Restore it before submitting"):
        submit(plan, owner, reviewer2)


def test_submitting_the_approved_version_again_is_refused(plan, owner, reviewer, hooks):
    approved_plan(plan, owner, reviewer)
    plan_prepare_edit(plan=plan, actor=owner)  # approved -> draft, nothing changed yet
    with pytest.raises(ServiceError, match="Version 1 is already approved"):
        submit(plan, owner, reviewer)


# --- decide ------------------------------------------------------------------------------


def test_single_reviewer_approval_approves_the_plan_and_runs_the_hooks_after_commit(
    plan, owner, reviewer, hooks, django_capture_on_commit_callbacks
):
    (review,) = submit(plan, owner, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        decided = services.review_approve(review=review, actor=reviewer)
        # The links are queued with the approval (the outbox delivers them after the commit);
        # the exports wait for the commit.
        assert hooks == [("acks", {"plan_id": plan.pk, "version_number": 1})]

    plan = refresh(plan)
    assert decided.status == Review.Status.APPROVED and decided.decided_at_utc is not None
    assert plan.status == Plan.Status.APPROVED
    assert plan.approved_version_id == review.version_id
    assert plan.approved_at_utc == decided.decided_at_utc
    assert hooks == [
        ("acks", {"plan_id": plan.pk, "version_number": 1}), ("exports", {"version_id": review.version_id}),
    ]
    assert audit_actions(plan)[-2:] == ["review_approved", "plan_approved"]
    approved = Audit.objects.get(plan=plan, action="plan_approved")
    assert approved.actor_user == reviewer
    assert approved.details_json == {"from": "in_review", "to": "approved", "version": 1, "round": 1}


def test_every_reviewer_of_the_round_must_approve(plan, owner, reviewer, reviewer2, hooks,
                                                  django_capture_on_commit_callbacks):
    first, second = submit(plan, owner, reviewer, reviewer2)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=first, actor=reviewer)
    plan = refresh(plan)
    assert plan.status == Plan.Status.IN_REVIEW and plan.approved_version is None
    assert hooks == []
    assert Audit.objects.get(plan=plan, action="review_approved").details_json["to"] == "in_review"

    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=second, actor=reviewer2)
    assert refresh(plan).status == Plan.Status.APPROVED
    assert len(hooks) == 2


def test_request_changes_needs_notes(plan, owner, reviewer):
    (review,) = submit(plan, owner, reviewer)
    for notes in ["", "   \n "]:
        with pytest.raises(ServiceError, match="Notes are required when requesting changes."):
            services.review_request_changes(review=review, actor=reviewer, notes=notes)
    review.refresh_from_db()
    assert review.status == Review.Status.PENDING
    assert refresh(plan).status == Plan.Status.IN_REVIEW


def test_one_request_for_changes_sends_the_plan_back_and_cancels_the_others(plan, owner, reviewer, reviewer2):
    first, second = submit(plan, owner, reviewer, reviewer2)
    services.review_request_changes(review=first, actor=reviewer, notes="  Add the payroll contact.  ")

    first.refresh_from_db()
    second.refresh_from_db()
    plan = refresh(plan)
    assert (first.status, first.notes) == (Review.Status.CHANGES_REQUESTED, "Add the payroll contact.")
    assert second.status == Review.Status.CANCELLED
    assert plan.status == Plan.Status.DRAFT and plan.approved_version is None
    entry = Audit.objects.get(plan=plan, action="changes_requested")
    assert entry.details_json["notes"] == "Add the payroll contact."
    assert entry.details_json["cancelled_reviewers"] == ["reviewer2"]
    assert (entry.details_json["from"], entry.details_json["to"]) == ("in_review", "draft")
    with pytest.raises(ServiceError, match="This review was cancelled"):
        services.review_approve(review=second, actor=reviewer2)


def test_only_the_assigned_reviewer_decides(plan, owner, reviewer, reviewer2):
    submit(plan, owner, reviewer)
    review = Review.objects.get()
    with pytest.raises(ServiceError, match="Only the assigned reviewer can decide this review."):
        services.review_approve(review=review, actor=reviewer2)
    with pytest.raises(ServiceError, match="Only the assigned reviewer can decide this review."):
        services.review_request_changes(review=review, actor=reviewer2, notes="No")


def test_a_decided_review_cannot_be_decided_again(plan, owner, reviewer, reviewer2):
    first, _ = submit(plan, owner, reviewer, reviewer2)
    services.review_approve(review=first, actor=reviewer)
    with pytest.raises(ServiceError, match=r"You already decided this review \(approved\)."):
        services.review_approve(review=first, actor=reviewer)
    with pytest.raises(ServiceError, match="You already decided this review"):
        services.review_request_changes(review=first, actor=reviewer, notes="Changed my mind")


def _forced_review(plan, *, reviewer, requested_by):
    """A review row that the submit rules would never create (to prove the decision rules hold alone)."""
    from django.utils import timezone

    plan.status = Plan.Status.IN_REVIEW
    plan.save()
    return Review.objects.create(
        plan=plan, version=plan.current_version, round_number=1, requested_by_user=requested_by,
        reviewer_user=reviewer, requested_at_utc=timezone.now(),
    )


def test_self_approval_refused_owner(org, template, reviewer, bcp_admin):
    plan = make_plan(org, bcp_admin, template=template)  # bcp_admin owns and wrote it, and may approve
    review = _forced_review(plan, reviewer=bcp_admin, requested_by=reviewer)
    with pytest.raises(ServiceError, match="You own this plan, so you cannot approve it."):
        services.review_approve(review=review, actor=bcp_admin)
    with pytest.raises(ServiceError, match="You own this plan, so you cannot review it."):
        services.review_request_changes(review=review, actor=bcp_admin, notes="x")
    assert refresh(plan).status == Plan.Status.IN_REVIEW


def test_self_approval_refused_author(plan, owner, bcp_admin):
    version_create(plan=plan, actor=bcp_admin, note="admin edits")
    review = _forced_review(plan, reviewer=bcp_admin, requested_by=owner)
    with pytest.raises(ServiceError, match="You wrote version 2 of this plan, so you cannot approve it."):
        services.review_approve(review=review, actor=bcp_admin)


def test_self_approval_refused_submitter(plan, bcp_admin):
    review = _forced_review(plan, reviewer=bcp_admin, requested_by=bcp_admin)
    with pytest.raises(ServiceError, match="You submitted this plan for review, so you cannot approve it."):
        services.review_approve(review=review, actor=bcp_admin)


def test_a_reviewer_who_lost_the_permission_cannot_approve(plan, owner, reviewer):
    (review,) = submit(plan, owner, reviewer)
    reviewer.groups.clear()
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # fresh permission cache
    with pytest.raises(ServiceError, match="Your role does not allow approving plans."):
        services.review_approve(review=review, actor=reviewer)


def test_pending_review_lookup_explains_why_there_is_none(plan, owner, reviewer, reviewer2):
    with pytest.raises(ServiceError, match="This plan is draft, not in review."):
        services.plan_pending_review_for(plan=plan, actor=reviewer)
    submit(plan, owner, reviewer)
    plan = refresh(plan)
    assert services.plan_pending_review_for(plan=plan, actor=reviewer).reviewer_user == reviewer
    with pytest.raises(ServiceError, match="You have no pending review of this plan."):
        services.plan_pending_review_for(plan=plan, actor=reviewer2)
    with pytest.raises(ServiceError, match="You own this plan, so you cannot approve it."):
        services.plan_pending_review_for(plan=plan, actor=owner)


# --- withdraw, archive, restore, new revision --------------------------------------------


def test_submitter_withdraws_and_pending_reviews_are_cancelled(plan, owner, editor, reviewer, reviewer2):
    first, second = submit(plan, editor, reviewer, reviewer2)
    services.review_approve(review=first, actor=reviewer)
    with pytest.raises(ServiceError, match="Only the person who submitted this plan, or its owner"):
        services.plan_withdraw(plan=plan, actor=reviewer)
    services.plan_withdraw(plan=plan, actor=editor)

    assert refresh(plan).status == Plan.Status.DRAFT
    assert dict(Review.objects.values_list("reviewer_user__username", "status")) == {
        "reviewer": "approved", "reviewer2": "cancelled",
    }
    entry = Audit.objects.get(plan=plan, action="review_withdrawn")
    assert entry.details_json == {"from": "in_review", "to": "draft", "round": 1, "version": 1,
                                  "cancelled_reviewers": ["reviewer2"]}
    with pytest.raises(ServiceError, match="This plan is not in review, so there is nothing to withdraw."):
        services.plan_withdraw(plan=plan, actor=editor)


def test_owner_may_withdraw_what_someone_else_submitted(plan, owner, editor, reviewer):
    submit(plan, editor, reviewer)
    services.plan_withdraw(plan=plan, actor=owner)
    assert refresh(plan).status == Plan.Status.DRAFT


def test_resubmission_starts_a_new_round(plan, owner, reviewer, hooks):
    (first,) = submit(plan, owner, reviewer)
    services.review_request_changes(review=first, actor=reviewer, notes="More detail")
    plan = refresh(plan)
    plan.draft_content_json = {**plan.draft_content_json, "overview": {"purpose": "Detailed", "scope": ""}}
    plan.save()
    version_create(plan=plan, actor=owner, note="more detail")
    (second,) = submit(plan, owner, reviewer)
    assert (second.round_number, second.version.version_number) == (2, 2)
    with pytest.raises(ServiceError, match="You already decided this review"):
        services.review_approve(review=first, actor=reviewer)
    services.review_approve(review=second, actor=reviewer)
    assert refresh(plan).approved_version.version_number == 2


def test_archive_only_approved_plans(plan, owner, reviewer, bcp_admin, editor, hooks):
    with pytest.raises(ServiceError, match="Only an approved plan can be archived; this plan is a draft."):
        services.plan_archive(plan=plan, actor=bcp_admin)
    (review,) = submit(plan, owner, reviewer)
    with pytest.raises(ServiceError, match="This plan is in review. Withdraw it"):
        services.plan_archive(plan=plan, actor=bcp_admin)
    services.review_approve(review=review, actor=reviewer)
    with pytest.raises(ServiceError, match="Your role does not allow archiving plans."):
        services.plan_archive(plan=plan, actor=editor)
    services.plan_archive(plan=plan, actor=bcp_admin)
    plan = refresh(plan)
    assert plan.status == Plan.Status.ARCHIVED and plan.approved_version.version_number == 1
    with pytest.raises(ServiceError, match="This plan is already archived."):
        services.plan_archive(plan=plan, actor=bcp_admin)
    assert Audit.objects.get(plan=plan, action="plan_archived").details_json == {
        "from": "approved", "to": "archived", "version": 1,
    }


def test_restore_archived_plans_admins_only(plan, owner, reviewer, bcp_admin, hooks):
    with pytest.raises(ServiceError, match="Only an archived plan can be restored; this plan is a draft."):
        services.plan_restore(plan=plan, actor=bcp_admin)
    approved_plan(plan, owner, reviewer)
    with pytest.raises(ServiceError, match="Only an archived plan can be restored; this plan is approved."):
        services.plan_restore(plan=plan, actor=bcp_admin)
    services.plan_archive(plan=plan, actor=bcp_admin)
    with pytest.raises(ServiceError, match="This plan is archived; only a BCP administrator can restore it."):
        services.plan_restore(plan=plan, actor=owner)
    services.plan_restore(plan=plan, actor=bcp_admin)
    plan = refresh(plan)
    assert plan.status == Plan.Status.DRAFT and plan.approved_version.version_number == 1
    assert "plan_restored" in audit_actions(plan)


def test_decisions_refused_when_the_plan_is_not_in_review(plan, owner, reviewer, reviewer2):
    first, second = submit(plan, owner, reviewer, reviewer2)
    services.plan_withdraw(plan=plan, actor=owner)
    with pytest.raises(ServiceError, match="This review was cancelled"):
        services.review_approve(review=first, actor=reviewer)


def test_new_revision_after_approval_keeps_the_approved_version(plan, owner, reviewer, hooks):
    approved_plan(plan, owner, reviewer)
    plan_prepare_edit(plan=plan, actor=owner)
    plan = refresh(plan)
    assert plan.status == Plan.Status.DRAFT
    assert plan.approved_version.version_number == 1 and plan.approved_at_utc is not None


def test_edit_lock_while_in_review(plan, owner, reviewer, bcp_admin, hooks):
    submit(plan, owner, reviewer)
    with pytest.raises(ServiceError, match="This plan is in review, so it cannot be changed."):
        plan_prepare_edit(plan=refresh(plan), actor=owner)


def test_a_failing_hook_never_undoes_the_approval(plan, owner, reviewer, monkeypatch, caplog,
                                                  django_capture_on_commit_callbacks):
    def boom(**kwargs):
        raise RuntimeError("export renderer crashed")

    acks = []
    monkeypatch.setattr("plans.exports.version_exports_enqueue", boom)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: acks.append(links_call(kw)))
    (review,) = submit(plan, owner, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_approve(review=review, actor=reviewer)
    assert refresh(plan).status == Plan.Status.APPROVED
    assert acks == [{"plan_id": plan.pk, "version_number": 1}]  # the links were queued all the same
    assert "Storing the exports of version" in caplog.text


# --- concurrency (real row locks) ---------------------------------------------------------


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reviewers_deciding_at_once_approve_the_plan_exactly_once(plan, owner, reviewer, reviewer2, monkeypatch):
    calls = []
    lock = threading.Lock()

    def record(**kwargs):
        with lock:
            calls.append(kwargs)

    monkeypatch.setattr("plans.exports.version_exports_enqueue", record)
    monkeypatch.setattr("reviews.ack_mail.ack_links_queue", lambda **kw: 0)
    submit(plan, owner, reviewer, reviewer2)
    barrier = threading.Barrier(2)
    errors = []

    def decide(user):
        try:
            review = Review.objects.get(reviewer_user=user)
            barrier.wait(timeout=10)
            services.review_approve(review=review, actor=user)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(u,)) for u in (reviewer, reviewer2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert set(Review.objects.values_list("status", flat=True)) == {Review.Status.APPROVED}
    plan = refresh(plan)
    assert plan.status == Plan.Status.APPROVED
    assert Audit.objects.filter(plan=plan, action="review_approved").count() == 2
    assert Audit.objects.filter(plan=plan, action="plan_approved").count() == 1
    assert calls == [{"version_id": plan.approved_version_id}]


# --- permission groups (documented in README "Roles and permissions") --------------------------


def test_permission_groups_hold_the_workflow_permissions(db):
    from django.contrib.auth.models import Group

    def perms(name):
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    workflow = {"plans.submit_plan", "plans.approve_plan", "plans.request_changes_plan", "plans.archive_plan",
                "plans.restore_plan", "templates_app.manage_templates"}
    assert perms("BCP Viewer") & workflow == set()
    assert perms("BCP Editor") & workflow == {"plans.submit_plan"}
    assert perms("BCP Reviewer") & workflow == {"plans.approve_plan", "plans.request_changes_plan"}
    assert perms("BCP Admin") & workflow == workflow
