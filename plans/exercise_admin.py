"""Exercises and findings in the admin: scoped to the user's organisation, writing only through services.

Exercises are planned, held, recorded and reported on the plan pages (`plans.exercise_views`); here
they are read, with their results and findings shown readably. Findings are changed through
`plans.findings.finding_update` (the form) and their risk accepted with the action, which asks
for the reason on a confirmation page and needs `plans.accept_risk_finding`. Nobody adds or deletes
either here, and history is for reading (workflow state and evidence).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bcp_site.text import display_name

from .admin import ReadOnlyAdminMixin, organisation_box, person_box
from .admin_scoping import OrgScopedHistoryAdmin
from .exercise_forms import AcceptRiskForm
from .exercises import exercise_recoveries
from .findings import PERM_ACCEPT_RISK, finding_accept_risk, finding_update
from .models import Exercise, Finding
from .services import ServiceError


class DueFilter(admin.SimpleListFilter):
    """Open findings past their due date (idx_bc_finding_status_due)."""

    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue (open, due date passed)"), ("open", "Open")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(status__in=Finding.OPEN_STATUSES, due_on__lt=timezone.localdate())
        if self.value() == "open":
            return queryset.filter(status__in=Finding.OPEN_STATUSES)
        return queryset


def _table(headers: list[str], rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join("", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),)
                                                for row in rows))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


@admin.register(Exercise)
class ExerciseAdmin(ReadOnlyAdminMixin, OrgScopedHistoryAdmin):
    """Exercises, read-only: they are planned, held and reported on the plan pages, through plans.exercises."""

    org_field = "plan__org"
    list_display = ["title", "plan", "exercise_type", "status", "scheduled_on", "held_on"]
    list_filter = ["status", "exercise_type", organisation_box("plan__org")]
    search_fields = ["title", "plan__title"]
    list_select_related = ["plan"]
    ordering = ["-id"]  # newest first, on the primary key
    fields = [
        "plan", "version_number", "title", "exercise_type", "status", "scheduled_on", "held_on", "facilitator_user",
        "participants", "external_participants", "scenario", "summary", "results", "recovery_times", "findings",
        "created_by_user", "created_at_utc", "reported_at_utc", "page",
    ]
    readonly_fields = fields

    @admin.display(description="version exercised")
    def version_number(self, obj):
        return f"Version {obj.version.version_number}"

    @admin.display(description="participants")
    def participants(self, obj):
        return ", ".join(display_name(row.user) for row in obj.participant_rows.select_related("user")) or "—"

    @admin.display(description="objectives and results")
    def results(self, obj):
        rows = [(o.text, o.get_result_display() or "not recorded", o.notes)
                for o in obj.objectives.order_by("position")]
        return _table(["Objective", "Result", "Notes"], rows) if rows else "—"

    @admin.display(description="recovery times (against the version exercised)")
    def recovery_times(self, obj):
        rows = [(r.name, r.rto, r.mtpd, r.achieved, r.outcome_label) for r in exercise_recoveries(obj)]
        return _table(["Critical process", "RTO", "MTPD", "Achieved", "Outcome"], rows) if rows else "—"

    @admin.display(description="findings")
    def findings(self, obj):
        rows = [(format_html('<a href="{}">{}</a>', reverse("admin:plans_finding_change", args=[f.pk]), f),
                 f.get_severity_display(), f.get_status_display(), f"{f.due_on:%d %b %Y}")
                for f in obj.findings.order_by("id")]
        return _table(["Finding", "Severity", "Status", "Due"], rows) if rows else "—"

    @admin.display(description="on the site")
    def page(self, obj):
        return format_html('<a href="{}">The exercise page</a>', obj.get_absolute_url())


class FindingAdminForm(forms.ModelForm):
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in (Finding.Status.OPEN, Finding.Status.IN_PROGRESS, Finding.Status.DONE)],
        help_text="Accepting the risk is an action of the findings list (BCP Admins, with a reason).",
    )

    class Meta:
        model = Finding
        fields = ["description", "severity", "owner_user", "due_on", "status"]


@admin.action(description="Accept the risk of the selected findings (asks for the reason)", permissions=["accept_risk"])
def accept_risk(modeladmin, request, queryset):
    """Ask for the reason on an intermediate page, then accept the risk of each selected finding."""
    if "apply" in request.POST:
        form = AcceptRiskForm(request.POST)
        if form.is_valid():
            for finding in queryset:
                try:
                    finding_accept_risk(finding=finding, actor=request.user, reason=form.cleaned_data["reason"])
                except ServiceError as exc:
                    modeladmin.message_user(request, f"{finding}: not done. {exc.message}", messages.ERROR)
                else:
                    modeladmin.message_user(request, f"{finding}: risk accepted.", messages.SUCCESS)
            return None
    else:
        form = AcceptRiskForm()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Accept the risk",
        "objects": list(queryset),
        "form": form,
        "opts": modeladmin.model._meta,
        "action_name": "accept_risk",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "plans/exercises/admin/accept_risk.html", context)


@admin.register(Finding)
class FindingAdmin(OrgScopedHistoryAdmin):
    """Findings: changed with `finding_update` (the page's service), their risk accepted with the action.

    Raised from an exercise or an incident's review on their pages; never added or deleted here. A
    finding that is done or whose risk is accepted is read-only.
    """

    org_field = "plan__org"
    form = FindingAdminForm
    actions = [accept_risk]
    list_display = ["__str__", "plan", "severity", "status", "owner_user", "due_on"]
    list_filter = [DueFilter, "status", "severity", person_box("owner_user", "owner"), organisation_box("plan__org")]
    search_fields = ["description", "plan__title"]
    list_select_related = ["plan", "owner_user"]
    ordering = ["-id"]  # newest first, on the primary key
    raw_id_fields = ["owner_user"]
    readonly_fields = ["plan", "source_kind", "exercise", "incident",
                       "raised_by_user", "raised_at_utc", "addressed_by", "closed_at_utc",
                       "closed_by_version", "risk_accepted_by_user", "risk_accepted_reason"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.is_open) and super().has_change_permission(request, obj)

    def has_accept_risk_permission(self, request) -> bool:
        return request.user.has_perm(PERM_ACCEPT_RISK)

    @admin.display(description="addressed by")
    def addressed_by(self, obj):
        numbers = [f"version {t.version.version_number}" for t in obj.ticks.select_related("version")
                   .defer("version__content_json").order_by("version__version_number")]
        return ", ".join(numbers) or "no revision yet"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        finding_update(finding=obj, actor=request.user, description=data["description"], severity=data["severity"],
                       owner=data["owner_user"], due_on=data["due_on"], status=data["status"])
