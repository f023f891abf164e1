"""Writes that touch plans and their children. Each is atomic and leaves an audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from templates_app.schema import default_content

from .models import Audit, Contact, Organisation, Plan, PlanVersion, Process, Risk


class ServiceError(Exception):
    """A rule refused the request; the message is written for the person who asked."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


def audit_record(*, plan: Plan, actor, action: str, details: dict[str, Any] | None = None) -> Audit:
    """Write one audit row. `actor` may be None for system actions (imports, scheduled mail)."""
    return Audit.objects.create(
        plan=plan,
        actor_user=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        details_json=details or {},
        at_utc=timezone.now(),
    )


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "name": contact.name,
        "role": contact.role,
        "phone": contact.phone,
        "email": contact.email,
        "notes": contact.notes,
    }


def process_snapshot(process: Process) -> dict[str, Any]:
    return {
        "id": process.pk,
        "name": process.name,
        "description": process.description,
        "rto_minutes": process.rto_minutes,
        "rpo_minutes": process.rpo_minutes,
        "mtpd_minutes": process.mtpd_minutes,
        "impact_rating": process.impact_rating,
        "dependencies": list(process.dependencies_json or []),
    }


def risk_snapshot(risk: Risk) -> dict[str, Any]:
    owner = risk.owner_user
    return {
        "id": risk.pk,
        "threat": risk.threat,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "rating": risk.rating,
        "mitigation": risk.mitigation,
        "owner": (owner.get_full_name() or owner.get_username()) if owner else "",
        "owner_user_id": risk.owner_user_id,
    }


def plan_snapshot(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The live contacts, processes and risks of a plan as plain data (three queries)."""
    return {
        "contacts": [contact_snapshot(c) for c in plan.contacts.order_by("name", "id")],
        "processes": [process_snapshot(p) for p in plan.processes.order_by("name", "id")],
        "risks": [risk_snapshot(r) for r in plan.risks.select_related("owner_user").order_by("threat", "id")],
    }


def version_create(*, plan: Plan, actor, note: str = "") -> PlanVersion:
    """Freeze the plan's working copy and live rows into version N+1, the new active version.

    The plan row is locked first, so concurrent calls get sequential numbers and the
    database's unique keys guarantee one active version per plan.
    """
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        last = locked.versions.aggregate(n=Max("version_number"))["n"] or 0
        for previous in locked.versions.filter(status=PlanVersion.Status.ACTIVE):
            previous.status = PlanVersion.Status.SUPERSEDED
            previous.save(update_fields=["status"])  # save(), not update(): history records it
        content = dict(locked.draft_content_json or {})
        content.update(plan_snapshot(locked))
        version = PlanVersion.objects.create(
            plan=locked,
            version_number=last + 1,
            status=PlanVersion.Status.ACTIVE,
            authored_by_user=actor,
            authored_at_utc=timezone.now(),
            summary_change_note=note,
            content_json=content,
        )
        locked.current_version = version
        locked.save(update_fields=["current_version", "updated_at"])
        audit_record(
            plan=locked, actor=actor, action="version_created",
            details={"version": version.version_number, "note": note},
        )
    plan.current_version = version
    return version


def plan_create(*, organisation: Organisation, template, title: str, owner, actor) -> Plan:
    """Create a plan from a template with version 1 holding the template's default values."""
    with transaction.atomic():
        plan = Plan.objects.create(
            org=organisation,
            title=title,
            template=template,
            owner_user=owner,
            draft_content_json=default_content(template),
        )
        audit_record(plan=plan, actor=actor, action="plan_created", details={"title": title, "template": str(template)})
        version_create(plan=plan, actor=actor, note="Created from template")
    return plan


def plan_prepare_edit(*, plan: Plan, actor) -> Plan:
    """Check the plan's working copy may change now; an approved plan starts a new revision.

    Call inside the caller's transaction with a locked plan row. In review or archived:
    refused (the approved version and the submitted version must not move under the
    reviewers). Approved: the plan goes back to draft and the approved version stays
    recorded in `approved_version`, readable and exportable.
    """
    if plan.status == Plan.Status.IN_REVIEW:
        raise ServiceError(
            "This plan is in review, so it cannot be changed. Withdraw it from review, "
            "or wait for the reviewers' decision.",
            code="locked_in_review",
        )
    if plan.status == Plan.Status.ARCHIVED:
        raise ServiceError("This plan is archived, so it cannot be changed. Restore it first.", code="archived")
    if plan.status == Plan.Status.APPROVED:
        plan.status = Plan.Status.DRAFT
        plan.save(update_fields=["status", "updated_at"])
        audit_record(
            plan=plan, actor=actor, action="revision_started",
            details={"from": Plan.Status.APPROVED, "to": Plan.Status.DRAFT,
                     "approved_version": plan.approved_version.version_number if plan.approved_version else None},
        )
    return plan
