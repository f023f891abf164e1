"""Workflow in the Django admin: actions on plans and reviews, and the edit lock.

The actions call reviews.services (the same functions as the pages), one object at a
time, and report per object what happened or why it was refused. Each is gated by a
permission (`@admin.action(permissions=[...])`) checked by the `has_<perm>_permission`
methods of `WorkflowPermissionsMixin`.

The edit lock: while a plan is in review its contacts, processes and risks cannot be
added, changed or deleted here, nor the plan itself changed or deleted
(`PlanEditLockMixin`, `PlanChildEditLockMixin`). Child edits go through
`plans.services.plan_prepare_edit`, as the pages do, so an approved plan starts a new
revision and an archived plan is refused too.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse

from plans.models import Plan
from plans.services import ServiceError, audit_record, plan_prepare_edit

from . import services
from .forms import RequestChangesForm
from .models import Review

IN_REVIEW_MESSAGE = (
    "“{plan}” is in review, so it cannot be changed here. Withdraw it from review, or wait for the "
    "reviewers' decision."
)


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


def _approve(modeladmin, request, items, resolve) -> None:
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
    _approve(modeladmin, request, queryset, _my_pending_review(request))


@admin.action(description="Request changes (asks for notes)", permissions=["request_changes"])
def request_changes_plans(modeladmin, request, queryset):
    return _request_changes(modeladmin, request, queryset, _my_pending_review(request), "request_changes_plans")


@admin.action(description="Approve the selected reviews", permissions=["approve"])
def approve_reviews(modeladmin, request, queryset):
    _approve(modeladmin, request, queryset.select_related("plan", "version"), lambda review: review)


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
    """Reviews assigned to the person looking: pending ones, or all of them."""

    title = "assigned to me"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("pending", "My pending reviews"), ("all", "All my reviews")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(reviewer_user=request.user, status=Review.Status.PENDING)
        if self.value() == "all":
            return queryset.filter(reviewer_user=request.user)
        return queryset


# --- edit lock ---------------------------------------------------------------------------


class PlanEditLockMixin:
    """For PlanAdmin: a plan in review cannot be changed or deleted here."""

    def _locked(self, obj) -> bool:
        return obj is not None and obj.status == Plan.Status.IN_REVIEW

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = Plan.objects.filter(pk=unquote(object_id)).only("title", "status").first()
        if self._locked(obj) and request.method == "GET":
            messages.warning(request, IN_REVIEW_MESSAGE.format(plan=obj.title))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            with transaction.atomic():
                current = Plan.objects.select_for_update().only("status").get(pk=obj.pk)
                if current.status == Plan.Status.IN_REVIEW:
                    raise PermissionDenied(IN_REVIEW_MESSAGE.format(plan=obj.title))
                super().save_model(request, obj, form, change)
        else:
            super().save_model(request, obj, form, change)

    def delete_queryset(self, request, queryset):
        locked = [p.title for p in queryset if p.status == Plan.Status.IN_REVIEW]
        if locked:
            raise PermissionDenied(IN_REVIEW_MESSAGE.format(plan="”, “".join(locked)))
        super().delete_queryset(request, queryset)


class PlanChildEditLockForm(forms.ModelForm):
    """Refuses a new or moved contact/process/risk on a plan that cannot change now."""

    def clean(self):
        cleaned = super().clean()
        plan = cleaned.get("plan") or getattr(self.instance, "plan", None)
        if plan is not None and plan.status in (Plan.Status.IN_REVIEW, Plan.Status.ARCHIVED):
            state = "in review" if plan.status == Plan.Status.IN_REVIEW else "archived"
            raise forms.ValidationError(
                f"“{plan}” is {state}, so its contacts, processes and risks cannot be changed. "
                + ("Withdraw it from review, or wait for the reviewers' decision." if state == "in review"
                   else "Restore it first."),
                code="plan_locked",
            )
        return cleaned


class PlanChildEditLockMixin:
    """For Contact/Process/Risk admins: changes go through plan_prepare_edit, like the pages."""

    form = PlanChildEditLockForm

    def _locked(self, obj) -> bool:
        return obj is not None and obj.plan.status in (Plan.Status.IN_REVIEW, Plan.Status.ARCHIVED)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.model.objects.select_related("plan").filter(pk=unquote(object_id)).first()
        if self._locked(obj) and request.method == "GET":
            state = "in review" if obj.plan.status == Plan.Status.IN_REVIEW else "archived"
            messages.warning(request, f"“{obj.plan}” is {state}, so this {self.model._meta.verbose_name} "
                                      "cannot be changed or deleted.")
        return super().change_view(request, object_id, form_url, extra_context)

    def _prepare(self, request, plan_ids, *, action: str, label: str) -> None:
        """Lock each plan, check it may change (approved -> draft), bump its edit revision, audit."""
        kind = self.model._meta.model_name
        for plan_id in sorted(pid for pid in plan_ids if pid):
            plan = Plan.objects.select_for_update().get(pk=plan_id)
            try:
                plan_prepare_edit(plan=plan, actor=request.user)
            except ServiceError as exc:
                raise PermissionDenied(exc.message) from None
            plan.edit_revision += 1
            plan.save(update_fields=["edit_revision", "updated_at"])
            audit_record(plan=plan, actor=request.user, action=f"{kind}_{action}",
                         details={kind: label, "via": "admin"})

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            plan_ids = {obj.plan_id}
            if change:
                plan_ids |= set(self.model.objects.filter(pk=obj.pk).values_list("plan_id", flat=True))
            self._prepare(request, plan_ids, action="changed" if change else "added", label=str(obj))
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._prepare(request, {obj.plan_id}, action="removed", label=str(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            rows = list(queryset.select_related("plan"))
            for row in rows:
                if row.plan.status in (Plan.Status.IN_REVIEW, Plan.Status.ARCHIVED):
                    raise PermissionDenied(f"“{row.plan}” is {row.plan.get_status_display().lower()}, so "
                                           f"“{row}” cannot be deleted.")
            self._prepare(request, {row.plan_id for row in rows}, action="removed",
                          label=", ".join(str(r) for r in rows))
            super().delete_queryset(request, queryset)
