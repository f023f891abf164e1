"""The admin of plans and their rows: scoped to the user's organisation, writing only through services.

Every admin here derives from `plans.admin_scoping` (the organisation wall) and
`bcp_site.admin_base` (404s, history that is read-only unless opted in, service
errors shown on the form). Workflow actions and the acknowledgement column are added
by `reviews.admin`, which extends `PlanAdmin` (reviews sits above plans).
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from bcp_site.admin_base import recent_filter, search_box_filter
from templates_app.admin import TemplateAdmin
from templates_app.models import Template
from templates_app.schema import template_sections
from templates_app.values import display_value, reference_names

from . import services
from .admin_scoping import OrgScopedAdmin, OrgScopedHistoryAdmin, ScopedRawIdWidget, admin_organisation
from .attachments import ALLOWED, attachment_delete, plan_delete, plan_delete_refusal, plans_delete
from .change_forms import ChangeUploadForm
from .changes import changes_import
from .forms import ContactForm, ProcessForm, RiskForm
from .models import (
    Attachment,
    Audit,
    ChangeLogMap,
    ChangeRecord,
    Contact,
    Membership,
    Organisation,
    Plan,
    PlanVersion,
    Process,
    Risk,
)
from .selectors import organisation_members


class ReadOnlyAdminMixin:
    """Rows that are evidence or made by services only: visible, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuperuserOnlyWritesMixin:
    """Organisations and memberships: members read their own; only superusers create or change them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def content_html(template, content: dict, *, plan=None):
    """A version's or working copy's section values as readable HTML (labels and display text)."""
    sections = template_sections(template)
    contacts, users = reference_names(template, content or {}, plan=plan, sections=sections)
    blocks = []
    for section in sections:
        values = (content or {}).get(section["key"]) or {}
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>",
            ((field["label"], linebreaksbr(display_value(field, values.get(field["key"]), contacts=contacts,
                                                         users=users)))
             for field in section["fields"]),
        )
        blocks.append(format_html("<h4>{}</h4><table>{}</table>", section["title"], rows))
    return format_html_join("", "{}", ((block,) for block in blocks)) or "—"


def warn_if_locked(request, plan) -> None:
    """On opening a change page: say why the plan's data is shown read-only (the edit lock)."""
    refusal = services.plan_edit_refusal(plan) if plan is not None else None
    if refusal is not None and request.method == "GET":
        messages.warning(request, f"“{plan}”: {refusal.message}")


def snapshot_counts(content: dict) -> str:
    content = content or {}
    return ", ".join(f"{len(content.get(key) or [])} {key}" for key in ("contacts", "processes", "risks"))


# Filters on people, organisations and templates are search boxes, never a line per value
# (10,000 people, 100,000 plans); the organisation's box is for superusers (members have one).


def organisation_box(path: str):
    return search_box_filter(path, "organisation", match=("name",), placeholder="name or id", organisation=True)


def person_box(path: str, title: str):
    return search_box_filter(path, title, match=("username",), placeholder="username or id")


TEMPLATE_BOX = search_box_filter("template", "template", match=("name",), placeholder="name or id")


# --- organisations and people --------------------------------------------------------------


@admin.register(Organisation)
class OrganisationAdmin(SuperuserOnlyWritesMixin, OrgScopedAdmin):
    """Organisations; their people are listed (and paged) in the people admin, linked from here."""

    org_field = "pk"
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    ordering = ["name"]  # unique, so indexed
    fields = ["name", "people"]
    readonly_fields = ["people"]

    @admin.display(description="people")
    def people(self, obj):
        """How many people belong here (one indexed count), linked to the list of them."""
        if obj is None or obj.pk is None:
            return "—"
        count = obj.memberships.count()
        url = reverse("admin:auth_user_changelist") + "?" + urlencode({"membership__organisation": obj.pk})
        return format_html('<a href="{}">{} {}</a>', url, count, "person" if count == 1 else "people")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Who belongs where; people are added, moved and deactivated in the people admin (plans.people_admin)."""

    org_field = "organisation"
    list_display = ["user", "organisation", "created_at"]
    list_filter = [organisation_box("organisation")]
    search_fields = ["user__username", "user__email", "organisation__name"]
    list_select_related = ["user", "organisation"]
    ordering = ["-id"]  # newest first; the organisation's index holds (organisation, id)


# --- plans -------------------------------------------------------------------------------


class PlanAdminForm(forms.ModelForm):
    edit_revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    class Meta:
        model = Plan
        fields = ["title", "template", "owner_user"]


class VersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PlanVersion
    fields = ["version_number", "status", "authored_by_user", "authored_at_utc", "summary_change_note"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


def details_text(details) -> str:
    """Audit details as lines of "key: value" (a change as "old → new"), not raw JSON."""

    def shown(value, *, change: bool = False) -> str:
        if change and isinstance(value, list) and len(value) == 2:
            old, new = (shown(v) for v in value)
            return f"{old} → {new}"
        if isinstance(value, dict):
            return "; ".join(f"{key}: {shown(item, change=change)}" for key, item in value.items())
        if isinstance(value, list):
            return ", ".join(shown(item) for item in value) or "—"
        return "—" if value in (None, "") else str(value)

    if not isinstance(details, dict) or not details:
        return "—"
    return "\n".join(f"{key}: {shown(value, change=key == 'changes')}" for key, value in details.items())


AUDIT_ON_PLAN_ADMIN = 10


@admin.register(Plan)
class PlanAdmin(OrgScopedHistoryAdmin):
    """Plans: created with `plan_create`, renamed or re-owned with `plan_details_update`.

    Status, versions and approvals change only through the workflow (actions added by
    reviews.admin); the working copy is edited on the plan pages and shown here readably.
    """

    org_field = "org"
    form = PlanAdminForm
    list_display = ["title", "org", "status", "owner_user", "current_version", "approved_at_utc", "updated_at"]
    list_filter = ["status", "review_needed", organisation_box("org"), TEMPLATE_BOX, person_box("owner_user", "owner")]
    search_fields = ["title", "owner_user__username"]
    # Organisation and version are joined; the owner (never empty: an INNER JOIN) is fetched for the
    # page's rows instead, so MariaDB reads the plans in index order (bcp_site.admin_base.LimitedChangeList).
    list_select_related = ["org", "owner_user", "current_version"]
    # idx_bc_plan_org_updated for an organisation's plans, idx_bc_plan_updated across them (superusers).
    ordering = ["-updated_at", "-id"]
    raw_id_fields = ["owner_user"]
    inlines = [VersionInline]
    change_readonly_fields = [
        "org", "template", "status", "current_version", "approved_version", "approved_at_utc", "edit_revision_shown",
        # Stored plan facts (plans.plan_facts): kept by the services, never edited here.
        "next_review_due", "review_interval_months", "exercise_interval_months", "last_exercised_on", "review_needed",
        "changes_requested", "working_copy", "recent_audit", "created_at", "updated_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("draft_content_json")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["title", "template", "owner_user"]
        return ["title", "owner_user", "edit_revision", *self.get_readonly_fields(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else list(self.change_readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "edit_revision" in form_class.base_fields:
            field = form_class.base_fields["edit_revision"] = copy.deepcopy(form_class.base_fields["edit_revision"])
            field.initial = obj.edit_revision
        return form_class

    def current_revision(self, request, object_id):
        return Plan.objects.filter(pk=object_id).values_list("edit_revision", flat=True).first()

    def has_add_permission(self, request):
        # Plans are created inside the creator's organisation (decision 6: superusers too).
        return super().has_add_permission(request) and admin_organisation(request) is not None

    def has_change_permission(self, request, obj=None):
        if obj is not None and services.plan_edit_refusal(obj) is not None:
            return False  # shown read-only; the reason is on the plan page
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Plan.Status.IN_REVIEW:
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        warn_if_locked(request, self.get_object(request, object_id))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.plan_details_update(
                plan=obj, actor=request.user, expected_revision=data.get("edit_revision"),
                title=data["title"], owner=data["owner_user"],
            )
        else:
            plan = services.plan_create(
                organisation=admin_organisation(request), template=data["template"], title=data["title"],
                owner=data["owner_user"], actor=request.user,
            )
            obj.pk, obj.org = plan.pk, plan.org

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        refusal = plan_delete_refusal([obj.pk]) if obj is not None else None
        if refusal is not None:  # said before Django lists the incident's rows as "protected objects"
            return self.refused(request, f"Nothing was deleted. {refusal.message}", "change", object_id)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        plan_delete(plan=obj, actor=request.user)  # stored attachments and exports go after commit

    def delete_queryset(self, request, queryset):
        plans_delete(queryset=queryset, actor=request.user)

    @admin.display(description="edit revision")
    def edit_revision_shown(self, obj):
        return obj.edit_revision

    @admin.display(description="audit trail")
    def recent_audit(self, obj):
        """The latest entries (one query, whatever the trail's length) and a link to all of them."""
        rows = list(Audit.objects.filter(plan=obj).select_related("actor_user").order_by("-at_utc", "-id")
                    [:AUDIT_ON_PLAN_ADMIN])
        table = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f"{row.at_utc:%Y-%m-%d %H:%M}", row.action, row.actor_user or "system", linebreaksbr(details_text(
                row.details_json))) for row in rows),
        )
        link = reverse("changes:plan_audit", args=[obj.pk])
        return format_html('<table><thead><tr><th>at (UTC)</th><th>action</th><th>by</th><th>details</th></tr>'
                           '</thead><tbody>{}</tbody></table><p><a href="{}">The whole audit trail</a></p>',
                           table, link)

    @admin.display(description="working copy")
    def working_copy(self, obj):
        plan = Plan.objects.only("draft_content_json", "template").select_related("template").get(pk=obj.pk)
        return content_html(plan.template, plan.draft_content_json, plan=plan)


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdminMixin, OrgScopedHistoryAdmin):
    """Versions are history (invariant 2): made by saving a revision, never changed here."""

    list_display = ["plan", "version_number", "status", "authored_by_user", "authored_at_utc"]
    list_filter = ["status", organisation_box("plan__org")]
    search_fields = ["plan__title", "summary_change_note"]
    list_select_related = ["plan", "authored_by_user"]
    ordering = ["-id"]  # newest first, on the primary key ("plan" would sort by the plans' own order)
    fields = [
        "plan", "version_number", "status", "authored_by_user", "authored_at_utc", "summary_change_note",
        "approved_at_utc", "approval_round", "content", "snapshot",
        "pdf_export_hash", "docx_export_hash", "pdf_export_path", "docx_export_path",
    ]
    readonly_fields = fields

    @admin.display(description="content")
    def content(self, obj):
        return content_html(obj.template, obj.content_json)

    @admin.display(description="contacts, processes and risks")
    def snapshot(self, obj):
        return snapshot_counts(obj.content_json)


# --- contacts, processes and risks -----------------------------------------------------------


class PlanRowAdmin(OrgScopedHistoryAdmin):
    """Contacts, processes and risks: the page forms and the page services, so a row added here gets
    the same validation, rating, revision bump, audit and history as on the plan page.

    The plan is chosen when the row is added and never changes afterwards. History may be
    reverted (these rows are neither workflow nor evidence): that also saves through the service.
    """

    history_revert = True
    list_filter = [organisation_box("plan__org")]
    list_select_related = ["plan"]
    ordering = ["-id"]  # newest first, on the primary key (the model's "plan, name" sorts by joined plans)
    raw_id_fields = ["plan"]
    save_service = None  # e.g. services.contact_save
    delete_service = None
    id_kwarg = ""

    def get_readonly_fields(self, request, obj=None):
        return ["plan"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        # A copy: the declared field is shared with the page forms (EditRevisionForm) and other requests.
        field = form_class.base_fields["edit_revision"] = copy.deepcopy(form_class.base_fields["edit_revision"])
        if obj is not None:
            field.initial = obj.plan.edit_revision
        field.required = obj is not None
        return form_class

    def current_revision(self, request, object_id):
        return self.model.objects.filter(pk=object_id).values_list("plan__edit_revision", flat=True).first()

    def _locked(self, obj) -> bool:
        return obj is not None and services.plan_edit_refusal(obj.plan) is not None

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        warn_if_locked(request, self.get_object(request, object_id).plan)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        values = form.service_values() if hasattr(form, "service_values") else {
            field: form.cleaned_data.get(field) for field in form._meta.fields if field != "plan"
        }
        values.pop("plan", None)
        row = type(self).save_service(
            plan=obj.plan, actor=request.user, values=values,
            expected_revision=form.cleaned_data.get("edit_revision") if change else None,
            **{self.id_kwarg: obj.pk if change else None},
        )
        obj.pk = row.pk

    def delete_model(self, request, obj):
        type(self).delete_service(plan=obj.plan, actor=request.user, expected_revision=None,
                                  **{self.id_kwarg: obj.pk})

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # all or nothing: one locked plan refuses the whole selection
            for row in queryset.select_related("plan"):
                self.delete_model(request, row)


class ContactAdminForm(ContactForm):
    class Meta(ContactForm.Meta):
        fields = ["plan", *ContactForm.Meta.fields]


class ProcessAdminForm(ProcessForm):
    class Meta(ProcessForm.Meta):
        fields = ["plan", *ProcessForm.Meta.fields]

    owner_org_id = None  # the admin user's organisation, set by ProcessAdmin.get_form (for a new process)

    def __init__(self, *args, **kwargs):
        # The vendors offered are those of the plan's organisation (the admin user's, when adding).
        instance = kwargs.get("instance")
        org_id = instance.plan.org_id if instance is not None and instance.pk else self.owner_org_id
        super().__init__(*args, org_id=org_id, **kwargs)


class RiskAdminForm(RiskForm):
    class Meta(RiskForm.Meta):
        fields = ["plan", *RiskForm.Meta.fields]

    def __init__(self, *args, **kwargs):
        # Owners are members of the plan's organisation (the admin user's, when adding).
        instance = kwargs.get("instance")
        org_id = instance.plan.org_id if instance is not None and instance.pk else self.owner_org_id
        super().__init__(*args, members=organisation_members(org_id), **kwargs)
        field = self.fields.get("owner_user")
        if isinstance(field, forms.ModelChoiceField):  # an id box with a lookup, not a select of every member
            widget = ScopedRawIdWidget(Risk._meta.get_field("owner_user").remote_field, admin.site)
            widget.scope = field.queryset
            field.widget = widget

    def service_values(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in RiskForm.Meta.fields}


@admin.register(Contact)
class ContactAdmin(PlanRowAdmin):
    form = ContactAdminForm
    list_display = ["name", "role", "phone", "email", "plan"]
    search_fields = ["name", "role", "email", "plan__title"]
    save_service, delete_service, id_kwarg = services.contact_save, services.contact_delete, "contact_id"


@admin.register(Process)
class ProcessAdmin(PlanRowAdmin):
    form = ProcessAdminForm
    list_display = ["name", "plan", "rto_minutes", "rpo_minutes", "mtpd_minutes", "impact_rating"]
    list_filter = ["impact_rating", organisation_box("plan__org")]
    search_fields = ["name", "description", "plan__title"]
    save_service, delete_service, id_kwarg = services.process_save, services.process_delete, "process_id"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        org = admin_organisation(request)
        form_class.owner_org_id = org.pk if org is not None else None
        return form_class

    @admin.display(description="vendors it depends on")
    def depends_on_vendors(self, obj):
        """Shown when the form is read-only (the plan is in review or archived)."""
        return ", ".join(link.vendor.name for link in obj.vendor_links.select_related("vendor")) or "—"


@admin.register(Risk)
class RiskAdmin(PlanRowAdmin):
    form = RiskAdminForm
    list_display = ["threat", "plan", "likelihood", "impact", "rating", "owner_user"]
    list_filter = ["rating", "likelihood", "impact", person_box("owner_user", "owner"), organisation_box("plan__org")]
    search_fields = ["threat", "mitigation", "plan__title"]
    list_select_related = ["plan", "owner_user"]
    save_service, delete_service, id_kwarg = services.risk_save, services.risk_delete, "risk_id"

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "rating"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        org = admin_organisation(request)
        form_class.owner_org_id = org.pk if org is not None else None
        return form_class


# --- files, audit and changes ------------------------------------------------------------


class ContentTypeFilter(admin.SimpleListFilter):
    """The accepted file types (a fixed list), not a DISTINCT over every attachment."""

    title = "content type"
    parameter_name = "content_type"

    def lookups(self, request, model_admin):
        return [(value, value) for value in sorted({kind.content_type for kind in ALLOWED.values()})]

    def queryset(self, request, queryset):
        return queryset.filter(content_type=self.value()) if self.value() else queryset


@admin.register(Attachment)
class AttachmentAdmin(OrgScopedAdmin):
    """Attachments are uploaded on the plan page (type, size and hash checks); here they are read or deleted."""

    list_display = ["file_name", "plan", "size_bytes", "uploaded_by_user", "uploaded_at_utc", "hash"]
    list_filter = [organisation_box("plan__org"), ContentTypeFilter]
    search_fields = ["file_name", "plan__title", "hash"]
    list_select_related = ["plan", "uploaded_by_user"]
    ordering = ["-id"]  # newest first, on the primary key
    readonly_fields = [
        "plan", "file_name", "storage_path", "content_type", "size_bytes", "uploaded_by_user", "uploaded_at_utc",
        "hash",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the record describes stored bytes; nothing about it may be edited

    def has_delete_permission(self, request, obj=None):
        locked = obj is not None and services.plan_edit_refusal(obj.plan) is not None  # the edit lock
        return not locked and super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        attachment_delete(attachment=obj, actor=request.user)  # audited; the file goes after commit

    def delete_queryset(self, request, queryset):
        for attachment in queryset.select_related("plan"):
            self.delete_model(request, attachment)


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    org_field = "org"
    list_display = ["at_utc", "action", "plan", "actor_user"]
    list_filter = [
        recent_filter("at_utc", "time"), search_box_filter("action", "action", placeholder="e.g. plan_created"),
        person_box("actor_user", "actor"), organisation_box("org"),
    ]
    search_fields = ["action", "plan__title", "actor_user__username"]
    list_select_related = ["plan", "actor_user"]
    ordering = ["-at_utc", "-id"]  # idx_bc_audit_org_at for an organisation, idx_bc_audit_at across them
    fields = ["at_utc", "org", "plan", "action", "actor_user", "details"]
    readonly_fields = fields

    @admin.display(description="details")
    def details(self, obj):
        return linebreaksbr(details_text(obj.details_json))


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Imported changes, read-only; new ones come from change files (upload view or `import_changes`).

    Members see changes linked to their organisation's plans, and link uploads only to those plans.
    """

    list_display = ["guid", "occurred_at_utc", "change_type", "summary", "hash_mismatch", "imported_at_utc"]
    list_filter = [
        recent_filter("occurred_at_utc", "occurred"), search_box_filter("change_type", "type"), "hash_mismatch",
    ]
    search_fields = ["guid", "summary"]
    readonly_fields = [f.name for f in ChangeRecord._meta.fields]
    ordering = ["-occurred_at_utc", "-id"]  # idx_bc_change_occurred

    def filter_to_organisation(self, queryset, org):
        return queryset.filter(pk__in=ChangeLogMap.objects.filter(plan__org=org).values("change_id"))

    def has_upload_permission(self, request) -> bool:
        return request.user.has_perm("plans.add_changerecord") and admin_organisation(request) is not None

    def get_urls(self):
        upload = path(
            "upload/", self.admin_site.admin_view(self.upload_view), name="plans_changerecord_upload",
        )
        return [upload, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_upload": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def upload_view(self, request):
        """Upload one change file or a zip of them; the same importer as `manage.py import_changes`."""
        if not self.has_upload_permission(request):
            raise PermissionDenied
        form = ChangeUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            report = changes_import(
                files=form.cleaned_data["file"], plan=form.cleaned_data["plan"],
                strict=form.cleaned_data["strict"], actor=request.user,
            )
            shown = 20
            for line in report.errors[:shown]:
                self.message_user(request, f"Error: {line}", messages.ERROR)
            for line in report.warnings[:shown]:
                self.message_user(request, f"Warning: {line}", messages.WARNING)
            hidden = max(len(report.errors) - shown, 0) + max(len(report.warnings) - shown, 0)
            if hidden:
                self.message_user(request, f"... and {hidden} more line(s) not shown.", messages.WARNING)
            self.message_user(request, report.summary(), messages.SUCCESS if report.ok else messages.WARNING)
            return redirect("admin:plans_changerecord_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upload change files",
            "form": form,
        }
        return TemplateResponse(request, "admin/plans/changerecord/upload.html", context)


@admin.register(ChangeLogMap)
class ChangeLogMapAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Links between changes and plans, made by the importer; read-only."""

    list_display = ["change_guid", "plan", "imported_at_utc"]
    list_filter = [organisation_box("plan__org")]
    search_fields = ["change_guid", "plan__title"]
    list_select_related = ["plan"]
    readonly_fields = ["plan", "change_guid", "change", "imported_at_utc"]
    ordering = ["-id"]  # newest first, on the primary key


# --- templates: the organisation a BCP Admin manages templates for ---------------------------


class OrgTemplateAdmin(TemplateAdmin):
    """The template admin, told which organisation the person belongs to (templates_app cannot know)."""

    def manager_org_id(self, request):
        org = admin_organisation(request)
        return org.pk if org is not None else None


admin.site.unregister(Template)
admin.site.register(Template, OrgTemplateAdmin)

from . import outbox_admin  # noqa

from . import issued_admin  # noqa: E402, F401 - issued files (and the task queue), read-only
from . import exercise_admin  # noqa: E402, F401 - exercises (read-only) and findings (through plans.findings)
from . import incident_admin  # noqa: E402, F401 - incidents and their timeline, read-only
from . import vendor_admin  # noqa: E402, F401 - vendors, resources and collaborators (through their services)
