"""People in the admin: Django's user admin behind the organisation wall, writing through plans.people.

A BCP Admin sees and manages the people of their own organisation only (invariant 6): lists,
search, filters, autocomplete, the change, password and history pages all start from the
scoped queryset, so anyone else is a 404. They edit names, email, active and staff status
and the BCP groups; superusers also see the superuser flag, single permissions and the
organisation (changing it moves the person through `person_move`). Nobody deletes people
here: plans, reviews, acknowledgements and audit rows point at them, so leavers are
deactivated (the "Deactivate selected people" action). "Unlock sign-in" clears a person's
failed sign-ins (django-axes) so a locked-out colleague can sign in at once.

Axes' own admin (failed attempts: usernames and addresses of every organisation) is
registered here for superusers only.

Registered from `PlansConfig.ready()` (it replaces the User admin that django.contrib.auth
registers).
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from bcp_site.admin_base import ListAtScaleMixin, search_box_filter
from bcp_site.errors import ServiceError

from .admin_scoping import BCP_GROUP_PREFIX, OrgScopedAdmin, admin_organisation
from .models import Membership, Organisation
from .people import (
    person_create,
    person_deactivate,
    person_move,
    person_set_password,
    person_unlock,
    person_update,
)

User = get_user_model()


class SuperuserPersonAddForm(AdminUserCreationForm):
    """A superuser chooses the organisation of a new person."""

    organisation = forms.ModelChoiceField(
        Organisation.objects.order_by("name"), help_text="The organisation the person belongs to."
    )


class SuperuserPersonChangeForm(UserChangeForm):
    """A superuser may move the person to another organisation (audited in both)."""

    organisation = forms.ModelChoiceField(
        Organisation.objects.order_by("name"), required=False,
        help_text="Changing it moves the person to that organisation (they must not own plans here).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        membership = Membership.objects.select_related("organisation").filter(user_id=self.instance.pk).first()
        if membership is not None:
            self.fields["organisation"].initial = membership.organisation
            self.fields["organisation"].required = True  # a member is moved, never left without one


class GroupFilter(admin.SimpleListFilter):
    """People in one group: a line per group (a handful), not a DISTINCT over everyone's groups."""

    title = "group"
    parameter_name = "groups"

    def lookups(self, request, model_admin):
        groups = Group.objects.order_by("name")
        if not request.user.is_superuser:
            groups = groups.filter(name__startswith=BCP_GROUP_PREFIX)
        return [(str(group.pk), group.name) for group in groups]

    def queryset(self, request, queryset):
        value = self.value() or ""
        if value.isascii() and value.isdigit() and int(value) < 2**63:
            return queryset.filter(groups=int(value))
        return queryset


class PersonAdmin(OrgScopedAdmin, UserAdmin):
    """The people of the admin user's organisation (everyone for superusers)."""

    org_field = "membership__organisation"
    list_display = [
        "username", "full_name", "email", "organisation_name", "group_names", "is_active", "last_login",
    ]
    list_filter = [
        "is_active", GroupFilter,
        search_box_filter("membership__organisation", "organisation", match=("name",), placeholder="name or id",
                          organisation=True),  # superusers only
    ]
    list_select_related = ["membership__organisation"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]  # unique, so indexed
    actions = ["deactivate_people", "unlock_sign_in"]

    def get_queryset(self, request):
        # Groups for the changelist's group column in one query, not one per row.
        return super().get_queryset(request).prefetch_related(
            Prefetch("groups", queryset=Group.objects.order_by("name"))
        )

    # --- columns ----------------------------------------------------------------------

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj) -> str:
        return obj.get_full_name()

    @admin.display(description="organisation", ordering="membership__organisation__name")
    def organisation_name(self, obj) -> str:
        try:
            return obj.membership.organisation.name
        except Membership.DoesNotExist:
            return "—"

    @admin.display(description="groups")
    def group_names(self, obj) -> str:
        return ", ".join(g.name for g in obj.groups.all())

    # --- forms per user type ------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        superuser = request.user.is_superuser
        if obj is None:
            account = {"fields": ["username", "first_name", "last_name", "email"]}
            if superuser:
                account["fields"].append("organisation")
            else:
                org = admin_organisation(request)
                account["description"] = format_html("The new person joins <strong>{}</strong>.", org)
            return [
                (None, account),
                ("Access", {"fields": ["is_staff", "groups"]}),
                ("Password", {
                    "fields": ["usable_password", "password1", "password2"],
                    "description": "Without a password, nobody can sign in as this person until an admin sets one.",
                }),
            ]
        access = ["is_active", "is_staff", "groups"]
        if superuser:
            access += ["is_superuser", "user_permissions"]
        return [
            (None, {"fields": ["username", "password"]}),
            ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
            ("Organisation", {"fields": ["organisation" if superuser else "organisation_name"]}),
            ("Permissions", {"fields": access}),
            ("Important dates", {"fields": ["last_login", "date_joined"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["username", "organisation_name", "last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs.setdefault("form", SuperuserPersonAddForm if request.user.is_superuser else AdminUserCreationForm)
        else:
            kwargs.setdefault("form", SuperuserPersonChangeForm if request.user.is_superuser else UserChangeForm)
        return super().get_form(request, obj, **kwargs)

    # --- permissions --------------------------------------------------------------------

    def has_add_permission(self, request):
        if not request.user.is_superuser and admin_organisation(request) is None:
            return False
        return super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # shown, read-only: only a superuser changes a superuser
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # leavers are deactivated: plans, reviews and audit rows point at them

    # --- writes go through plans.people ---------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            person = person_create(
                organisation=data["organisation"] if request.user.is_superuser else admin_organisation(request),
                actor=request.user,
                username=data["username"], email=data.get("email", ""),
                first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
                groups=data.get("groups", []), is_staff=data.get("is_staff", False),
                password=data.get("password1") if data.get("set_usable_password") else None,
            )
            # The admin's message, log entry and redirect use `obj`: make it the created row.
            obj.pk, obj.password = person.pk, person.password
            obj._state.adding = False
            return
        extra = {}
        if request.user.is_superuser:
            if data.get("organisation") is not None:
                person_move(person=obj, organisation=data["organisation"], actor=request.user)
            extra = {"is_superuser": data["is_superuser"], "user_permissions": data["user_permissions"]}
        person_update(
            person=obj, actor=request.user,
            email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
            groups=data["groups"], is_staff=data["is_staff"], is_active=data["is_active"], **extra,
        )

    def save_related(self, request, form, formsets, change):
        """Nothing to do: the service in `save_model` set the groups and permissions."""

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        person = self.get_object(request, unquote(id))  # 404 outside the organisation
        if not self.has_change_permission(request, person):
            raise PermissionDenied
        if request.method == "POST":
            form = self.change_password_form(person, request.POST)
            if form.is_valid():
                usable = form.cleaned_data["set_usable_password"]
                if usable or "unset-password" in request.POST:
                    password = form.cleaned_data["password1"] if usable else None
                    try:
                        person_set_password(person=person, actor=request.user, password=password)
                    except ServiceError as exc:
                        self.message_user(request, exc.message, messages.ERROR)
                        return HttpResponseRedirect(request.get_full_path())
                    self.log_change(request, person, self.construct_change_message(request, form, None))
                    self.message_user(
                        request, "Password changed." if usable else "Password-based sign-in was disabled.",
                        messages.SUCCESS,
                    )
                    update_session_auth_hash(request, person)
                    opts = self.opts
                    return HttpResponseRedirect(
                        reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[person.pk])
                    )
        # A form with errors, a conflicting submission or a GET: Django's page shows it.
        return super().user_change_password(request, id, form_url)

    @admin.action(permissions=["change"], description="Deactivate selected people")
    def deactivate_people(self, request, queryset):
        with transaction.atomic():  # all or nothing: a refusal leaves everyone as they were
            results = [person_deactivate(person=person, actor=request.user) for person in queryset]
        done = sum(results)
        skipped = len(results) - done
        message = f"{done} {'person' if done == 1 else 'people'} deactivated."
        if skipped:
            message += f" {skipped} {'was' if skipped == 1 else 'were'} already inactive."
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(permissions=["change"], description="Unlock sign-in (forget failed sign-ins)")
    def unlock_sign_in(self, request, queryset):
        with transaction.atomic():  # all or nothing, as for deactivating
            cleared = [person_unlock(person=person, actor=request.user) for person in queryset]
        unlocked = sum(1 for count in cleared if count)
        message = f"{unlocked} {'person' if unlocked == 1 else 'people'} unlocked."
        if len(cleared) > unlocked:
            others = len(cleared) - unlocked
            message += f" {others} had no failed sign-ins."
        self.message_user(request, message, messages.SUCCESS)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, PersonAdmin)


class SuperusersOnly(ListAtScaleMixin):
    """Axes' records name people and addresses of every organisation: superusers only.

    Attempts grow with every attack: no date hierarchy (it reads every distinct date) and no list
    of every path ever tried (`path_info` is a search field).
    """

    date_hierarchy = None

    def get_list_filter(self, request):
        return [entry for entry in super().get_list_filter(request) if entry != "path_info"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False  # records of what happened

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser  # deleting attempts unlocks


class SuperuserAccessAttemptAdmin(SuperusersOnly, AccessAttemptAdmin):
    pass


class SuperuserAccessLogAdmin(SuperusersOnly, AccessLogAdmin):
    pass


class SuperuserAccessFailureLogAdmin(SuperusersOnly, AccessFailureLogAdmin):
    pass


class GroupListAdmin(ListAtScaleMixin, GroupAdmin):
    """Django's group admin with the lists of every other admin here (no full count, no facets)."""


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, GroupListAdmin)

admin.site.register(AccessAttempt, SuperuserAccessAttemptAdmin)
if not settings.AXES_DISABLE_ACCESS_LOG:
    admin.site.register(AccessLog, SuperuserAccessLogAdmin)
if settings.AXES_ENABLE_ACCESS_FAILURE_LOG:
    admin.site.register(AccessFailureLog, SuperuserAccessFailureLogAdmin)
