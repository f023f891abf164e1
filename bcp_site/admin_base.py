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

- **Lists cost the same at any size** (`ListAtScaleMixin`, on `BaseAdmin`; third-party admins
  are re-registered with it, e.g. in `plans.people_admin`): no full count and a count that stops
  at `list_count_limit` rows (past it the list says "1000+" and pages up to there: a search or a
  filter goes further); no facet counts; the JSON columns the list does not show are left out,
  of the listed table and of the ones it joins; only relations that may be empty are joined
  (`LimitedChangeList`); filters are a text box (`search_box_filter`) or a few periods
  (`recent_filter`), never one line per person, plan, template or day. Each admin's ordering
  names the index that serves it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import cached_property
from typing import Protocol

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
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


# --- lists at scale ------------------------------------------------------------------------------


class AtLeast(int):
    """A count that stopped at its limit: it reads "1000+" wherever the admin prints it."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class CountLimitPaginator(Paginator):
    """Django's paginator, counting at most `limit` rows (one COUNT over `LIMIT limit + 1`).

    The count of a list of 100,000 plans costs what the count of 1,000 costs; past the limit the
    count is `AtLeast(limit)` and the pages end there (a search or a filter narrows the list).
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, limit: int = 1000):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.limit = limit

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, models.QuerySet):
            return super().count
        counted = self.object_list[: self.limit + 1].count()
        return AtLeast(self.limit) if counted > self.limit else counted

    @property
    def count_is_limited(self) -> bool:
        return isinstance(self.count, AtLeast)


# Deferred by default: JSON holds a plan's whole content. Long text stays (display methods read it,
# and a deferred column read per row is a query per row); an admin defers it with `list_defer`.
WIDE_FIELDS = (models.JSONField,)


def wide_fields(model, shown=()) -> list[str]:
    """Names of `model`'s wide (JSON) columns, except those in `shown`."""
    return [f.name for f in model._meta.concrete_fields if isinstance(f, WIDE_FIELDS) and f.name not in shown]


def _joined_paths(select_related, prefix=""):
    """(path, nested) for every relation a `select_related` dict joins (`qs.query.select_related`)."""
    for name, nested in select_related.items():
        yield f"{prefix}{name}", nested
        if nested:
            yield from _joined_paths(nested, f"{prefix}{name}__")


def _left_joined(model, path: str) -> bool:
    """Whether `select_related(path)` joins with a LEFT JOIN: its first step may be empty (a nullable
    foreign key, or a reverse one-to-one); Django keeps the joins after a LEFT JOIN left too."""
    field = model._meta.get_field(path.split(LOOKUP_SEP)[0])
    return bool(field.null) or not field.concrete


def _fetched(model, path: str) -> Prefetch:
    """A prefetch of `path` reading no wide column (the related rows of one page: one query)."""
    first, _sep, rest = path.partition(LOOKUP_SEP)
    related = model._meta.get_field(first).related_model
    queryset = related._default_manager.defer(*wide_fields(related))
    if rest:
        further = get_fields_from_path(related, rest)[-1].related_model
        queryset = queryset.select_related(rest).defer(*(f"{rest}{LOOKUP_SEP}{name}" for name in wide_fields(further)))
    return Prefetch(first, queryset=queryset)


class LimitedChangeList(ChangeList):
    """Filters at the edge of the calendar are refused like any unusable lookup (the list shows "?e=1").

    Django's date hierarchy computes the end of year 9999 (ValueError) or of its last day
    (OverflowError), and a bound that cannot be converted to UTC fails only when the query runs.

    The list's query leaves out wide columns nobody sees in it (`list_defer_for`), and it joins
    only relations that may be empty (LEFT JOINs). A relation that is never empty would be an
    INNER JOIN, which MariaDB may reorder to start from the smaller table (people, templates,
    organisations), then sort every matching row in a temporary table before taking one page:
    the 9-second admin plan list. Those relations are fetched for the page's rows instead, one
    query each whatever the page holds (`_fetched`).
    """

    def apply_select_related(self, qs):
        paths = self.list_select_related
        if paths is True:
            return super().apply_select_related(qs)
        if paths is False:
            if not self.has_related_field_in_list_display():
                return qs
            paths = []
            for name in self.list_display:
                try:
                    field = self.lookup_opts.get_field(name)
                except FieldDoesNotExist:
                    continue
                if field.many_to_one and name != field.attname:
                    paths.append(name)
        joined = [path for path in paths if _left_joined(self.model, path)]
        fetched = [_fetched(self.model, path) for path in paths if not _left_joined(self.model, path)]
        if joined:
            qs = qs.select_related(*joined)
        return qs.prefetch_related(*fetched) if fetched else qs

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        deferred = list_defer_for(self.model_admin, request, queryset)
        return queryset.defer(*deferred) if deferred else queryset

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


def list_defer_for(model_admin, request, queryset) -> list[str]:
    """What a changelist leaves out of its query: the admin's `list_defer`, or by default every wide
    column (`wide_fields`) of the listed model that `list_display` does not name, and every wide column
    of the models the query joins (`select_related`), which the list shows only by their `__str__`."""
    explicit = getattr(model_admin, "list_defer", None)
    if explicit is not None:
        return list(explicit)
    deferred = wide_fields(queryset.model, set(model_admin.get_list_display(request)))
    joined = queryset.query.select_related
    if isinstance(joined, dict):  # True (every non-null relation) is never used here: lists name their joins
        for path, _nested in _joined_paths(joined):
            try:
                related = get_fields_from_path(queryset.model, path)[-1].related_model
            except FieldDoesNotExist:
                continue
            deferred += [f"{path}__{name}" for name in wide_fields(related)]
    return deferred


class ListAtScaleMixin:
    """Changelists whose cost does not grow with the table (see the module docstring).

    `list_count_limit`: rows counted at most (the list says "1000+" past it). `list_defer`: the
    columns left out of the list's query; None for every wide column the list does not show.
    """

    show_full_result_count = False
    show_facets = ShowFacets.NEVER  # a facet is one more COUNT per choice over the whole list
    list_count_limit = 1000
    list_defer: list[str] | None = None

    def get_changelist(self, request, **kwargs):
        return LimitedChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return CountLimitPaginator(queryset, per_page, orphans, allow_empty_first_page, limit=self.list_count_limit)


# --- list filters that do not grow with the data -----------------------------------------------------


class RecentFilter(admin.SimpleListFilter):
    """Rows of the last 7, 30 or 365 days (`recent_filter`), instead of a date hierarchy.

    Django's date hierarchy reads every distinct year, month or day of the table to draw its
    links; these three links cost nothing until chosen, and then one range on an indexed time.
    """

    field_name = ""
    periods = ((7, "Last 7 days"), (30, "Last 30 days"), (365, "Last 12 months"))

    def lookups(self, request, model_admin):
        return [(str(days), label) for days, label in self.periods]

    def queryset(self, request, queryset):
        days = {str(days): days for days, _label in self.periods}.get(self.value() or "")
        if days is None:
            return queryset
        return queryset.filter(**{f"{self.field_name}__gte": timezone.now() - datetime.timedelta(days=days)})


def recent_filter(field_name: str, title: str) -> type[RecentFilter]:
    """A `RecentFilter` on `field_name` (a time column with an index), as `?<field_name>_within=7`."""
    name = "".join(part.title() for part in field_name.split("_"))
    return type(f"Recent{name}Filter", (RecentFilter,), {
        "field_name": field_name, "title": title, "parameter_name": f"{field_name}_within",
    })


class SearchBoxFilter(admin.SimpleListFilter):
    """A list filter that is one text box (`?<parameter_name>=<text>`), not one line per value.

    A list of every owner, organisation or template grows with the data (10,000 people are half a
    megabyte, and the list is a DISTINCT over every row). The box costs nothing until used. On a
    relation, the text is an id or the exact value of one of `match_fields` (a username, a name):
    the matching related rows are looked up first (one indexed query, only when the box is used),
    so the list's own query stays an equality on an indexed column. On a plain column the text is
    the column's exact value. The filter works inside the admin's queryset, so a value from another
    organisation finds nothing.
    """

    template = "admin/bcp/search_box_filter.html"
    field_path = ""
    match_fields: tuple[str, ...] = ()
    placeholder = ""
    organisation_filter = False  # shown to (and used by) superusers only: members have one organisation
    max_matches = 50
    max_length = 255

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return not self.organisation_filter or self.request.user.is_superuser

    def text(self) -> str:
        return (self.value() or "").strip()[: self.max_length]

    def choices(self, changelist):
        yield {
            "parameter_name": self.parameter_name,
            "value": self.text(),
            "placeholder": self.placeholder,
            "hidden": sorted((name, value) for name, value in changelist.params.items()
                             if name not in (self.parameter_name, PAGE_VAR, ERROR_FLAG)),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        text = self.text()
        if not text:
            return queryset
        field = get_fields_from_path(queryset.model, self.field_path)[-1]
        if not field.is_relation:
            return queryset.filter(**{self.field_path: text})
        ids = self.matching_ids(field.related_model, text)
        return queryset.filter(**{f"{self.field_path}__in": ids}) if ids else queryset.none()

    def matching_ids(self, model, text: str) -> list:
        """Ids of `model`'s rows named by `text` (one query on unique or indexed columns)."""
        match = models.Q()
        for name in self.match_fields:
            match |= models.Q(**{name: text})
        if text.isascii() and text.isdigit() and int(text) < 2**63:
            match |= models.Q(pk=int(text))
        if not match:
            return []
        return list(model._default_manager.filter(match).values_list("pk", flat=True)[: self.max_matches])


def search_box_filter(field_path: str, title: str, *, match: tuple[str, ...] = (), placeholder: str = "",
                      parameter_name: str | None = None, organisation: bool = False) -> type[SearchBoxFilter]:
    """A `SearchBoxFilter` on `field_path` (`?<field_path>=<text>` unless `parameter_name` is given)."""
    name = "".join(part.title() for part in field_path.split("_"))
    return type(f"{name}SearchBoxFilter", (SearchBoxFilter,), {
        "field_path": field_path, "title": title, "match_fields": tuple(match), "placeholder": placeholder,
        "parameter_name": parameter_name or field_path, "organisation_filter": organisation,
    })


class BaseAdmin(ServiceFormMixin, ListAtScaleMixin, admin.ModelAdmin):
    """The root admin: 404 for missing objects, actions that refuse ids outside the queryset,
    service refusals shown on the form, add forms that a double click submits once, lists that
    cost the same at any size."""

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
