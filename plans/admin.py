from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

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


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = ["title", "org", "status", "owner_user", "current_version", "approved_at_utc", "updated_at"]
    list_filter = ["status", "org", "template"]
    search_fields = ["title", "owner_user__username"]
    list_select_related = ["org", "owner_user", "current_version", "template"]
    readonly_fields = [
        "status", "current_version", "approved_version", "approved_at_utc", "edit_revision", "created_at", "updated_at",
    ]
    raw_id_fields = ["owner_user"]
    inlines = [VersionInline, AuditInline]
    actions = []


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


class PlanChildAdmin(SimpleHistoryAdmin):
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


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at_utc", "action", "plan", "actor_user"]
    list_filter = ["action", "plan__org"]
    search_fields = ["action", "plan__title", "actor_user__username"]
    list_select_related = ["plan", "actor_user"]
    date_hierarchy = "at_utc"


@admin.register(ChangeRecord)
class ChangeRecordAdmin(admin.ModelAdmin):
    list_display = ["guid", "occurred_at_utc", "change_type", "summary", "hash_mismatch", "imported_at_utc"]
    list_filter = ["change_type", "hash_mismatch"]
    search_fields = ["guid", "summary"]
    readonly_fields = [f.name for f in ChangeRecord._meta.fields]


@admin.register(ChangeLogMap)
class ChangeLogMapAdmin(admin.ModelAdmin):
    list_display = ["change_guid", "plan", "imported_at_utc"]
    list_filter = ["plan__org"]
    search_fields = ["change_guid", "plan__title"]
    list_select_related = ["plan"]
    readonly_fields = ["plan", "change_guid", "change", "imported_at_utc"]
