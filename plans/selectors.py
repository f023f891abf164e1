"""Reads of plans, shared by pages, exports and commands."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

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


def organisation_members(org_id):
    """Users of an organisation, by name (a queryset: one query when evaluated)."""
    return (
        get_user_model().objects.filter(membership__organisation_id=org_id, is_active=True)
        .order_by("first_name", "last_name", "username")
    )


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
    "current_version__id", "current_version__version_number", "review_needed", "next_review_due",
    "next_exercise_due", "last_exercised_on",
)


REVIEW_IN_DATE, REVIEW_OVERDUE = "in_date", "overdue"


def review_date_q(review: str, today) -> Q:
    """Plans in use (not archived) with an approved version whose next review date is ahead
    (`REVIEW_IN_DATE`: on or after `today`) or has passed (`REVIEW_OVERDUE`: before `today`).

    The one definition of "review overdue" for the plan list's filter and the KPIs that link to
    it; a range of idx_bc_plan_org_review_due (the stored fact, plans.plan_facts).
    """
    due = Q(next_review_due__gte=today) if review == REVIEW_IN_DATE else Q(next_review_due__lt=today)
    return due & Q(approved_version__isnull=False) & ~Q(status=Plan.Status.ARCHIVED)


def plan_list_queryset(org_id, *, status: str = "", owner_id=None, search: str = "",
                       review_needed: bool = False, exercise_due: bool = False, review: str = "",
                       today=None) -> QuerySet:
    """An organisation's plans for the plan list; page it on (updated_at, id) desc.

    Filter and order are served by an index whatever the filter (idx_bc_plan_org_updated,
    idx_bc_plan_org_status, idx_bc_plan_owner, idx_bc_plan_org_drift for plans whose review is
    needed: the stored fact, plans.plan_facts); only the title search scans the organisation's
    plans, and the plans whose exercise is due (a range of idx_bc_plan_org_exercise_due: the
    flagged plans alone) are sorted. Only the columns the list shows are read (no JSON working
    copy). The owners are read by a second query (the page's owners by id): joining the users in would let the optimiser
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
    if review_needed:
        qs = qs.filter(review_needed=True)
    if exercise_due:  # the stored fact (plans.plan_facts.exercise_due_on), idx_bc_plan_org_exercise_due
        qs = qs.filter(next_exercise_due__lte=today or timezone.localdate()).exclude(status=Plan.Status.ARCHIVED)
    if review in (REVIEW_IN_DATE, REVIEW_OVERDUE):  # a range of idx_bc_plan_org_review_due, those plans sorted
        qs = qs.filter(review_date_q(review, today or timezone.localdate()))
    if search:
        qs = qs.filter(title__icontains=search)
    return qs


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
