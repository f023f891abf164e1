"""Recording acknowledgements, and the rule for when a version can be acknowledged.

An acknowledgement is bound to one version: acknowledging v3 says nothing about v4.
`acknowledgeable` is the one home of the rule; `ack_record` records an acknowledgement.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from plans.models import Plan, PlanVersion
from plans.services import ServiceError, audit_record

from .auditors import AUDITOR_ACK_REFUSAL, is_auditor
from .models import Ack


class LinkState:
    """What a link finds: OK, or why its version cannot be acknowledged (`acknowledgeable`'s codes)."""

    OK = "ok"  # may acknowledge (or already did: see `ack`)
    SUPERSEDED = "superseded"  # a newer version was approved since
    ARCHIVED = "archived"
    INACTIVE = "inactive"  # the person's account is deactivated
    NOT_APPROVED = "not_approved"  # the plan has no approved version (approval was undone)


# What a person is told when a version cannot be acknowledged (`acknowledgeable`'s reasons).
ACK_REFUSALS = {
    LinkState.INACTIVE: "This account is deactivated, so it cannot acknowledge plans.",
    LinkState.ARCHIVED: "This plan is archived: there is nothing to acknowledge.",
    LinkState.NOT_APPROVED: "This plan has no approved version to acknowledge.",
    LinkState.SUPERSEDED: "A newer version of this plan has been approved since; read that version and "
                          "acknowledge it instead.",
}


def acknowledgeable(plan: Plan, version_number: int | None = None, *, user=None) -> str | None:
    """Why `version_number` of the plan cannot be acknowledged now (a `LinkState` code), or None.

    The one home of the rule: only the approved version of a plan that is not archived, by an
    active person (`user`, when given). `version_number` None asks about the approved version.
    Runs one query unless the plan's approved version is loaded.
    """
    if user is not None and not user.is_active:
        return LinkState.INACTIVE
    if plan.status == Plan.Status.ARCHIVED:
        return LinkState.ARCHIVED
    approved = approved_number(plan)
    if approved is None or (version_number is not None and approved < int(version_number)):
        return LinkState.NOT_APPROVED
    if version_number is not None and approved > int(version_number):
        return LinkState.SUPERSEDED
    return None


def approved_number(plan: Plan) -> int | None:
    """The version number of the plan's approved version, or None (one query unless it is loaded)."""
    if plan.approved_version_id is None:
        return None
    if "approved_version" in plan._state.fields_cache:
        return plan.approved_version.version_number
    return (
        PlanVersion.objects.filter(pk=plan.approved_version_id).values_list("version_number", flat=True).first()
    )


def ack_record(*, plan: Plan, user, version_number: int, via: str) -> tuple[Ack, bool]:
    """Record that `user` read `version_number` of the plan (`via` is "link" or "page").

    Only the plan's approved version of a non-archived plan, by an active user who is not an
    auditor (`reviews.auditors`). Idempotent: a second call returns the first acknowledgement
    with created=False. Audits `ack_recorded`.
    """
    if not user.is_active:
        raise ServiceError(ACK_REFUSALS[LinkState.INACTIVE], code=LinkState.INACTIVE)
    if is_auditor(user):
        raise ServiceError(AUDITOR_ACK_REFUSAL, code="auditor")
    current = Plan.objects.select_related("approved_version").defer("approved_version__content_json").get(pk=plan.pk)
    refusal = acknowledgeable(current, version_number, user=user)
    if refusal == LinkState.SUPERSEDED:
        raise ServiceError(
            f"Version {current.approved_version.version_number} of this plan has been approved since; "
            f"read that version and acknowledge it instead.",
            code=refusal,
        )
    if refusal is not None:
        raise ServiceError(ACK_REFUSALS[refusal], code=refusal)
    approved = current.approved_version
    try:
        with transaction.atomic():
            ack, created = Ack.objects.get_or_create(
                plan=current, user=user, ack_version_number=approved.version_number,
                defaults={"ack_at_utc": timezone.now()},
            )
            if created:
                audit_record(
                    plan=current, actor=user, action="ack_recorded",
                    details={"version": approved.version_number, "via": via, "user": user.get_username()},
                )
    except IntegrityError:
        # Two confirmations at the same moment: the other one won; read it in a fresh transaction.
        ack = Ack.objects.get(plan=current, user=user, ack_version_number=approved.version_number)
        created = False
    return ack, created
