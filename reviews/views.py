"""Pages of the review workflow: submit, withdraw, my reviews, a review and its decision, archive, restore.

Thin views: they check access, call one service from reviews.services and redirect;
a refused request (ServiceError) becomes a form error or a message, never a 500.
"""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from bcp_site.errors import error_html
from bcp_site.text import display_name
from plans.diff import written_diff_html
from plans.models import Plan, PlanVersion
from plans.readiness import version_readiness
from plans.selectors import get_plan_for_user
from plans.services import ServiceError, plan_edit_refusal

from . import contributors, services
from .forms import RequestChangesForm, SubmitForReviewForm, default_reviewers, reviewer_suggestions
from .models import Review
from .permissions import review_decision_for

QUEUE_PAGE_SIZE = 25


def get_review_for_user(user, pk, *, perm: str | None = None) -> Review:
    """The review `pk` if it belongs to a plan of the user's organisation (else 404); 403 without `perm`."""
    try:
        review = (
            Review.objects.select_related("plan", "plan__template", "version", "reviewer_user", "requested_by_user")
            .filter(plan__in=Plan.objects.visible_to(user))
            .get(pk=pk)
        )
    except (Review.DoesNotExist, ValueError, TypeError):
        raise Http404("No review with that number exists in your organisation.") from None
    if perm and not user.has_perm(perm):
        raise PermissionDenied("Your role does not allow this action on reviews.")
    return review


@login_required
@require_http_methods(["GET", "POST"])
def submit(request, pk):
    """Choose reviewers and submit the plan's active version for review; for an approved plan whose
    review is due, re-confirm the approved version unchanged (a new review round of it)."""
    plan = get_plan_for_user(request.user, pk, perm=services.PERM_SUBMIT)
    approved = plan.status == Plan.Status.APPROVED
    service = services.plan_reconfirm if approved else services.plan_submit_for_review
    eligible = services.eligible_reviewers(plan, actor=request.user)
    version = plan.approved_version if approved else plan.current_version
    # The plan's default reviewers are preselected when they may review this revision (four eyes holds).
    preselected, left_out = default_reviewers(plan, eligible=eligible, version=version, actor=request.user,
                                              reviewers=services.organisation_reviewers(plan))
    form = SubmitForReviewForm(request.POST if request.method == "POST" else None, eligible=eligible,
                               org_id=plan.org_id, initial={"reviewers": preselected} if preselected else None)
    if request.method == "POST" and form.is_valid():
        try:
            reviews = service(plan=plan, actor=request.user, reviewers=form.cleaned_data["reviewers"])
        except ServiceError as exc:
            # Not ready: the summary here, the blockers in the checklist below it.
            form.add_error(None, getattr(exc, "summary", "") or exc.message)
        else:
            names = ", ".join(display_name(r.reviewer_user) for r in reviews)
            what = "for re-confirmation" if approved else "for review"
            messages.success(request, f"Submitted version {reviews[0].version.version_number} {what} by {names}.")
            return redirect(plan)
    suggestions, more_suggestions = reviewer_suggestions(eligible)
    context = {
        "plan": plan, "form": form, "suggestions": suggestions, "more_suggestions": more_suggestions,
        "preselected": preselected, "defaults_left_out": left_out,
        "readiness": version_readiness(version) if version is not None else None,
        "readiness_links": request.user.has_perm("plans.change_plan") and plan_edit_refusal(plan) is None,
        "reconfirm_due": approved and contributors.reconfirmation_due(plan),
        "reconfirm_on": contributors.reconfirmation_due_on(plan, plan.approved_version) if approved else None,
        "all_contributed": not suggestions and services.organisation_reviewers(plan).exists(),
    }
    return render(request, "reviews/submit.html", context)


def _plan_action(request, pk, *, perm, service, success):
    plan = get_plan_for_user(request.user, pk, perm=perm)
    try:
        service(plan=plan, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(plan)


@login_required
@require_POST
def withdraw(request, pk):
    return _plan_action(
        request, pk, perm=services.PERM_SUBMIT, service=services.plan_withdraw,
        success="Withdrawn from review: the plan is a draft again and can be changed.",
    )


@login_required
@require_POST
def archive(request, pk):
    return _plan_action(
        request, pk, perm=services.PERM_ARCHIVE, service=services.plan_archive,
        success="Archived. The approved version stays readable; restore the plan to work on it again.",
    )


@login_required
@require_POST
def restore(request, pk):
    return _plan_action(
        request, pk, perm=services.PERM_RESTORE, service=services.plan_restore,
        success="Restored: the plan is a draft again.",
    )


@login_required
def queue(request):
    """My reviews: pending ones first (oldest request first), then decided ones, paginated."""
    if not request.user.has_perm(services.PERM_APPROVE):
        raise PermissionDenied("Only reviewers have a review queue.")
    reviews = (
        Review.objects.filter(reviewer_user=request.user, plan__in=Plan.objects.visible_to(request.user))
        .select_related("plan", "version", "requested_by_user")
        .defer("version__content_json", "plan__draft_content_json")
        .annotate(
            open_first=Case(When(status=Review.Status.PENDING, then=Value(0)), default=Value(1),
                            output_field=IntegerField())
        )
        .order_by("open_first", "-requested_at_utc", "-id")
    )
    page = Paginator(reviews, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/queue.html", {"page": page, "reviews": page.object_list})


def _base_version(review: Review) -> tuple[PlanVersion | None, datetime | None]:
    """The last version approved before the reviewed one (None for a first approval), and, for a
    re-confirmation, when the reviewed version was first approved (else None). At most one query."""
    version = review.version
    first_approved = version.approved_at_utc
    if first_approved is not None and first_approved < review.requested_at_utc:
        return None, first_approved  # a re-confirmation shows the whole plan, as a first approval does
    base = (
        review.plan.versions.filter(version_number__lt=version.version_number, approved_at_utc__isnull=False)
        .order_by("-version_number").first()
    )
    return base, None


def _review_page(request, review: Review, *, changes_form=None, status=200):
    base, first_approved = _base_version(review)
    # Both sides are written versions: the rendered differences are cached (plans.diff).
    diff_html = written_diff_html(old=base, new=review.version, org_id=review.plan.org_id)
    round_reviews = (
        review.plan.reviews.filter(round_number=review.round_number).select_related("reviewer_user").order_by("id")
    )
    decision = review_decision_for(review, request.user)  # the same answer as the review admin's
    context = {
        "review": review,
        "plan": review.plan,
        "version": review.version,
        "base_version": base,
        "first_approved_at": first_approved,
        "decision_refused": decision.refused,
        "diff_html": diff_html,
        "round_reviews": round_reviews,
        "can_decide": decision.can_decide,
        "can_approve": decision.can_approve,
        "can_request_changes": decision.can_request_changes,
        "changes_form": changes_form or RequestChangesForm(),
    }
    return render(request, "reviews/review_detail.html", context, status=status)


@login_required
def review_detail(request, pk):
    """A review: what changed since the last approved version, and the decision forms for the reviewer."""
    review = get_review_for_user(request.user, pk, perm="reviews.view_review")
    return _review_page(request, review)


@login_required
@require_POST
def approve(request, pk):
    review = get_review_for_user(request.user, pk, perm=services.PERM_APPROVE)
    try:
        decided = services.review_approve(review=review, actor=request.user)
    except ServiceError as exc:
        messages.error(request, error_html(exc))  # a version not ready: its blockers as a list
        return redirect(review)
    decided.plan.refresh_from_db(fields=["status"])
    if decided.plan.status == Plan.Status.APPROVED:
        messages.success(request, f"Approved. Every reviewer has approved: version "
                                  f"{review.version.version_number} is now the approved plan.")
    else:
        messages.success(request, "Approved. The plan stays in review until every reviewer has approved it.")
    return redirect(review)


@login_required
@require_POST
def request_changes(request, pk):
    review = get_review_for_user(request.user, pk, perm=services.PERM_REQUEST_CHANGES)
    form = RequestChangesForm(request.POST)
    if not form.is_valid():
        return _review_page(request, review, changes_form=form)
    try:
        services.review_request_changes(review=review, actor=request.user, notes=form.cleaned_data["notes"])
    except ServiceError as exc:
        if exc.code == "notes_required":
            form.add_error("notes", exc.message)
            return _review_page(request, review, changes_form=form)
        messages.error(request, exc.message)
        return redirect(review)
    messages.success(request, "Changes requested. The plan is back in draft and the editor sees your notes.")
    return redirect(review)
