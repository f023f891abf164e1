"""The admin of reviews, acknowledgements and distributions, and the workflow on the plan admin.

Reviewers work here. Every admin is scoped to the user's organisation (`plans.admin_scoping`)
and writes only through the services: decisions through the actions (reviews.admin_actions),
distribution rows through `reviews.acks`.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from plans.admin import PlanAdmin, ReadOnlyAdminMixin
from plans.admin_scoping import OrgScopedAdmin, OrgScopedHistoryAdmin
from plans.models import Plan

from . import acks
from .admin_actions import PLAN_ACTIONS, REVIEW_ACTIONS, MyPendingReviewsFilter, WorkflowPermissionsMixin
from .models import Ack, AckNotice, PlanDistribution, Review


def ack_coverage_admin_link(plan) -> str:
    """"12 of 20 (60%) acknowledged vN", linked to the admin coverage view."""
    from django.urls import reverse
    from django.utils.html import format_html

    if plan is None or plan.pk is None:
        return "-"
    coverage = acks.ack_coverage(plan)
    if coverage.version_number is None:
        return coverage.summary()
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:reviews_ack_coverage", args=[plan.pk]), coverage.summary()
    )


class PlanWorkflowAdmin(WorkflowPermissionsMixin, PlanAdmin):
    """The plan admin with the workflow actions and acknowledgement coverage (reviews extends plans)."""

    actions = PLAN_ACTIONS  # approve, request changes, archive, restore
    change_readonly_fields = [*PlanAdmin.change_readonly_fields, "ack_coverage"]

    @admin.display(description="acknowledgements")
    def ack_coverage(self, obj):
        return ack_coverage_admin_link(obj)


admin.site.unregister(Plan)
admin.site.register(Plan, PlanWorkflowAdmin)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, WorkflowPermissionsMixin, OrgScopedHistoryAdmin):
    """Reviews are read-only rows; decisions are made with the actions (the same services as the pages)."""

    list_display = ["plan", "version", "round_number", "reviewer_user", "status", "requested_at_utc", "decided_at_utc"]
    list_filter = [MyPendingReviewsFilter, "status", "plan__org"]
    search_fields = ["plan__title", "reviewer_user__username", "notes"]
    list_select_related = ["plan", "version", "reviewer_user"]
    ordering = ["-requested_at_utc", "-id"]
    readonly_fields = [
        "plan", "version", "round_number", "requested_by_user", "reviewer_user", "status", "requested_at_utc",
        "decided_at_utc", "notes",
    ]
    actions = REVIEW_ACTIONS


@admin.register(Ack)
class AckAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Acknowledgements are evidence: read-only. The coverage view shows who is outstanding for a plan."""

    list_display = ["plan", "user", "ack_version_number", "ack_at_utc"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "user__email"]
    list_select_related = ["plan", "user"]
    date_hierarchy = "ack_at_utc"
    ordering = ["-ack_at_utc", "-id"]

    def get_urls(self):
        from django.urls import path

        coverage = path(
            "coverage/<id:plan_id>/", self.admin_site.admin_view(self.coverage_view), name="reviews_ack_coverage"
        )
        return [coverage, *super().get_urls()]

    def coverage_view(self, request, plan_id):
        """Who on the distribution acknowledged the plan's approved version, and who is outstanding."""
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import get_object_or_404
        from django.template.response import TemplateResponse

        if not self.has_view_permission(request):
            raise PermissionDenied
        plans = self.admin_site._registry[Plan].get_queryset(request)
        plan = get_object_or_404(plans.select_related("approved_version"), pk=plan_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Acknowledgements of {plan}",
            "plan": plan,
            "coverage": acks.ack_coverage(plan),
        }
        return TemplateResponse(request, "reviews/ack/admin_coverage.html", context)


@admin.register(AckNotice)
class AckNoticeAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    list_display = ["plan", "user", "version_number", "kind", "sent_at_utc"]
    list_filter = ["kind", "plan__org"]
    search_fields = ["plan__title", "user__username"]
    list_select_related = ["plan", "user"]
    date_hierarchy = "sent_at_utc"
    ordering = ["-sent_at_utc", "-id"]


class PlanDistributionForm(forms.ModelForm):
    class Meta:
        model = PlanDistribution
        fields = ["plan", "user", "group"]

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("user")) == bool(cleaned.get("group")):
            raise ValidationError("Choose a person or a group (one of them).", code="user_xor_group")
        return cleaned


@admin.register(PlanDistribution)
class PlanDistributionAdmin(OrgScopedAdmin):
    """Distribution rows; the plan page's distribution form (acks:distribution_edit) is the usual way to edit.

    Rows are added or removed through `reviews.acks` (membership checks, audit); a row is never changed.
    """

    form = PlanDistributionForm
    list_display = ["plan", "user", "group"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "group__name"]
    list_select_related = ["plan", "user", "group"]
    raw_id_fields = ["plan", "user"]
    ordering = ["plan", "id"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        acks.distribution_add(plan=obj.plan, actor=request.user, user=obj.user, group=obj.group)
        saved = PlanDistribution.objects.filter(plan=obj.plan, user=obj.user, group=obj.group).first()
        obj.pk = saved.pk if saved is not None else None

    def delete_model(self, request, obj):
        acks.distribution_remove(row=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for row in queryset.select_related("plan"):
            self.delete_model(request, row)
