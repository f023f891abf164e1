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

- **A double click adds once.** Every add form carries a one-time token (rendered by
  `templates/admin/change_form.html`); the add is recorded with it, and the same POST sent
  again adds nothing and goes where the first one went ("This was already saved"). An add
  POST without a token (a script, an old form) still works, without that protection. The
  tokens are a hook (`register_submission_guard`): this shared layer imports no app, and the
  app that keeps the token table registers them (`plans.submissions`, which has the rules).
  With none registered, add forms carry no token and save as Django's do.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Protocol

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from .errors import ServiceError
from .limits import datetime_problem

NOT_FOUND = "No such record exists, or it belongs to another organisation."
HISTORY_READ_ONLY = (
    "History is for reading: {what} records belong to the workflow or are evidence, so they are never "
    "reverted from history. Make a new change instead."
)


class SubmissionGuard(Protocol):
    """The one-time tokens of the admin's add forms, as `BaseAdmin` uses them (see `register_submission_guard`)."""

    field_name: str  # the hidden field's name in an add form's POST

    def form(self, *, posted: str) -> forms.Form:
        """The hidden token field to render: the posted token when well formed (a form shown again
        after an error keeps it: that POST saved nothing), else a new one."""

    def once(self, request, *, token: str, write: Callable[[], HttpResponse]) -> HttpResponse:
        """Run `write` (the add view) at most once per person and token, and return its response.

        A redirect from `write` means it saved: its URL is recorded with the token in the same
        transaction. A repeat of the token by the same person writes nothing and returns a
        redirect to that URL. May raise `ServiceError` (someone else posted the token at the
        same instant: nothing was saved).
        """


_submission_guard: SubmissionGuard | None = None


def register_submission_guard(guard: SubmissionGuard | None) -> None:
    """Make `BaseAdmin`'s add forms one-time with `guard` (an app's `AppConfig.ready` calls this once)."""
    global _submission_guard
    _submission_guard = guard


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
                super().clean()
                raise ValidationError(error.message, code=error.code)

        return RefusedForm

    def refused(self, request, message: str, view: str, object_id):
        """Say why a service refused, and go back to this object's `view` page ("change", "history")."""
        self.message_user(request, message, messages.ERROR)
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[object_id]))

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            return self.refused(request, f"Nothing was deleted. {exc.message}", "change", object_id)

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except ServiceError as exc:  # an action's service refused (delete_selected, ...)
            self.message_user(request, f"Nothing was done. {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class LimitedChangeList(ChangeList):
    """Filters at the edge of the calendar are refused like any unusable lookup (the list shows "?e=1").

    Django's date hierarchy computes the end of year 9999 (ValueError) or of its last day
    (OverflowError), and a bound that cannot be converted to UTC fails only when the query runs.
    """

    def get_filters(self, request):
        try:
            result = super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        for values in result[2].values():  # the lookups left for the queryset, e.g. the hierarchy's bounds
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, datetime.datetime) and datetime_problem(value):
                    raise IncorrectLookupParameters(f"{value} is out of range")
        return result


class BaseAdmin(ServiceFormMixin, admin.ModelAdmin):
    """The root admin: 404 for missing objects, actions that refuse ids outside the queryset,
    service refusals shown on the form, add forms that a double click submits once."""

    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return LimitedChangeList

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """An add POST with a token runs once: a repeat goes to the first POST's result."""
        guard = _submission_guard
        adding = guard is not None and request.method == "POST" and object_id is None
        token = request.POST.get(guard.field_name, "") if adding else ""
        if not token:
            return super().changeform_view(request, object_id, form_url, extra_context)

        def add() -> HttpResponse:
            return super(BaseAdmin, self).changeform_view(request, object_id, form_url, extra_context)

        try:
            return guard.once(request, token=token, write=add)
        except ServiceError as exc:  # the same token posted by someone else at the same instant
            self.message_user(request, f"Nothing was saved. {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        guard = _submission_guard
        if add and guard is not None:
            posted = request.POST.get(guard.field_name, "") if request.method == "POST" else ""
            context["submission_form"] = guard.form(posted=posted)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

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
        else:
            try:  # an id that is not one (4,400 digits) is a missing object, not a ValueError
                self.model._meta.pk.to_python(unquote(object_id))
            except ValidationError:
                raise Http404(NOT_FOUND) from None
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
            return self.refused(request, f"Nothing was reverted. {exc.message}", "history", object_id)

    def revert_disabled(self, request, obj=None):
        return not self.history_revert or not self.has_change_permission(request, obj)


def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" redirect, for objects the person's admin shows only.

    Django's own shortcut redirects to any object's page; here the object must be in the
    queryset of its registered admin (the organisation wall), else 404.
    """
    from django.contrib import admin as admin_module
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut

    if not (request.user.is_active and request.user.is_staff):
        raise Http404(NOT_FOUND)
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except (ContentType.DoesNotExist, OverflowError):
        raise Http404(NOT_FOUND) from None
    model_admin = admin_module.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise Http404(NOT_FOUND)
    model_admin.get_object(request, object_id)  # 404 outside the wall
    return shortcut(request, content_type_id, object_id)


class AdminSite(admin.AdminSite):
    """Django's admin site with "view on site" behind the organisation wall (see `view_on_site`)."""

    def get_urls(self):
        from django.urls import path

        urls = super().get_urls()
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path("r/<int:content_type_id>/<path:object_id>/", self.admin_view(view_on_site),
                                   name="view_on_site")
        return urls
