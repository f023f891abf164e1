"""The background-task queue in the admin: superusers only, read-only, with the queue's health on top.

The queue holds every organisation's work (task arguments name plans and people), so only
superusers see it (decision 6); nobody adds, changes or deletes a task here. The list is
django_tasks_db's own (database backend); the health summary above it reads whichever backend
runs (`bcp_site.tasks_support.queue_health`): waiting tasks and the oldest one's age, running
and failed tasks, and the latest failures.

Imported by `plans.issued_admin` (bcp_site is not an installed app, so it has no admin module
of its own that the admin would discover).
"""

from django.contrib import admin
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .admin_base import BaseAdmin
from .tasks_support import queue_health


class TaskResultAdmin(BaseAdmin, DBTaskResultAdmin):
    """django_tasks_db's task list, for superusers only, with the queue's health above it."""

    change_list_template = "admin/tasks/change_list.html"
    list_select_related = False
    list_per_page = 50

    def _superuser(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_module_permission(self, request):
        return self._superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._superuser(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if self._superuser(request) else queryset.none()

    def changelist_view(self, request, extra_context=None):
        if self._superuser(request):
            extra_context = {**(extra_context or {}), "queue_health": queue_health()}
        return super().changelist_view(request, extra_context)


if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, TaskResultAdmin)
