"""Distribution: who must acknowledge a plan, and changing that list.

Who must acknowledge a plan is its *distribution*: every active member of the plan's
organisation, unless the plan has `PlanDistribution` rows (users and/or groups). Auditors
(`reviews.auditors`) read the record, not the plans: they are on no distribution.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from bcp_site.text import display_name
from plans.models import Membership, Plan
from plans.services import ServiceError, audit_record

from .auditors import auditor_membership
from .models import PlanDistribution


def organisation_readers(org_id) -> QuerySet:
    """Who acknowledges a plan without a distribution list: the organisation's active members, auditors aside."""
    return get_user_model().objects.filter(is_active=True, membership__organisation_id=org_id).filter(
        ~auditor_membership())


def distribution_users(plan: Plan) -> QuerySet:
    """Active users who must acknowledge the plan, by name (one query when evaluated).

    No distribution rows: every active member of the plan's organisation. Otherwise the
    listed users plus the active members who are in a listed group — always limited to
    the plan's organisation, and never an auditor.
    """
    rows = PlanDistribution.objects.filter(plan_id=plan.pk)
    return (
        organisation_readers(plan.org_id)
        .filter(
            ~Exists(rows)
            | Exists(rows.filter(user_id=OuterRef("pk")))
            | Exists(rows.filter(group__user=OuterRef("pk")))
        )
        .order_by("last_name", "first_name", "username")
    )


def distribution_groups() -> QuerySet:
    """The groups a distribution may name: the BCP permission groups."""
    return Group.objects.filter(name__startswith="BCP ").order_by("name")


def _check_actor_and_groups(locked: Plan, actor, groups) -> None:
    if not Membership.objects.filter(user_id=getattr(actor, "pk", None), organisation_id=locked.org_id).exists():
        raise ServiceError("Only members of the plan's organisation change its distribution.",
                           code="other_organisation")
    if any(not g.name.startswith("BCP ") for g in groups):
        raise ServiceError("A distribution names people or the BCP groups only.", code="invalid_group")


def _check_members(locked: Plan, users) -> None:
    """Every user is a member of the plan's organisation (one query), else ServiceError naming one."""
    members = set(
        Membership.objects.filter(user__in=users, organisation_id=locked.org_id).values_list("user_id", flat=True)
    )
    outsiders = [u for u in users if u.pk not in members]
    if outsiders:
        raise ServiceError(
            f"{display_name(outsiders[0])} is not a member of this plan's organisation.", code="other_organisation"
        )


def distribution_set(*, plan: Plan, actor, users, groups) -> list[PlanDistribution]:
    """Replace the plan's distribution. No users and no groups = everyone in the organisation.

    Users must be members of the plan's organisation. Audits `distribution_changed`.
    """
    users = list({u.pk: u for u in users}.values())
    groups = list({g.pk: g for g in groups}.values())
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        _check_actor_and_groups(locked, actor, groups)
        _check_members(locked, users)
        PlanDistribution.objects.filter(plan=locked).delete()
        rows = PlanDistribution.objects.bulk_create(
            [PlanDistribution(plan=locked, user=u) for u in users]
            + [PlanDistribution(plan=locked, group=g) for g in groups]
        )
        audit_record(
            plan=locked, actor=actor, action="distribution_changed",
            details={
                "everyone": not rows,
                "users": sorted(u.get_username() for u in users),
                "groups": sorted(g.name for g in groups),
            },
        )
    return rows


def distribution_add(*, plan: Plan, actor, user=None, group=None, users=(), groups=()) -> list[PlanDistribution]:
    """Add people and/or groups to the plan's distribution; those already on it are left as they are.

    The same checks as `distribution_set`; reads and writes only the rows added (never the whole
    list). Audits `distribution_changed` with what was added; returns the new rows.
    """
    users = list({u.pk: u for u in [*users, *([user] if user is not None else [])]}.values())
    groups = list({g.pk: g for g in [*groups, *([group] if group is not None else [])]}.values())
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        _check_actor_and_groups(locked, actor, groups)
        _check_members(locked, users)
        present = PlanDistribution.objects.filter(plan=locked)
        listed_users = set(present.filter(user__in=users).values_list("user_id", flat=True)) if users else set()
        listed_groups = set(present.filter(group__in=groups).values_list("group_id", flat=True)) if groups else set()
        new_users = [u for u in users if u.pk not in listed_users]
        new_groups = [g for g in groups if g.pk not in listed_groups]
        rows = PlanDistribution.objects.bulk_create(
            [PlanDistribution(plan=locked, user=u) for u in new_users]
            + [PlanDistribution(plan=locked, group=g) for g in new_groups]
        )
        if rows:
            audit_record(
                plan=locked, actor=actor, action="distribution_changed",
                details={
                    "everyone": False,
                    "added_users": sorted(u.get_username() for u in new_users),
                    "added_groups": sorted(g.name for g in new_groups),
                },
            )
    return rows


def distribution_remove(*, row: PlanDistribution, actor) -> None:
    """Remove one row of the plan's distribution (no rows left = everyone in the organisation).

    Audits `distribution_changed` with what was removed.
    """
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=row.plan_id)
        _check_actor_and_groups(locked, actor, [])
        deleted, _ = PlanDistribution.objects.filter(pk=row.pk, plan=locked).delete()
        if deleted:
            audit_record(
                plan=locked, actor=actor, action="distribution_changed",
                details={
                    "everyone": not PlanDistribution.objects.filter(plan=locked).exists(),
                    "removed_users": [row.user.get_username()] if row.user_id else [],
                    "removed_groups": [row.group.name] if row.group_id else [],
                },
            )
