from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from plans.admin import ReadOnlyAdminMixin

from .models import Ack, AckNotice, PlanDistribution, Review


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin):
    list_display = ["plan", "version", "round_number", "reviewer_user", "status", "requested_at_utc", "decided_at_utc"]
    list_filter = ["status", "plan__org"]
    search_fields = ["plan__title", "reviewer_user__username", "notes"]
    list_select_related = ["plan", "version", "reviewer_user"]
    readonly_fields = [
        "plan", "version", "round_number", "requested_by_user", "reviewer_user", "status", "requested_at_utc",
        "decided_at_utc", "notes",
    ]
    actions = []

    def has_add_permission(self, request):
        return False  # reviews are created by submitting a plan


@admin.register(Ack)
class AckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["plan", "user", "ack_version_number", "ack_at_utc"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "user__email"]
    list_select_related = ["plan", "user"]


@admin.register(AckNotice)
class AckNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["plan", "user", "version_number", "kind", "sent_at_utc"]
    list_filter = ["kind", "plan__org"]
    search_fields = ["plan__title", "user__username"]
    list_select_related = ["plan", "user"]


@admin.register(PlanDistribution)
class PlanDistributionAdmin(admin.ModelAdmin):
    list_display = ["plan", "user", "group"]
    list_filter = ["plan__org"]
    search_fields = ["plan__title", "user__username", "group__name"]
    list_select_related = ["plan", "user", "group"]
    raw_id_fields = ["plan", "user"]
