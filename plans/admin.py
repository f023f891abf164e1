from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from reviews.admin_actions import PLAN_ACTIONS, PlanChildEditLockMixin, PlanEditLockMixin, WorkflowPermissionsMixin

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


class ReadOnlyAdminMixin:
    """Rows that are evidence: visible, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "created_at"]
    list_filter = ["organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["user"]


class VersionInline(admin.TabularInline):
    model = PlanVersion
    fields = ["version_number", "status", "authored_by_user", "authored_at_utc", "summary_change_note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class AuditInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Audit
    fields = ["at_utc", "action", "actor_user", "details_json"]
    readonly_fields = fields
    extra = 0
    ordering = ["-at_utc", "-id"]


class PlanStoredFilesMixin:
    """Plan deletion through plans.attachments: stored attachments and exports are removed after commit.

    Last before the ModelAdmin base, so the checks of the mixins before it still run first.
    """

    def delete_model(self, request, obj):
        from .attachments import plan_delete

        plan_delete(plan=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        from .attachments import plans_delete

        plans_delete(queryset=queryset, actor=request.user)


@admin.register(Plan)
class PlanAdmin(WorkflowPermissionsMixin, PlanEditLockMixin, PlanStoredFilesMixin, SimpleHistoryAdmin):
    list_display = ["title", "org", "status", "owner_user", "current_version", "approved_at_utc", "updated_at"]
    list_filter = ["status", "org", "template"]
    search_fields = ["title", "owner_user__username"]
    list_select_related = ["org", "owner_user", "current_version", "template"]
    readonly_fields = [
        "status", "current_version", "approved_version", "approved_at_utc", "edit_revision", "created_at", "updated_at",
        "ack_coverage",
    ]
    raw_id_fields = ["owner_user"]
    inlines = [VersionInline, AuditInline]
    actions = PLAN_ACTIONS  # reviews.admin_actions: approve, request changes, archive, restore

    @admin.display(description="acknowledgements")
    def ack_coverage(self, obj):
        from reviews.admin import ack_coverage_admin_link  # acknowledgement feature

        return ack_coverage_admin_link(obj)


@admin.register(PlanVersion)
class PlanVersionAdmin(SimpleHistoryAdmin):
    list_display = ["plan", "version_number", "status", "authored_by_user", "authored_at_utc"]
    list_filter = ["status", "plan__org"]
    search_fields = ["plan__title", "summary_change_note"]
    list_select_related = ["plan", "authored_by_user"]
    readonly_fields = [
        "plan", "version_number", "status", "authored_by_user", "authored_at_utc", "summary_change_note",
        "content_json", "pdf_export_hash", "docx_export_hash", "pdf_export_path", "docx_export_path",
    ]

    def has_add_permission(self, request):
        return False  # versions are made by saving a revision, never by hand


class PlanChildAdmin(PlanChildEditLockMixin, SimpleHistoryAdmin):
    list_filter = ["plan__org"]
    list_select_related = ["plan"]
    raw_id_fields = ["plan"]


@admin.register(Contact)
class ContactAdmin(PlanChildAdmin):
    list_display = ["name", "role", "phone", "email", "plan"]
    search_fields = ["name", "role", "email", "plan__title"]


@admin.register(Process)
class ProcessAdmin(PlanChildAdmin):
    list_display = ["name", "plan", "rto_minutes", "rpo_minutes", "mtpd_minutes", "impact_rating"]
    list_filter = ["impact_rating", "plan__org"]
    search_fields = ["name", "description", "plan__title"]


@admin.register(Risk)
class RiskAdmin(PlanChildAdmin):
    list_display = ["threat", "plan", "likelihood", "impact", "rating", "owner_user"]
    list_filter = ["rating", "likelihood", "impact", "plan__org"]
    search_fields = ["threat", "mitigation", "plan__title"]
    list_select_related = ["plan", "owner_user"]
    readonly_fields = ["rating"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["file_name", "plan", "size_bytes", "uploaded_by_user", "uploaded_at_utc", "hash"]
    list_filter = ["plan__org", "content_type"]
    search_fields = ["file_name", "plan__title", "hash"]
    list_select_related = ["plan", "uploaded_by_user"]
    readonly_fields = [
        "plan", "file_name", "storage_path", "content_type", "size_bytes", "uploaded_by_user", "uploaded_at_utc",
        "hash",
    ]

    def has_add_permission(self, request):
        return False  # uploads go through the plan page, which checks type, size and hash

    def has_change_permission(self, request, obj=None):
        return False  # the record describes stored bytes; nothing about it may be edited

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(plan__in=Plan.objects.visible_to(request.user))

    def delete_model(self, request, obj):
        from .attachments import attachment_delete

        attachment_delete(attachment=obj, actor=request.user)  # audited; the file goes after commit

    def delete_queryset(self, request, queryset):
        from .attachments import attachment_delete

        for attachment in queryset.select_related("plan"):
            attachment_delete(attachment=attachment, actor=request.user)


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at_utc", "action", "plan", "actor_user"]
    list_filter = ["action", "plan__org"]
    search_fields = ["action", "plan__title", "actor_user__username"]
    list_select_related = ["plan", "actor_user"]
    date_hierarchy = "at_utc"


@admin.register(ChangeRecord)
class ChangeRecordAdmin(admin.ModelAdmin):
    """Imported changes, read-only; new ones come from change files (upload view or `import_changes`).

    Staff who are not superusers see only changes linked to their organisation's plans,
    and can link uploads only to those plans.
    """

    list_display = ["guid", "occurred_at_utc", "change_type", "summary", "hash_mismatch", "imported_at_utc"]
    list_filter = ["change_type", "hash_mismatch"]
    search_fields = ["guid", "summary"]
    readonly_fields = [f.name for f in ChangeRecord._meta.fields]
    date_hierarchy = "occurred_at_utc"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        from .selectors import organisation_for

        org = organisation_for(request.user)
        return qs.filter(plan_links__plan__org=org).distinct() if org else qs.none()

    def has_add_permission(self, request):
        return False  # records come from change files only: see the upload view

    def has_change_permission(self, request, obj=None):
        return False

    def has_upload_permission(self, request) -> bool:
        return request.user.has_perm("plans.add_changerecord")

    def get_urls(self):
        from django.urls import path

        upload = path(
            "upload/", self.admin_site.admin_view(self.upload_view), name="plans_changerecord_upload",
        )
        return [upload, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_upload": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def upload_view(self, request):
        """Upload one change file or a zip of them; the same importer as `manage.py import_changes`."""
        from django.contrib import messages
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import redirect
        from django.template.response import TemplateResponse

        from .change_forms import ChangeUploadForm
        from .changes import changes_import

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
class ChangeLogMapAdmin(admin.ModelAdmin):
    list_display = ["change_guid", "plan", "imported_at_utc"]
    list_filter = ["plan__org"]
    search_fields = ["change_guid", "plan__title"]
    list_select_related = ["plan"]
    readonly_fields = ["plan", "change_guid", "change", "imported_at_utc"]
