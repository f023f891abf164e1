"""People of an organisation: create, change, deactivate, move (the admin's person pages call these).

Who may do what:

- a BCP Admin (`auth.add_user` / `auth.change_user`) manages the people of their own
  organisation: names, email, staff status, active status and the BCP groups. They cannot
  make anyone a superuser, give single permissions, change a superuser, touch groups other
  than the BCP ones, or deactivate themselves;
- superusers manage anyone, choose the organisation of a new person, and alone move people
  between organisations (decision 6: in the admin they work across organisations).

People are never deleted here: plans, reviews, acknowledgements and audit rows point at them,
so a leaver is deactivated. Every change writes an organisation-level audit row (decision 1).

Sign-in lockouts (django-axes, see settings) are recorded in the person's organisation, and a
BCP Admin unlocks people of their own organisation (`person_unlock`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bcp_site.errors import ServiceError

from .models import Audit, Membership, Organisation, Plan
from .services import audit_record

logger = logging.getLogger(__name__)

# The product's own groups (created by reviews/migrations/0002_permission_groups.py); the same
# prefix limits the group choices in the admin (plans.admin_scoping).
BCP_GROUP_PREFIX = "BCP "


def is_bcp_group(group: Group) -> bool:
    return group.name.startswith(BCP_GROUP_PREFIX)


def _organisation_of(user) -> Organisation | None:
    """The user's organisation read from the database, not a cached relation (one query)."""
    membership = Membership.objects.select_related("organisation").filter(user_id=user.pk).first()
    return membership.organisation if membership else None


def _require_manager(actor, organisation: Organisation | None, perm: str) -> None:
    """Refuse unless `actor` may manage people of `organisation` with `perm` (superusers may, anywhere)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ServiceError("Sign in to manage people.", code="forbidden")
    if actor.is_superuser:
        return
    if not actor.has_perm(perm):
        raise ServiceError("Your role does not allow managing people.", code="forbidden")
    own = _organisation_of(actor)
    if own is None or organisation is None or own.pk != organisation.pk:
        raise ServiceError("You manage only the people of your own organisation.", code="other_organisation")


def _check_target(actor, person) -> None:
    if person.is_superuser and not actor.is_superuser:
        raise ServiceError(f"{person} is a superuser: only a superuser changes them.", code="superuser")


def _check_groups(actor, groups: list[Group]) -> None:
    if actor.is_superuser:
        return
    refused = sorted(g.name for g in groups if not is_bcp_group(g))
    if refused:
        raise ServiceError(
            f"You can give only the BCP groups, not {', '.join(refused)}.", code="group_not_allowed"
        )


def _names(groups: Iterable[Group]) -> list[str]:
    return sorted(g.name for g in groups)


def _person_details(person) -> dict[str, Any]:
    return {"person_id": person.pk, "username": person.get_username()}


def _set_password(person, password: str | None) -> None:
    """Set a validated password, or an unusable one when none is given (an admin sets it later)."""
    if password:
        try:
            validate_password(password, person)
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), code="password", problems=exc.messages) from None
        person.set_password(password)
    else:
        person.set_unusable_password()


def person_create(
    *,
    organisation: Organisation,
    actor,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    groups: Iterable[Group],
    is_staff: bool = False,
    password: str | None = None,
):
    """Create a person and their membership of `organisation`; returns the user.

    Without a password the account has an unusable one: nobody can sign in with it until an
    admin sets a password.
    """
    _require_manager(actor, organisation, "auth.add_user")
    groups = list(groups)
    _check_groups(actor, groups)
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ServiceError("A username is required.", code="required")
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ServiceError(f"The username {username} is already taken.", code="username_taken")
        person = User(
            username=username, email=User.objects.normalize_email(email or ""),
            first_name=first_name or "", last_name=last_name or "", is_staff=is_staff,
        )
        _set_password(person, password)
        person.save()
        person.groups.set(groups)
        Membership.objects.create(user=person, organisation=organisation)
        audit_record(
            org=organisation, plan=None, actor=actor, action="person_created",
            details={
                **_person_details(person), "email": person.email, "groups": _names(groups),
                "is_staff": is_staff, "password": "set" if password else "none",
            },
        )
    return person


def person_update(
    *,
    person,
    actor,
    email: str,
    first_name: str,
    last_name: str,
    groups: Iterable[Group],
    is_staff: bool,
    is_active: bool,
    is_superuser: bool | None = None,
    user_permissions: Iterable[Permission] | None = None,
):
    """Change a person's details, groups and status; returns the saved user.

    `is_superuser` and `user_permissions` are for superusers (None leaves them as they are).
    For a BCP Admin, `groups` are the BCP groups: other groups the person has stay.
    The audit row (`person_changed`) lists the changed fields, groups by name; a save that
    changes nothing writes no row.
    """
    User = get_user_model()
    groups = list(groups)
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=person.pk)
        organisation = _organisation_of(current)
        _require_manager(actor, organisation, "auth.change_user")
        _check_target(actor, current)
        _check_groups(actor, groups)
        old_groups = list(current.groups.all())
        old_perms = set(current.user_permissions.values_list("pk", flat=True))
        if not actor.is_superuser:
            if is_superuser and not current.is_superuser:
                raise ServiceError("Only a superuser makes someone a superuser.", code="superuser")
            if user_permissions is not None and {p.pk for p in user_permissions} != old_perms:
                raise ServiceError(
                    "People get their rights from the BCP groups; only a superuser gives single permissions.",
                    code="permissions",
                )
            is_superuser, user_permissions = None, None
            groups += [g for g in old_groups if not is_bcp_group(g)]
        if current.pk == actor.pk and not is_active:
            raise ServiceError("You cannot deactivate yourself: ask another admin.", code="self")

        changes: dict[str, dict[str, Any]] = {}
        wanted = {
            "email": User.objects.normalize_email(email or ""), "first_name": first_name or "",
            "last_name": last_name or "", "is_staff": is_staff, "is_active": is_active,
        }
        if is_superuser is not None:
            wanted["is_superuser"] = is_superuser
        for field, value in wanted.items():
            if getattr(current, field) != value:
                changes[field] = {"from": getattr(current, field), "to": value}
                setattr(current, field, value)
        if changes:
            current.save(update_fields=list(changes))
        if _names(old_groups) != _names(groups):
            current.groups.set(groups)
            changes["groups"] = {"from": _names(old_groups), "to": _names(groups)}
        if user_permissions is not None:
            user_permissions = list(user_permissions)
            if {p.pk for p in user_permissions} != old_perms:
                before = Permission.objects.filter(pk__in=old_perms).select_related("content_type")
                current.user_permissions.set(user_permissions)
                changes["user_permissions"] = {
                    "from": sorted(f"{p.content_type.app_label}.{p.codename}" for p in before),
                    "to": sorted(f"{p.content_type.app_label}.{p.codename}" for p in user_permissions),
                }
        if changes:
            audit_record(
                org=organisation, plan=None, actor=actor, action="person_changed",
                details={**_person_details(current), "changes": changes},
            )
    return current


def person_deactivate(*, person, actor) -> bool:
    """Deactivate a leaver (they can no longer sign in; their record stays). False if already inactive."""
    User = get_user_model()
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=person.pk)
        organisation = _organisation_of(current)
        _require_manager(actor, organisation, "auth.change_user")
        _check_target(actor, current)
        if current.pk == actor.pk:
            raise ServiceError("You cannot deactivate yourself: ask another admin.", code="self")
        if not current.is_active:
            return False
        current.is_active = False
        current.save(update_fields=["is_active"])
        audit_record(
            org=organisation, plan=None, actor=actor, action="person_deactivated",
            details=_person_details(current),
        )
    person.is_active = False
    return True


def person_set_password(*, person, actor, password: str | None) -> None:
    """Set a person's password, or make it unusable with None (the admin's password page).

    The audit row says that the password changed, never what it is.
    """
    User = get_user_model()
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=person.pk)
        organisation = _organisation_of(current)
        _require_manager(actor, organisation, "auth.change_user")
        _check_target(actor, current)
        _set_password(current, password)
        current.save(update_fields=["password"])
        audit_record(
            org=organisation, plan=None, actor=actor, action="person_password_set",
            details={**_person_details(current), "password": "set" if password else "disabled"},
        )
    person.password = current.password


def person_move(*, person, organisation: Organisation, actor) -> Membership:
    """Move a person to another organisation (superusers only); audited in both organisations.

    Refused while they own plans of their current organisation: give those plans to someone
    else first, so every plan keeps an owner who belongs to it.
    """
    if not getattr(actor, "is_superuser", False) or not actor.is_active:
        raise ServiceError("Only a superuser moves people between organisations.", code="forbidden")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("organisation").filter(user_id=person.pk).first()
        )
        old = membership.organisation if membership else None
        if old is not None and old.pk == organisation.pk:
            return membership
        if old is not None:
            owned = Plan.objects.filter(org=old, owner_user_id=person.pk).count()
            if owned:
                raise ServiceError(
                    f"{person} owns {owned} plan(s) of {old}: give them another owner before the move.",
                    code="owns_plans",
                )
            membership.organisation = organisation
            membership.save(update_fields=["organisation"])
        else:
            membership = Membership.objects.create(user_id=person.pk, organisation=organisation)
        details = {
            **_person_details(person),
            "from": old.name if old else None, "from_id": old.pk if old else None,
            "to": organisation.name, "to_id": organisation.pk,
        }
        if old is not None:
            audit_record(org=old, plan=None, actor=actor, action="person_moved", details=details)
        audit_record(org=organisation, plan=None, actor=actor, action="person_moved", details=details)
    return membership


def person_lockout_record(*, username: str, ip: str | None) -> bool:
    """Record that sign-ins as `username` from `ip` are locked (axes' `user_locked_out` signal).

    The row (`login_locked_out`, no actor) goes to the organisation of the person with that
    username; a username that is nobody's, or a person without an organisation, is only
    logged. Axes signals again on every attempt refused during a lockout: one row per
    cool-off period is enough, so a lockout already recorded within it writes nothing.
    Returns whether a row was written (one or two queries, three when writing).
    """
    logger.warning("Sign-in locked out: username %r from %s", username, ip)
    membership = (
        Membership.objects.select_related("organisation").filter(user__username__iexact=username)
        .order_by("user_id").first()
    )
    if membership is None:
        return False
    organisation = membership.organisation
    recent = Audit.objects.filter(
        org=organisation, action="login_locked_out", at_utc__gte=timezone.now() - settings.AXES_COOLOFF_TIME,
        details_json__username=username, details_json__ip=ip,
    )
    if recent.exists():
        return False
    audit_record(org=organisation, plan=None, actor=None, action="login_locked_out",
                 details={"username": username, "ip": ip})
    return True


def person_unlock(*, person, actor) -> int:
    """Forget a person's failed sign-ins from every address, so they can sign in at once.

    For a BCP Admin of the person's organisation (or a superuser); returns how many locked or
    counting addresses were cleared, and writes `login_unlocked` only when there were some.
    """
    organisation = _organisation_of(person)
    _require_manager(actor, organisation, "auth.change_user")
    _check_target(actor, person)
    # Attempts are counted under the lower-cased username (bcp_site.security.login_username).
    with transaction.atomic():
        cleared = axes_reset(username=person.get_username().strip().lower())
        if cleared:
            audit_record(
                org=organisation, plan=None, actor=actor, action="login_unlocked",
                details={**_person_details(person), "cleared": cleared},
            )
    return cleared
