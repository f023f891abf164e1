"""What every admin of this product shares, whatever app it belongs to.

`BaseAdmin` is the root of every ModelAdmin here (organisation walls are added on top of
it in `plans.admin_scoping`). It makes three promises:

- **404, not a redirect, for what you may not see.** Django answers a missing (or
  out-of-scope) object with a redirect to the admin index; here it is a 404 page, the
  same answer the site pages give. Ids that are not numbers, or too large for the
  database, are missing objects too.
- **Actions refuse foreign ids.** An action posted with an id outside `get_queryset`
  (another organisation's row, a deleted row, garbage) changes nothing and says so.
- **History is for reading.** django-simple-history's revert view saves on any POST from
  someone who may *view* history; here it refuses (403) unless the admin opts in with
  `history_revert = True`, and then it needs the change permission and saves through
  `save_model` (which the admins route through the services).

Admins whose writes go through a service raise `ServiceError` from `save_model` /
`delete_model`: the form is shown again with the message and the person's input
(`ServiceFormMixin`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from .errors import ServiceError

NOT_FOUND = "No such record exists, or it belongs to another organisation."
HISTORY_READ_ONLY = (
    "History is for reading: {what} records belong to the workflow or are evidence, so they are never "
    "reverted from history. Make a new change instead."
)


class ServiceFormMixin:
    """Show a service's refusal next to the form, keeping the input, instead of a server error.

    `changeform_view` runs in a transaction; when `save_model` raises `ServiceError`
    the transaction is rolled back and the view runs again with the error attached to
    the form. A conflict (someone saved since the form was opened) also moves the
    form's revision marker (`revision_field`) forward, as the pages do: pressing Save
    again replaces the other edit with this input, knowingly.
    """

    revision_field = "edit_revision"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            request._bcp_service_error = exc
            if exc.code == "conflict" and self.revision_field in request.POST:
                data = request.POST.copy()
                data[self.revision_field] = str(self.current_revision(request, object_id))
                request.POST = data
            return super().changeform_view(request, object_id, form_url, extra_context)

    def current_revision(self, request, object_id) -> int | None:
        """The revision a re-shown form carries after a conflict (admins whose forms carry one)."""
        return None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_bcp_service_error", None)
        if error is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned = super().clean()
                raise ValidationError(error.message, code=error.code)
                return cleaned  # pragma: no cover

        return RefusedForm

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Nothing was deleted. {exc.message}", messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except ServiceError as exc:  # an action's service refused (delete_selected, ...)
            self.message_user(request, f"Nothing was done. {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class BaseAdmin(ServiceFormMixin, admin.ModelAdmin):
    """The root admin: 404 for missing objects, actions that refuse ids outside the queryset,
    service refusals shown on the form."""

    show_full_result_count = False

    def get_object(self, request, object_id, from_field=None):
        try:
            obj = super().get_object(request, object_id, from_field)
        except OverflowError:  # an id beyond what SQLite can hold
            obj = None
        if obj is None:
            raise Http404(NOT_FOUND)
        return obj

    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if selected and request.POST.get("select_across") != "1":
            wanted = set(selected)
            try:
                found = queryset.filter(pk__in=wanted).count()
            except (ValueError, TypeError, ValidationError, OverflowError):
                found = -1
            if found != len(wanted):
                self.message_user(
                    request,
                    "Nothing was done: some of the selected items do not exist or belong to another organisation.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class HistoryAdmin(SimpleHistoryAdmin, BaseAdmin):
    """simple-history's history pages, scoped like the admin, with reverting off unless opted in."""

    history_revert = False  # True only for rows that are neither workflow state nor evidence

    def history_view(self, request, object_id, extra_context=None):
        if not request.user.is_superuser:
            # The object must be inside this admin's queryset (the organisation wall);
            # a deleted object's history is for superusers only.
            self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if not self.history_revert:
            raise PermissionDenied(HISTORY_READ_ONLY.format(what=self.model._meta.verbose_name))
        if not self.has_change_permission(request, obj):
            raise PermissionDenied("Reverting needs permission to change this record.")
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except ServiceError as exc:
            self.message_user(request, f"Nothing was reverted. {exc.message}", messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[object_id])
            )

    def revert_disabled(self, request, obj=None):
        return not self.history_revert or not self.has_change_permission(request, obj)
