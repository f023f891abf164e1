"""The organisation wall for the Django admin (invariant 6, decision 6).

Every admin of organisation data derives from `OrgScopedAdmin` (or `OrgScopedHistoryAdmin`)
and names the path from its model to the organisation in `org_field`. From that one
attribute the wall covers:

- changelists, change, delete, history and revert views (`get_queryset`; an object outside
  it is a 404 through `bcp_site.admin_base.BaseAdmin.get_object`);
- search, date hierarchy and actions (they start from `get_queryset`; an action posted with
  another organisation's id changes nothing);
- foreign-key and many-to-many choices on add and change forms, raw-id inputs included:
  a related model offers only the rows its own admin would show (`related_queryset`);
- autocomplete (Django asks the related model's admin, which is scoped the same way);
- list filters: organisation filters disappear for members, and relation filters list only
  values present in the scoped rows. The admins here use search boxes for relations instead
  (`bcp_site.admin_base.search_box_filter`: a list of values grows with the data); they work
  inside the scoped rows, and the organisation's box is shown to superusers only.

Superusers see every organisation (decision 6); services still decide what they may change.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist

from bcp_site.admin_base import BaseAdmin, HistoryAdmin

from .models import Organisation
from .selectors import organisation_for

BCP_GROUP_PREFIX = "BCP "


def admin_organisation(request) -> Organisation | None:
    """The organisation of the person using the admin (cached on the request; one query)."""
    if not hasattr(request, "_bcp_admin_org"):
        request._bcp_admin_org = organisation_for(request.user)
    return request._bcp_admin_org


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input that names the chosen row only if it is one the person may pick.

    Django's widget looks the id up in the whole table to show its label, so an id typed
    into the URL (`?plan=<another organisation's plan>`) or a refused POST would show
    another organisation's title next to the field.
    """

    scope = None  # the form field's queryset

    def label_and_url_for_value(self, value):
        if self.scope is not None:
            try:
                if not self.scope.filter(pk=value).exists():
                    return "", ""
            except (ValueError, TypeError, OverflowError):
                return "", ""
        return super().label_and_url_for_value(value)


class OrgScopedMixin:
    """Scope an admin to the user's organisation through `org_field` (see the module docstring)."""

    org_field: str = "plan__org"

    def scope_queryset(self, request, queryset):
        """Rows of the user's organisation; every row for superusers; none without an organisation."""
        if request.user.is_superuser:
            return queryset
        org = admin_organisation(request)
        if org is None:
            return queryset.none()
        return self.filter_to_organisation(queryset, org)

    def filter_to_organisation(self, queryset, org):
        """The rows of `org` (override when the path to the organisation is not one field)."""
        return queryset.filter(**{self.org_field: org.pk})

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    # --- what forms may point at ------------------------------------------------------

    def related_queryset(self, request, model, queryset=None):
        """The rows of `model` this user may pick in a form, or None to leave Django's default."""
        queryset = queryset if queryset is not None else model._default_manager.all()
        registered = self.admin_site._registry.get(model)
        if isinstance(registered, OrgScopedMixin):
            return registered.scope_queryset(request, queryset)
        if request.user.is_superuser:
            return None
        if registered is not None and model is not Group:
            return registered.get_queryset(request)  # e.g. templates: global ones and the organisation's
        if model is Group:
            return queryset.filter(name__startswith=BCP_GROUP_PREFIX)
        if model is get_user_model():
            org = admin_organisation(request)
            return queryset.filter(membership__organisation=org) if org else queryset.none()
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self.related_queryset(request, db_field.remote_field.model)
            if scoped is not None:
                kwargs["queryset"] = scoped
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and type(formfield.widget) is ForeignKeyRawIdWidget:
            formfield.widget.__class__ = ScopedRawIdWidget
            formfield.widget.scope = formfield.queryset
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self.related_queryset(request, db_field.remote_field.model)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- filters that never list another organisation -------------------------------

    def get_list_filter(self, request):
        filters = []
        for entry in super().get_list_filter(request):
            if not isinstance(entry, str):
                filters.append(entry)
                continue
            try:
                fields = get_fields_from_path(self.model, entry)
            except FieldDoesNotExist:
                filters.append(entry)
                continue
            last = fields[-1]
            if not last.is_relation:
                filters.append(entry)
            elif last.related_model is Organisation:
                if request.user.is_superuser:
                    filters.append(entry)  # members have one organisation: no filter to show
            elif request.user.is_superuser:
                filters.append(entry)
            else:
                filters.append((entry, admin.RelatedOnlyFieldListFilter))
        return filters


class OrgScopedAdmin(OrgScopedMixin, BaseAdmin):
    """An admin of organisation data without model history."""


class OrgScopedHistoryAdmin(OrgScopedMixin, HistoryAdmin):
    """An admin of organisation data with simple-history pages (read-only unless `history_revert`)."""
