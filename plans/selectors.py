"""Reads of plans, shared by pages, exports and commands."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Organisation, Plan


def organisation_for(user) -> Organisation | None:
    """The user's organisation, or None (runs one query unless the membership is cached)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership.organisation
    except Membership.DoesNotExist:
        return None


def get_plan_for_user(user, pk, *, perm: str | None = None, queryset=None) -> Plan:
    """The plan `pk` if the user's organisation owns it, else 404; 403 if `perm` is given and missing.

    `perm` is a Django permission such as "plans.change_plan". Runs one query (plus the
    permission lookup, cached per request by Django's auth backend).
    """
    qs = queryset if queryset is not None else Plan.objects.all()
    try:
        plan = qs.visible_to(user).get(pk=pk)
    except (Plan.DoesNotExist, ValueError, TypeError):
        raise Http404("No plan with that number exists in your organisation.") from None
    if perm and not user.has_perm(perm):
        raise PermissionDenied("Your role does not allow this action on plans.")
    return plan
