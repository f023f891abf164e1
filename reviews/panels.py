"""What the plan page's workflow and acknowledgement panels show, computed once per request by the page.

The plan page lives in `plans`, which must not import `reviews`; `reviews.apps` registers
`plan_page_context` with `plans.hooks`, and the `plan_workflow_panel` / `plan_ack_panel`
tags only render it. Neither panel grows with the organisation: reviewers are chosen in a
search field (a few suggestions, never the list of everyone) and acknowledgement coverage is
counted by the database.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Subquery

from plans.models import Plan, PlanVersion

from . import contributors, services
from .ack_coverage import ack_coverage
from .ack_records import acknowledgeable
from .auditors import auditor_membership
from .forms import SubmitForReviewForm, reviewer_suggestions
from .models import Ack, PlanDistribution, Review
from .permissions import PERM_SUBMIT, plan_actions_for

DISTRIBUTION_PREVIEW = 10  # people named in the panel's distribution line


def plan_workflow(plan: Plan, user) -> dict:
    """The workflow panel's data for `user`, in a fixed number of queries whatever the number of
    versions, reviews or users: one for the approved and active versions (none when the plan page
    loaded them), one for the latest review round, one for the eligible reviewers (only when the
    user may submit a draft; one more when nobody is eligible) or for the approved version's
    review date (an approved plan, unless the page loaded it), plus Django's per-request
    permission cache.
    """
    Status = Plan.Status

    # Query 1 (none when the plan page already loaded them): the approved and active versions.
    wanted = {pk for pk in (plan.current_version_id, plan.approved_version_id) if pk}
    cache = plan._state.fields_cache
    cached = (cache.get("current_version"), cache.get("approved_version"))
    versions = {v.pk: v for v in cached if v is not None and v.pk in wanted}
    if wanted - set(versions):
        versions = {
            v.pk: v
            for v in PlanVersion.objects.filter(pk__in=wanted).only(
                "id", "plan_id", "version_number", "authored_at_utc", "authored_by_user_id", "status"
            )
        }
    current = versions.get(plan.current_version_id)
    approved = versions.get(plan.approved_version_id)

    # Query 2: the reviews of the latest round, with their people.
    latest_round = Review.objects.filter(plan=OuterRef("plan")).order_by("-round_number").values("round_number")[:1]
    round_reviews = list(
        Review.objects.filter(plan_id=plan.pk, round_number=Subquery(latest_round))
        .select_related("reviewer_user", "requested_by_user", "version")
        .defer("version__content_json")
        .order_by("id")
    )
    actions = plan_actions_for(plan, user, round_reviews=round_reviews, current=current)
    pending = [r for r in round_reviews if r.status == Review.Status.PENDING]
    changes_requested = []
    if plan.status == Status.DRAFT:
        changes_requested = [r for r in round_reviews if r.status == Review.Status.CHANGES_REQUESTED]

    # What is being drafted: the active version when it is newer than the approved one,
    # else the working copy that will become the next version.
    drafting = None
    if plan.status == Status.DRAFT and current is not None:
        if approved is None or current.pk != approved.pk:
            drafting = {"number": current.version_number, "saved": True}
        else:
            drafting = {"number": current.version_number + 1, "saved": False}

    submit_form = None
    if actions.can_submit and not actions.already_approved:
        # Query 3: a few of the people who may review (the form's suggestions; the field searches).
        eligible = services.eligible_reviewers(plan, actor=user, version=current)
        submit_form = SubmitForReviewForm(eligible=eligible, org_id=plan.org_id)
        submit_form.suggestions, submit_form.more_suggestions = reviewer_suggestions(eligible)
        submit_form.eligible_count = len(submit_form.suggestions)  # 0 when nobody may review
        # Only when nobody is left: are there reviewers at all, or did they all contribute?
        submit_form.all_contributed = not submit_form.suggestions and services.organisation_reviewers(plan).exists()

    # Query 3 for an approved plan (none on the plan page, which loads the active version's
    # content): is its periodic review due, so that it can be re-confirmed unchanged?
    reconfirm_due = bool(
        getattr(user, "is_authenticated", False) and plan.status == Status.APPROVED and user.has_perm(PERM_SUBMIT)
        and contributors.reconfirmation_due(plan, version=cache.get("current_version"))
    )

    return {
        "actions": actions,
        "current_version": current,
        "approved_version": approved,
        "drafting": drafting,
        "round_reviews": round_reviews,
        "round_version": round_reviews[0].version if round_reviews else None,
        "pending": pending,
        "changes_requested": changes_requested,
        "submit_form": submit_form,
        "reconfirm_due": reconfirm_due,
    }


def plan_ack_panel(plan: Plan, user) -> dict:
    """The acknowledgement panel's data for `user`, in a fixed number of queries whatever the size of
    the organisation or the distribution: the approved version's number (none when the plan page
    loaded it), the coverage counts and the user's own acknowledgement (only with an approved
    version), the first distribution rows (groups first), and the user's permissions (cached
    per request).
    """
    signed_in = bool(user is not None and user.is_authenticated)
    coverage = ack_coverage(plan)
    my_ack_at, auditor = None, False
    if coverage.version_number is not None and signed_in:
        # One query: the person's acknowledgement of the version, and whether they are an auditor
        # (auditors do not acknowledge: reviews.auditors).
        mine = Ack.objects.filter(plan_id=plan.pk, user_id=OuterRef("pk"), ack_version_number=coverage.version_number)
        my_ack_at, auditor = (
            get_user_model().objects.filter(pk=user.pk)
            .annotate(ack_at=Subquery(mine.values("ack_at_utc")[:1]), auditor=auditor_membership())
            .values_list("ack_at", "auditor").first() or (None, False)
        )
    rows = list(
        PlanDistribution.objects.filter(plan_id=plan.pk).select_related("user", "group")
        .order_by(F("group_id").asc(nulls_last=True), "id")[:DISTRIBUTION_PREVIEW + 1]
    )
    can_view = bool(signed_in and user.has_perm("plans.view_plan"))
    return {
        "coverage": coverage,
        "distribution_users": [r.user for r in rows[:DISTRIBUTION_PREVIEW] if r.user_id],
        "distribution_groups": [r.group for r in rows[:DISTRIBUTION_PREVIEW] if r.group_id],
        "distribution_more": len(rows) > DISTRIBUTION_PREVIEW,
        "my_ack_at": my_ack_at,
        "can_ack": bool(can_view and not auditor
                        and acknowledgeable(plan, coverage.version_number, user=user) is None),
        "can_view_coverage": can_view,
        "can_edit_distribution": bool(signed_in and user.has_perm("plans.change_plan")),
    }


def plan_page_context(*, request, plan) -> dict:
    """The plan page's share of `reviews` (registered with `plans.hooks` in `reviews.apps`)."""
    return {"workflow": plan_workflow(plan, request.user), "ack_panel": plan_ack_panel(plan, request.user)}
