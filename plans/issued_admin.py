"""Issued files in the admin: read-only (append-only evidence), scoped to the user's organisation.

Rows are written by `plans.exports.issued` when a file is first stored, and never changed:
nobody adds, changes or deletes one here. Also registers the task queue's admin
(`bcp_site.tasks_admin`, superusers only).
"""

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from bcp_site import tasks_admin  # noqa: F401 - registers the background-task queue's admin

from .admin_scoping import OrgScopedAdmin
from .models import IssuedFile


@admin.register(IssuedFile)
class IssuedFileAdmin(OrgScopedAdmin):
    """Every file the product issued, with its marking and SHA-256 (what `verify_export` checks against)."""

    org_field = "org"
    list_display = ["issued_at_utc", "plan", "version_number", "kind", "marking", "sha256", "size", "issued_by_user"]
    list_filter = ["kind", "marking"]
    search_fields = ["=sha256"]  # a whole hash, through idx_bc_issued_file_sha256
    search_help_text = "The whole SHA-256 of a file (64 hexadecimal characters)."
    list_select_related = ["plan", "version", "issued_by_user"]
    ordering = ["-issued_at_utc", "-id"]  # idx_bc_issued_file_org_at for one organisation
    fields = [
        "kind", "plan", "version", "marking", "sha256", "storage_path", "size", "issued_at_utc", "issued_by_user",
    ]
    readonly_fields = fields

    @admin.display(description="version", ordering="version__version_number")
    def version_number(self, obj):
        return obj.version.version_number if obj.version_id else "—"

    @admin.display(description="size")
    def size(self, obj):
        return filesizeformat(obj.size_bytes)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
