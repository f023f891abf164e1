"""Reads of plans, shared by pages, exports and commands."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404

from .models import ChangeLogMap, Membership, Organisation, Plan


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


def organisation_members(org_id):
    """Users of an organisation, by name (a queryset: one query when evaluated)."""
    return (
        get_user_model().objects.filter(membership__organisation_id=org_id, is_active=True)
        .order_by("first_name", "last_name", "username")
    )


def annotate_review_needed(queryset: QuerySet) -> QuerySet:
    """Annotate plans with `review_needed`: a linked change occurred after the last approval.

    A plan never approved (`approved_at_utc` NULL) is never flagged: there is no approved
    plan to re-review yet. One Exists subquery, so a list stays one query.
    """
    newer = ChangeLogMap.objects.filter(
        plan=OuterRef("pk"), change__occurred_at_utc__gt=OuterRef("approved_at_utc")
    )
    return queryset.annotate(review_needed=Exists(newer))


def organisation_id_for(user) -> int | None:
    """The id of the user's organisation, or None (one query unless the membership is cached)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership.organisation_id
    except Membership.DoesNotExist:
        return None


PLAN_LIST_COLUMNS = (
    "id", "org_id", "title", "status", "updated_at", "approved_at_utc", "owner_user_id", "current_version_id",
    "current_version__id", "current_version__version_number",
)


def plan_list_queryset(org_id, *, status: str = "", owner_id=None, search: str = "") -> QuerySet:
    """An organisation's plans for the plan list, with `review_needed`; page it on (updated_at, id) desc.

    Filter and order are served by an index whatever the filter (idx_bc_plan_org_updated,
    idx_bc_plan_org_status, idx_bc_plan_owner); only the title search scans the organisation's
    plans. Only the columns the list shows are read (no JSON working copy). The owners are read
    by a second query (the page's owners by id): joining the users in would let the optimiser
    start from the users and sort the organisation's plans (it does when the people are few).
    """
    if org_id is None:
        return Plan.objects.none()
    owners = get_user_model().objects.only("id", "username", "first_name", "last_name")
    qs = (
        Plan.objects.filter(org_id=org_id).select_related("current_version").only(*PLAN_LIST_COLUMNS)
        .prefetch_related(Prefetch("owner_user", queryset=owners))
    )
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(owner_user_id=owner_id)
    if search:
        qs = qs.filter(title__icontains=search)
    return annotate_review_needed(qs)


def plan_detail_queryset():
    """Plans with what the plan page shows alongside (template, versions, owner) in the same query."""
    return Plan.objects.select_related("template", "owner_user", "current_version", "approved_version").defer(
        "approved_version__content_json"
    )


def colleagues_of(user):
    """Active users of `user`'s organisation, by name (a queryset: one query when evaluated)."""
    if not getattr(user, "is_authenticated", False):
        return get_user_model().objects.none()
    return (
        get_user_model().objects.filter(membership__organisation__memberships__user=user, is_active=True)
        .order_by("first_name", "last_name", "username")
    )
