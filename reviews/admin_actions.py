"""Workflow in the Django admin: actions on plans and reviews.

The actions call reviews.services (the same functions as the pages), one object at a
time, and report per object what happened or why it was refused. Each is gated by a
permission (`@admin.action(permissions=[...])`) checked by the `has_<perm>_permission`
methods of `WorkflowPermissionsMixin`. The querysets they receive are already scoped to
the user's organisation (`plans.admin_scoping`). The edit lock lives in
`plans.services.plan_edit_refusal`, which the plan admins ask.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from plans.models import Plan
from plans.services import ServiceError

from . import distribution, services
from .forms import RequestChangesForm
from .models import Review

# --- permissions -------------------------------------------------------------------------


class WorkflowPermissionsMixin:
    """`has_<perm>_permission` methods that gate the workflow actions."""

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm(services.PERM_APPROVE)

    def has_request_changes_permission(self, request) -> bool:
        return request.user.has_perm(services.PERM_REQUEST_CHANGES)

    def has_archive_permission(self, request) -> bool:
        return request.user.has_perm(services.PERM_ARCHIVE)

    def has_restore_permission(self, request) -> bool:
        return request.user.has_perm(services.PERM_RESTORE)


# --- actions -----------------------------------------------------------------------------


def _report(modeladmin, request, obj, error: ServiceError | None, done: str = "") -> None:
    if error is None:
        modeladmin.message_user(request, f"{obj}: {done}", messages.SUCCESS)
    else:
        modeladmin.message_user(request, f"{obj}: not done. {error.message}", messages.ERROR)


def approval_outcome(review: Review) -> str:
    """What approving `review` leads to, in words (two queries; three for a final approval)."""
    statuses = dict(review.plan.reviews.filter(round_number=review.round_number).values_list("pk", "status"))
    approved = sum(1 for pk, status in statuses.items() if status == Review.Status.APPROVED or pk == review.pk)
    number = review.version.version_number
    if approved < len(statuses):
        verb = "has" if approved == 1 else "have"
        return f"{approved} of {len(statuses)} reviewers {verb} approved; the plan stays in review."
    if review.plan.approved_version_id == review.version_id:
        return f"version {number} is re-confirmed: it stays the approved plan, with a new approval date."
    people = distribution.distribution_users(review.plan).count()
    return (f"version {number} becomes the approved plan; {people} {'person' if people == 1 else 'people'} "
            "will be asked to acknowledge it.")


def approve_confirmation(modeladmin, request, items, resolve, *, action_name: str = "", cancel_url: str = ""):
    """The intermediate page of an approval (like Django's delete_selected): what will follow, then "Yes, approve".

    Posted from an action (`action_name`: the page posts the action again with `confirm`) or
    from a review's change page (`action_name` empty: the page posts to its own URL).
    """
    rows = []
    for obj in items:
        try:
            review = resolve(obj)
        except ServiceError as exc:
            rows.append({"obj": obj, "refused": exc.message})
            continue
        if review.reviewer_user_id != request.user.pk or review.status != Review.Status.PENDING:
            rows.append({"obj": obj, "refused": "This is not your pending review: nothing will be done."})
        else:
            rows.append({"obj": obj, "outcome": approval_outcome(review)})
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Approve: are you sure?",
        "rows": rows,
        "decidable": any("outcome" in row for row in rows),
        "opts": opts,
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "cancel_url": cancel_url,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/reviews/approve_confirmation.html", context)


def approve_items(modeladmin, request, items, resolve) -> None:
    for obj in items:
        try:
            review = resolve(obj)
            decided = services.review_approve(review=review, actor=request.user)
        except ServiceError as exc:
            _report(modeladmin, request, obj, exc)
            continue
        plan = Plan.objects.only("status").get(pk=decided.plan_id)
        if plan.status == Plan.Status.APPROVED:
            number = decided.version.version_number
            done = f"approved; every reviewer has approved, so version {number} is now approved."
        else:
            done = "your approval is recorded; the plan stays in review until every reviewer has approved."
        _report(modeladmin, request, obj, None, done)


def _request_changes(modeladmin, request, queryset, resolve, action_name: str):
    """Ask for the notes on an intermediate page, then request changes on each selected object."""
    if "apply" in request.POST:
        form = RequestChangesForm(request.POST)
        if form.is_valid():
            for obj in queryset:
                try:
                    review = resolve(obj)
                    services.review_request_changes(review=review, actor=request.user, notes=form.cleaned_data["notes"])
                except ServiceError as exc:
                    _report(modeladmin, request, obj, exc)
                else:
                    _report(modeladmin, request, obj, None, "changes requested; the plan is back in draft.")
            return None
    else:
        form = RequestChangesForm()
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Request changes",
        "objects": list(queryset),
        "form": form,
        "opts": opts,
        "action_name": action_name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + forms.Media(),
    }
    return TemplateResponse(request, "admin/reviews/request_changes.html", context)


def _my_pending_review(request):
    return lambda plan: services.plan_pending_review_for(plan=plan, actor=request.user)


@admin.action(description="Approve (your pending review of the selected plans)", permissions=["approve"])
def approve_plans(modeladmin, request, queryset):
    if request.POST.get("confirm") != "yes":
        return approve_confirmation(modeladmin, request, queryset, _my_pending_review(request),
                                    action_name="approve_plans")
    approve_items(modeladmin, request, queryset, _my_pending_review(request))


@admin.action(description="Request changes (asks for notes)", permissions=["request_changes"])
def request_changes_plans(modeladmin, request, queryset):
    return _request_changes(modeladmin, request, queryset, _my_pending_review(request), "request_changes_plans")


@admin.action(description="Approve the selected reviews", permissions=["approve"])
def approve_reviews(modeladmin, request, queryset):
    queryset = queryset.select_related("plan", "version")
    if request.POST.get("confirm") != "yes":
        return approve_confirmation(modeladmin, request, queryset, lambda review: review,
                                    action_name="approve_reviews")
    approve_items(modeladmin, request, queryset, lambda review: review)


@admin.action(description="Request changes on the selected reviews (asks for notes)", permissions=["request_changes"])
def request_changes_reviews(modeladmin, request, queryset):
    return _request_changes(
        modeladmin, request, queryset.select_related("plan", "version"), lambda review: review,
        "request_changes_reviews",
    )


@admin.action(description="Archive the selected approved plans", permissions=["archive"])
def archive_plans(modeladmin, request, queryset):
    for plan in queryset:
        try:
            services.plan_archive(plan=plan, actor=request.user)
        except ServiceError as exc:
            _report(modeladmin, request, plan, exc)
        else:
            _report(modeladmin, request, plan, None, "archived.")


@admin.action(description="Restore the selected archived plans to draft", permissions=["restore"])
def restore_plans(modeladmin, request, queryset):
    for plan in queryset:
        try:
            services.plan_restore(plan=plan, actor=request.user)
        except ServiceError as exc:
            _report(modeladmin, request, plan, exc)
        else:
            _report(modeladmin, request, plan, None, "restored to draft.")


PLAN_ACTIONS = [approve_plans, request_changes_plans, archive_plans, restore_plans]
REVIEW_ACTIONS = [approve_reviews, request_changes_reviews]


class MyPendingReviewsFilter(admin.SimpleListFilter):
    """Reviews assigned to the person looking: pending ones (where a reviewer's list opens), all of
    theirs, or everyone's ("All", where the list opens for people who do not review)."""

    title = "assigned to me"
    parameter_name = "mine"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.default = "pending" if request.user.has_perm(services.PERM_APPROVE) else "everyone"

    def value(self):
        return super().value() or self.default

    def lookups(self, request, model_admin):
        return [("pending", "My pending reviews"), ("all", "All my reviews"), ("everyone", "All")]

    def choices(self, changelist):
        # No "clear" choice: without the parameter the list shows the default, so "All" is a value.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(reviewer_user=request.user, status=Review.Status.PENDING)
        if self.value() == "all":
            return queryset.filter(reviewer_user=request.user)
        return queryset
