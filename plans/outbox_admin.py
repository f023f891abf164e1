"""The outbox in the admin: every email the product sent or will send, read-only, with a retry action.

Rows are written by `plans.outbox` only. A failed or given-up mail is sent again only when
someone asks: the "Send again" action calls `plans.outbox.notifications_retry` (audited).
Registered from plans/admin.py.
"""

from __future__ import annotations

from django.contrib import admin, messages

from bcp_site.admin_base import recent_filter

from .admin import ReadOnlyAdminMixin, organisation_box, person_box
from .admin_scoping import OrgScopedAdmin
from .models import Notification
from .outbox import notification_status_text, notifications_retry


@admin.action(description="Send the selected failed or given-up emails again", permissions=["retry"])
def retry_notifications(modeladmin, request, queryset):
    chosen = queryset.count()
    count = notifications_retry(notifications=queryset, actor=request.user)
    if count:
        modeladmin.message_user(request, f"{count} email(s) queued to be sent again.", messages.SUCCESS)
    if count < chosen:
        modeladmin.message_user(
            request, "Only failed or given-up emails are sent again; the others were left as they are.",
            messages.WARNING,
        )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    org_field = "org"
    list_display = ["created_at_utc", "kind", "to_address", "plan", "version_number", "status", "attempts",
                    "sent_at_utc", "outcome"]
    list_filter = [
        recent_filter("created_at_utc", "queued"), "status", "kind", person_box("recipient_user", "recipient"),
        organisation_box("org"),
    ]
    search_fields = ["to_address", "recipient_user__username", "plan__title", "message_id"]
    list_select_related = ["plan", "recipient_user"]
    ordering = ["-created_at_utc", "-id"]  # idx_bc_notification_org_time within an organisation
    actions = [retry_notifications]
    fields = [
        "kind", "recipient_user", "to_address", "org", "plan", "version_number", "status", "outcome", "attempts",
        "last_error", "created_at_utc", "next_attempt_at_utc", "claimed_at_utc", "sent_at_utc", "message_id",
        "dedupe_key",
    ]
    readonly_fields = fields

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("plans.change_notification")

    @admin.display(description="outcome")
    def outcome(self, obj):
        return notification_status_text(obj.status, obj.last_error, what="email")
