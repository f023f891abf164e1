"""Workflow panel on the plan page: status, approved vs drafted version, reviewers, notes, buttons.

`{% load workflow_tags %}{% plan_workflow_panel plan %}` runs a fixed number of queries
whatever the number of versions, reviews or users: one for the approved and active
versions, one for the latest review round, one for the eligible reviewers (only when
the current user may submit a draft; one more when nobody is eligible) or for the approved
version's review date (an approved plan, unless the page loaded it), plus Django's
per-request permission cache.
"""

from django import template
from django.db.models import OuterRef, Subquery

from plans.models import Plan, PlanVersion
from reviews import contributors, services
from reviews.forms import SubmitForReviewForm
from reviews.models import Review

register = template.Library()


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


@register.inclusion_tag("reviews/includes/plan_workflow_panel.html", takes_context=True)
def plan_workflow_panel(context, plan):
    request = context.get("request")
    user = getattr(request, "user", None)
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
    round_version = round_reviews[0].version if round_reviews else None
    pending = [r for r in round_reviews if r.status == Review.Status.PENDING]
    changes_requested = []
    if plan.status == Status.DRAFT:
        changes_requested = [r for r in round_reviews if r.status == Review.Status.CHANGES_REQUESTED]

    authenticated = getattr(user, "is_authenticated", False)
    my_review = next((r for r in pending if authenticated and r.reviewer_user_id == user.pk), None)
    submitters = {r.requested_by_user_id for r in round_reviews}
    can_submit = bool(authenticated and plan.status == Status.DRAFT and user.has_perm(services.PERM_SUBMIT))
    can_withdraw = bool(
        authenticated
        and plan.status == Status.IN_REVIEW
        and user.has_perm(services.PERM_SUBMIT)
        and (user.pk in submitters or user.pk == plan.owner_user_id)
    )
    can_archive = bool(authenticated and plan.status == Status.APPROVED and user.has_perm(services.PERM_ARCHIVE))
    can_restore = bool(authenticated and plan.status == Status.ARCHIVED and user.has_perm(services.PERM_RESTORE))

    # What is being drafted: the active version when it is newer than the approved one,
    # else the working copy that will become the next version.
    drafting = None
    if plan.status == Status.DRAFT and current is not None:
        if approved is None or current.pk != approved.pk:
            drafting = {"number": current.version_number, "saved": True}
        else:
            drafting = {"number": current.version_number + 1, "saved": False}

    submit_form = None
    already_approved = bool(approved and current and approved.pk == current.pk)
    if can_submit and not already_approved:
        # Query 3: who may review (rendered from this list, not queried again).
        eligible = list(services.eligible_reviewers(plan, actor=user, version=current))
        submit_form = SubmitForReviewForm(eligible=services.eligible_reviewers(plan, actor=user, version=current))
        submit_form.fields["reviewers"].choices = [
            (u.pk, f"{_person(u)} ({u.get_username()})" if u.get_full_name() else u.get_username()) for u in eligible
        ]
        submit_form.eligible_count = len(eligible)
        # Only when nobody is left: are there reviewers at all, or did they all contribute?
        submit_form.all_contributed = not eligible and services.organisation_reviewers(plan).exists()

    # Query 3 for an approved plan (none on the plan page, which loads the active version's
    # content): is its periodic review due, so that it can be re-confirmed unchanged?
    reconfirm_due = bool(
        authenticated and plan.status == Status.APPROVED and user.has_perm(services.PERM_SUBMIT)
        and contributors.reconfirmation_due(plan, version=cache.get("current_version"))
    )

    return {
        "plan": plan,
        "request": request,
        "current_version": current,
        "approved_version": approved,
        "drafting": drafting,
        "round_reviews": round_reviews,
        "round_version": round_version,
        "pending": pending,
        "changes_requested": changes_requested,
        "my_review": my_review,
        "can_submit": can_submit,
        "already_approved": already_approved,
        "submit_form": submit_form,
        "reconfirm_due": reconfirm_due,
        "can_withdraw": can_withdraw,
        "can_archive": can_archive,
        "can_restore": can_restore,
    }
