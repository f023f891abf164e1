"""The admin of reviews, acknowledgements and distributions, and the workflow on the plan admin.

Reviewers work here. Every admin is scoped to the user's organisation (`plans.admin_scoping`)
and writes only through the services: decisions through the actions (reviews.admin_actions) or
the review change page's Approve / Request changes, distribution rows through `reviews.distribution`.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from bcp_site.admin_base import recent_filter
from plans.admin import PlanAdmin, ReadOnlyAdminMixin, organisation_box
from plans.admin_scoping import OrgScopedAdmin, OrgScopedHistoryAdmin
from plans.models import Plan
from plans.services import ServiceError

from . import admin_actions, distribution, services
from .ack_coverage import ack_coverage
from .admin_actions import PLAN_ACTIONS, REVIEW_ACTIONS, MyPendingReviewsFilter, WorkflowPermissionsMixin
from .forms import RequestChangesForm
from .models import Ack, PlanDistribution, Review
from .permissions import review_decision_for


def ack_coverage_admin_link(plan) -> str:
    """"12 of 20 (60%) acknowledged vN", linked to the admin coverage view."""
    from django.urls import reverse
    from django.utils.html import format_html

    if plan is None or plan.pk is None:
        return "-"
    coverage = ack_coverage(plan)
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


# The review change page stays readable for a 200-process plan: a diff entry with more changes
# than this is collapsed, and only its first DIFF_ROWS_SHOWN changes are listed here.
DIFF_OPEN_UP_TO = 10
DIFF_ROWS_SHOWN = 25


def admin_diff(diff: list[dict]) -> list[dict]:
    """`plans.diff.version_diff` entries with what the admin page shows: `open`, `shown`, `hidden`."""
    return [
        {**entry, "open": len(entry["changes"]) <= DIFF_OPEN_UP_TO, "shown": entry["changes"][:DIFF_ROWS_SHOWN],
         "hidden": max(0, len(entry["changes"]) - DIFF_ROWS_SHOWN)}
        for entry in diff
    ]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, WorkflowPermissionsMixin, OrgScopedHistoryAdmin):
    """Reviews are read-only rows. The change page is where a reviewer decides: the plan, what
    changed, the round, and Approve / Request changes (`approve_view`, `request_changes_view`),
    which call the same services as the actions and the review page."""

    list_display = ["plan_version", "round_number", "reviewer_user", "status_badge", "requested", "decided"]
    list_filter = [MyPendingReviewsFilter, "status", organisation_box("plan__org")]
    search_fields = ["plan__title", "reviewer_user__username", "notes"]
    list_select_related = ["plan", "version", "reviewer_user"]
    ordering = ["-requested_at_utc", "-id"]  # idx_bc_review_requested; a reviewer's queue: idx_bc_review_reviewer
    readonly_fields = [
        "plan", "version", "round_number", "requested_by_user", "reviewer_user", "status", "requested_at_utc",
        "decided_at_utc", "notes",
    ]
    actions = REVIEW_ACTIONS
    change_form_template = "admin/reviews/review/change_form.html"

    @admin.display(description="plan", ordering="plan__title")
    def plan_version(self, obj):
        return f"{obj.plan.title} v{obj.version.version_number}"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        from django.utils.html import format_html

        return format_html('<span class="review-badge review-badge-{}">{}</span>', obj.status,
                           obj.get_status_display())

    @admin.display(description="requested", ordering="requested_at_utc")
    def requested(self, obj):
        return date_format(localtime(obj.requested_at_utc), "j M Y")

    @admin.display(description="decided", ordering="decided_at_utc")
    def decided(self, obj):
        return date_format(localtime(obj.decided_at_utc), "j M Y") if obj.decided_at_utc else "-"

    def get_urls(self):
        from django.urls import path

        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/approve/", view(self.approve_view), name="reviews_review_approve"),
            path("<path:object_id>/request-changes/", view(self.request_changes_view),
                 name="reviews_review_request_changes"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        review = self.get_object(request, unquote(object_id))  # 404 outside the organisation wall
        return super().change_view(request, object_id, form_url,
                                   {**(extra_context or {}), **self.decision_context(request, review)})

    def decision_context(self, request, review: Review) -> dict:
        """The plan summary, the diff against the last approved version, the round, who may decide."""
        from plans.diff import version_diff

        from .views import _base_version  # the review page's rule for the version to compare with

        base, first_approved = _base_version(review)
        diff = version_diff(review.version.template, base.content_json if base else {}, review.version.content_json,
                            org_id=review.plan.org_id)
        decision = review_decision_for(review, request.user)  # the same answer as the review page's
        return {
            "review": review,
            "plan": review.plan,
            "version": review.version,
            "base_version": base,
            "first_approved_at": first_approved,
            "diff": admin_diff(diff),
            "round_reviews": review.plan.reviews.filter(round_number=review.round_number)
            .select_related("reviewer_user").order_by("id"),
            "decision_refused": decision.refused,
            "can_approve": decision.can_approve,
            "can_request_changes": decision.can_request_changes,
            "changes_form": RequestChangesForm(),
        }

    def _change_page(self, review: Review):
        return HttpResponseRedirect(reverse("admin:reviews_review_change", args=[review.pk]))

    def approve_view(self, request, object_id):
        """GET: the confirmation page; POST with `confirm`: approve (`services.review_approve`)."""
        review = self.get_object(request, unquote(object_id))
        if not self.has_approve_permission(request):
            raise PermissionDenied("Your role does not allow approving plans.")
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            admin_actions.approve_items(self, request, [review], lambda obj: obj)
            return self._change_page(review)
        return admin_actions.approve_confirmation(
            self, request, [review], lambda obj: obj,
            cancel_url=reverse("admin:reviews_review_change", args=[review.pk]),
        )

    def request_changes_view(self, request, object_id):
        """POST the notes: request changes (`services.review_request_changes`), back to the change page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        review = self.get_object(request, unquote(object_id))
        if not self.has_request_changes_permission(request):
            raise PermissionDenied("Your role does not allow requesting changes to plans.")
        form = RequestChangesForm(request.POST)
        if not form.is_valid():
            for error in form.errors.get("notes", []):
                self.message_user(request, f"Nothing was done. {error}", messages.ERROR)
            return self._change_page(review)
        try:
            services.review_request_changes(review=review, actor=request.user, notes=form.cleaned_data["notes"])
        except ServiceError as exc:
            self.message_user(request, f"Nothing was done. {exc.message}", messages.ERROR)
        else:
            self.message_user(request, "Changes requested. The plan is back in draft and the editor sees your notes.",
                              messages.SUCCESS)
        return self._change_page(review)


@admin.register(Ack)
class AckAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Acknowledgements are evidence: read-only. The coverage view shows who is outstanding for a plan."""

    list_display = ["plan", "user", "ack_version_number", "ack_at_utc"]
    list_filter = [recent_filter("ack_at_utc", "time"), organisation_box("plan__org")]
    search_fields = ["plan__title", "user__username", "user__email"]
    list_select_related = ["plan", "user"]
    ordering = ["-ack_at_utc", "-id"]  # idx_bc_ack_at

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
            "coverage": ack_coverage(plan),
        }
        return TemplateResponse(request, "reviews/ack/admin_coverage.html", context)


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

    Rows are added or removed through `reviews.distribution` (membership checks, audit); a row is never changed.
    """

    form = PlanDistributionForm
    list_display = ["plan", "user", "group"]
    list_filter = [organisation_box("plan__org")]
    search_fields = ["plan__title", "user__username", "group__name"]
    list_select_related = ["plan", "user", "group"]
    raw_id_fields = ["plan", "user"]
    ordering = ["-id"]  # newest first, on the primary key ("plan" would sort by the plans' own order)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        distribution.distribution_add(plan=obj.plan, actor=request.user, user=obj.user, group=obj.group)
        saved = PlanDistribution.objects.filter(plan=obj.plan, user=obj.user, group=obj.group).first()
        obj.pk = saved.pk if saved is not None else None

    def delete_model(self, request, obj):
        distribution.distribution_remove(row=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for row in queryset.select_related("plan"):
            self.delete_model(request, row)


# Read-only admins of their own modules: KPI snapshots and report requests.
from . import kpi_admin, report_admin  # noqa: E402, F401
