from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from plans.admin import ReadOnlyAdminMixin

from .admin_actions import REVIEW_ACTIONS, MyPendingReviewsFilter, WorkflowPermissionsMixin
from .models import Ack, AckNotice, PlanDistribution, Review


@admin.register(Review)
class ReviewAdmin(WorkflowPermissionsMixin, SimpleHistoryAdmin):
    """Reviews are read-only rows; decisions are made with the actions (the same service as the pages)."""

    list_display = ["plan", "version", "round_number", "reviewer_user", "status", "requested_at_utc", "decided_at_utc"]
    list_filter = [MyPendingReviewsFilter, "status", "plan__org"]
    search_fields = ["plan__title", "reviewer_user__username", "notes"]
    list_select_related = ["plan", "version", "reviewer_user"]
    readonly_fields = [
        "plan", "version", "round_number", "requested_by_user", "reviewer_user", "status", "requested_at_utc",
        "decided_at_utc", "notes",
    ]
    actions = REVIEW_ACTIONS

    def has_add_permission(self, request):
        return False  # reviews are created by submitting a plan

    def has_delete_permission(self, request, obj=None):
        return False  # reviews are evidence of the workflow


def _ack_visible_plans(request):
    """Plans whose acknowledgements the admin user may see: all for superusers, else their organisation's."""
    from plans.models import Plan

    return Plan.objects.all() if request.user.is_superuser else Plan.objects.visible_to(request.user)


def ack_coverage_admin_link(plan) -> str:
    """"12 of 20 (60%) acknowledged vN", linked to the admin coverage view (used by PlanAdmin)."""
    from django.urls import reverse
    from django.utils.html import format_html

    from .acks import ack_coverage

    if plan is None or plan.pk is None:
        return "-"
    coverage = ack_coverage(plan)
    if coverage.version_number is None:
        return coverage.summary()
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:reviews_ack_coverage", args=[plan.pk]), coverage.summary()
    )


@admin.register(Ack)
class AckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Acknowledgements are evidence: read-only. The coverage view shows who is outstanding for a plan."""

    list_display = ["plan", "user", "ack_version_number", "ack_at_utc"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "user__email"]
    list_select_related = ["plan", "user"]
    date_hierarchy = "ack_at_utc"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(plan__in=_ack_visible_plans(request))

    def get_urls(self):
        from django.urls import path

        coverage = path(
            "coverage/<int:plan_id>/", self.admin_site.admin_view(self.coverage_view), name="reviews_ack_coverage"
        )
        return [coverage, *super().get_urls()]

    def coverage_view(self, request, plan_id):
        """Who on the distribution acknowledged the plan's approved version, and who is outstanding."""
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import get_object_or_404
        from django.template.response import TemplateResponse

        from .acks import ack_coverage

        if not self.has_view_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(_ack_visible_plans(request).select_related("approved_version"), pk=plan_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Acknowledgements of {plan}",
            "plan": plan,
            "coverage": ack_coverage(plan),
        }
        return TemplateResponse(request, "reviews/ack/admin_coverage.html", context)


@admin.register(AckNotice)
class AckNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["plan", "user", "version_number", "kind", "sent_at_utc"]
    list_filter = ["kind", "plan__org"]
    search_fields = ["plan__title", "user__username"]
    list_select_related = ["plan", "user"]
    date_hierarchy = "sent_at_utc"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(plan__in=_ack_visible_plans(request))


@admin.register(PlanDistribution)
class PlanDistributionAdmin(admin.ModelAdmin):
    """Distribution rows; the plan page's distribution form (acks:distribution_edit) is the usual way to edit."""

    list_display = ["plan", "user", "group"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "group__name"]
    list_select_related = ["plan", "user", "group"]
    raw_id_fields = ["plan", "user"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(plan__in=_ack_visible_plans(request))

    def _audit(self, request, obj, change: str) -> None:
        from plans.services import audit_record

        audit_record(
            plan=obj.plan, actor=request.user, action="distribution_changed",
            details={change: str(obj), "via": "admin"},
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "changed" if change else "added")

    def delete_model(self, request, obj):
        self._audit(request, obj, "removed")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("plan", "user", "group"):
            self.delete_model(request, obj)
