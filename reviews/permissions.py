"""Who may do what in a plan's workflow: the one home of these rules.

The services refuse with them, and `plan_actions_for` answers the questions the pages ask
("may this person submit / withdraw / approve / archive / restore here") from rows the
caller already loaded, so a page computes the answers once and its templates only read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from plans.models import Plan, PlanVersion

from .contributors import revision_contributors
from .models import Review

PERM_SUBMIT = "plans.submit_plan"
PERM_APPROVE = "plans.approve_plan"
PERM_REQUEST_CHANGES = "plans.request_changes_plan"
PERM_ARCHIVE = "plans.archive_plan"
PERM_RESTORE = "plans.restore_plan"

Status = Plan.Status


def withdraw_refusal(plan: Plan, actor, *, submitter_ids: Iterable[int]) -> str | None:
    """Why `actor` may not withdraw the plan's current round, or None: only a person who
    submitted it, or the plan's owner, may (no query)."""
    if actor.pk in set(submitter_ids) or actor.pk == plan.owner_user_id:
        return None
    return "Only the person who submitted this plan, or its owner, can withdraw it from review."


def already_approved_refusal(plan: Plan, version: PlanVersion | None) -> str | None:
    """Why `version` cannot be submitted because it is the approved one, or None (no query)."""
    if version is not None and plan.approved_version_id == version.pk:
        return (f"Version {version.version_number} is already approved. Make your changes and save a "
                "revision first.")
    return None


def independence_refusal(*, plan: Plan, actor, version: PlanVersion | None, submitter_id: int | None,
                         verb: str = "approve") -> str | None:
    """Why `actor` may not decide on a revision they own or contributed to (`revision_contributors`), or
    None: four eyes. Two queries (none for the owner)."""
    if actor.pk == plan.owner_user_id:
        return f"You own this plan, so you cannot {verb} it."
    if version is None:
        return None
    contributors = revision_contributors(plan, version=version, submitter_id=submitter_id)
    if actor.pk in contributors:
        return contributors.refusal(actor, actor=actor, verb=verb)
    return None


@dataclass(frozen=True)
class ReviewDecision:
    """What one person may decide on one review now, and why not when they are its reviewer but may not."""

    can_decide: bool = False  # their open review, and four eyes hold
    can_approve: bool = False  # ... and the role allows approving
    can_request_changes: bool = False  # ... and the role allows requesting changes
    refused: str | None = None  # their open review, but they contributed to the revision


def review_decision_for(review: Review, user) -> ReviewDecision:
    """May `user` decide `review` now: the one answer the review page and the review admin show.

    The rules the services check again when the decision is posted: the assigned reviewer, a
    pending review, a plan in review, nobody who owns or contributed to the revision, and the
    role. Two queries for the reviewer of an open review (four eyes), none otherwise apart from
    the user's permissions (cached per request).
    """
    if not (review.status == Review.Status.PENDING and review.reviewer_user_id == user.pk
            and review.plan.status == Status.IN_REVIEW):
        return ReviewDecision()
    refused = independence_refusal(plan=review.plan, actor=user, version=review.version,
                                   submitter_id=review.requested_by_user_id)
    if refused:
        return ReviewDecision(refused=refused)
    return ReviewDecision(can_decide=True, can_approve=user.has_perm(PERM_APPROVE),
                          can_request_changes=user.has_perm(PERM_REQUEST_CHANGES))


@dataclass(frozen=True)
class PlanActions:
    """What one person may do on one plan's workflow now, and why not where it helps to say."""

    can_submit: bool = False  # the role allows it and the plan is a draft
    already_approved: bool = False  # ... but its active version is the approved one
    can_withdraw: bool = False
    can_approve: bool = False  # a pending review of theirs in the current round, and the role
    can_archive: bool = False
    can_restore: bool = False
    my_review: Review | None = None
    reasons: dict[str, str] = field(default_factory=dict)


def plan_actions_for(plan: Plan, user, *, round_reviews: list[Review],
                     current: PlanVersion | None) -> PlanActions:
    """The workflow actions `user` may take on `plan`, from the latest round's reviews and the
    active version the caller loaded. No query apart from the user's permissions (cached per
    request). The services check the same rules again on submit.
    """
    if not getattr(user, "is_authenticated", False):
        return PlanActions()
    reasons = {}
    may_submit = user.has_perm(PERM_SUBMIT)
    in_review = plan.status == Status.IN_REVIEW
    can_withdraw = False
    if in_review and may_submit:
        refusal = withdraw_refusal(plan, user, submitter_ids=(r.requested_by_user_id for r in round_reviews))
        can_withdraw = refusal is None
        if refusal:
            reasons["withdraw"] = refusal
    approved_refusal = already_approved_refusal(plan, current)
    if approved_refusal:
        reasons["submit"] = approved_refusal
    my_review = next(
        (r for r in round_reviews if r.status == Review.Status.PENDING and r.reviewer_user_id == user.pk), None
    )
    return PlanActions(
        can_submit=plan.status == Status.DRAFT and may_submit,
        already_approved=approved_refusal is not None,
        can_withdraw=can_withdraw,
        can_approve=bool(in_review and my_review is not None and user.has_perm(PERM_APPROVE)),
        can_archive=plan.status == Status.APPROVED and user.has_perm(PERM_ARCHIVE),
        can_restore=plan.status == Status.ARCHIVED and user.has_perm(PERM_RESTORE),
        my_review=my_review,
        reasons=reasons,
    )
