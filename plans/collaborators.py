"""A plan's collaborators: co-authors, section owners and default reviewers.

Roles are labels and notifications, never rights: what a person may do stays with their permission
groups, and the four-eyes rule still follows what people changed (`reviews.contributors`), not
their role here.

- **Section owners** are emailed through the outbox when a revision changes one of their sections
  (`section_owners_notify`, called by `plans.services.version_create` in the version's transaction;
  not the person who saved the revision) and when the plan's review date approaches
  (`review_date_notices_send`, run daily by `manage.py send_review_date_notices`).
- **Default reviewers** are preselected on the submit page when the four-eyes rule lets them review
  that revision (`reviews.views.submit`).
- **Co-authors** are named on the plan page.

Changes are plan audit rows (`collaborator_added`, `collaborator_changed`, `collaborator_removed`);
they are not plan content, so they neither start a revision nor count as a contribution.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bcp_site.errors import ServiceError
from bcp_site.mail import RenderedEmail, render_email
from bcp_site.text import display_name
from templates_app.schema import template_sections

from .models import Membership, Notification, Plan, PlanVersion
from .outbox import dedupe_key, notification_queue
from .plan_facts import DUE_SOON_DAYS
from .vendor_models import PlanCollaborator

Role = PlanCollaborator.Role
# Days before the review date on which section owners are told: once at each stage (the last one reached).
REVIEW_NOTICE_STAGES = (DUE_SOON_DAYS, 7)


def collaborator_refusal(plan: Plan) -> ServiceError | None:
    """Why the plan's collaborators cannot change now, or None: an archived plan is read-only."""
    if plan.status == Plan.Status.ARCHIVED:
        return ServiceError("This plan is archived, so its collaborators cannot change. A BCP Admin can restore it.",
                            code="archived")
    return None


def _check(plan: Plan, actor) -> Plan:
    from .services import member_check  # plans.services imports this module

    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    member_check(plan=locked, actor=actor)
    refusal = collaborator_refusal(locked)
    if refusal is not None:
        raise refusal
    return locked


def _clean_sections(plan: Plan, role: str, section_keys: Iterable[str]) -> list[str]:
    keys = [str(k) for k in section_keys or []]
    if role != Role.SECTION_OWNER:
        if keys:
            raise ServiceError("Only a section owner looks after sections.", code="sections_not_allowed")
        return []
    known = [s["key"] for s in template_sections(plan.template)]
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ServiceError(f"This plan's template has no section “{unknown[0]}”.", code="unknown_section")
    if not keys:
        raise ServiceError("Choose the sections this person owns.", code="sections_required")
    return [k for k in known if k in keys]  # template order, each once


def collaborator_save(*, plan: Plan, actor, user, role: str, section_keys: Iterable[str] = (),
                      collaborator_id: int | None = None) -> PlanCollaborator:
    """Add a collaborator (`collaborator_id` None) or change one's role or sections.

    The person must be an active member of the plan's organisation, once per role. Audits
    `collaborator_added` / `collaborator_changed` on the plan.
    """
    from .services import audit_record  # plans.services imports this module

    if role not in Role.values:
        raise ServiceError("Choose the collaborator's role.", code="invalid_role")
    with transaction.atomic():
        locked = _check(plan, actor)
        if user is None or not user.is_active or not Membership.objects.filter(
                user_id=user.pk, organisation_id=locked.org_id).exists():
            raise ServiceError(f"{display_name(user) or 'That person'} is not an active member of this plan's "
                               "organisation.", code="other_organisation")
        keys = _clean_sections(locked, role, section_keys)
        duplicate = PlanCollaborator.objects.filter(plan=locked, user=user, role=role)
        if collaborator_id is not None:
            duplicate = duplicate.exclude(pk=collaborator_id)
        if duplicate.exists():
            raise ServiceError(f"{display_name(user)} is a {Role(role).label.lower()} of this plan already.",
                               code="duplicate")
        if collaborator_id is None:
            row = PlanCollaborator.objects.create(plan=locked, user=user, role=role, section_keys=keys,
                                                  added_by_user=actor, added_at_utc=timezone.now())
            audit_record(plan=locked, actor=actor, action="collaborator_added", details={
                "person": user.get_username(), "role": row.get_role_display(), **({"sections": keys} if keys else {}),
            })
            return row
        row = PlanCollaborator.objects.select_for_update().filter(plan=locked, pk=collaborator_id).first()
        if row is None:
            raise ServiceError("This collaborator no longer exists: someone removed them.", code="not_found")
        changes = {}
        if row.user_id != user.pk:
            changes["person"] = [row.user.get_username(), user.get_username()]
        if row.role != role:
            changes["role"] = [Role(row.role).label, Role(role).label]
        if list(row.section_keys or []) != keys:
            changes["sections"] = [list(row.section_keys or []), keys]
        if changes:
            row.user, row.role, row.section_keys = user, role, keys
            row.save()
            audit_record(plan=locked, actor=actor, action="collaborator_changed", details={
                "person": user.get_username(), "changes": changes})
        return row


def collaborator_remove(*, plan: Plan, actor, collaborator_id: int) -> None:
    from .services import audit_record  # plans.services imports this module

    with transaction.atomic():
        locked = _check(plan, actor)
        row = PlanCollaborator.objects.select_related("user").filter(plan=locked, pk=collaborator_id).first()
        if row is None:
            raise ServiceError("This collaborator no longer exists: someone removed them.", code="not_found")
        audit_record(plan=locked, actor=actor, action="collaborator_removed", details={
            "person": row.user.get_username(), "role": row.get_role_display()})
        row.delete()


# --- reads ----------------------------------------------------------------------------------------------


@dataclass
class CollaboratorRow:
    row: PlanCollaborator
    name: str
    sections: list[str] = field(default_factory=list)  # section titles


def collaborators_panel(plan: Plan, *, sections: list[dict] | None = None) -> list[CollaboratorRow]:
    """The plan page's collaborators, by role then name, sections by title (one query; the template's
    sections unless given)."""
    rows = list(plan.collaborators.select_related("user").order_by("role", "user__first_name", "user__last_name",
                                                                     "user__username", "id"))
    titles = {}
    if any(r.section_keys for r in rows):
        sections = sections if sections is not None else template_sections(plan.template)
        titles = {s["key"]: s["title"] for s in sections}
    return [CollaboratorRow(row=r, name=display_name(r.user), sections=[titles.get(k, k) for k in r.section_keys or []])
            for r in rows]


def default_reviewer_ids(plan: Plan) -> list[int]:
    """Ids of the plan's default reviewers (one query)."""
    return list(PlanCollaborator.objects.filter(plan_id=plan.pk, role=Role.DEFAULT_REVIEWER)
                .order_by("id").values_list("user_id", flat=True))


# --- section owners: their sections changed in a revision ------------------------------------------


def changed_section_keys(sections: list[dict], old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Keys of the template's sections whose values differ between two contents (no query)."""
    old, new = old or {}, new or {}
    return [s["key"] for s in sections if (old.get(s["key"]) or {}) != (new.get(s["key"]) or {})]


def section_owners_notify(*, plan: Plan, version: PlanVersion, previous_id: int | None, actor) -> int:
    """Queue one email to each section owner whose sections `version` changed (against the version it
    superseded, `previous_id`), except the person who saved it. Call inside the version's transaction.
    Returns how many emails were queued. One query when the plan has no section owners.
    """
    owners = list(PlanCollaborator.objects.filter(plan_id=plan.pk, role=Role.SECTION_OWNER).select_related("user"))
    if not owners or previous_id is None:
        return 0
    previous = PlanVersion.objects.filter(pk=previous_id).values_list("content_json", flat=True).first()
    sections = template_sections(plan.template)
    changed = set(changed_section_keys(sections, previous, version.content_json))
    queued = 0
    for owner in owners:
        theirs = [k for k in owner.section_keys or [] if k in changed]
        if not theirs or owner.user_id == getattr(actor, "pk", None) or not owner.user.is_active:
            continue
        queued += notification_queue(
            kind=Notification.Kind.SECTION_CHANGED, recipients=[owner.user], org=plan.org, plan=plan,
            version_number=version.version_number,
            dedupe=dedupe_key(Notification.Kind.SECTION_CHANGED, plan.pk, version.version_number, "{user}"),
            context={"sections": theirs, "author": display_name(actor)},
        )
    return queued


def section_changed_render(notification: Notification) -> RenderedEmail:
    """The notice: which of the recipient's sections changed in which version, with the differences' link."""
    plan, context = notification.plan, notification.context_json or {}
    number = notification.version_number or 1
    version = plan.versions.filter(version_number=number).select_related("template").defer("content_json").first()
    titles = {s["key"]: s["title"] for s in template_sections(version.template if version else plan.template)}
    compare = reverse("plans:version_compare", args=[plan.pk]) + f"?old={max(number - 1, 1)}&new={number}"
    return render_email("plans/collaborators/email/section_changed", {
        "recipient_name": display_name(notification.recipient_user), "plan_title": plan.title,
        "version_number": number, "author": context.get("author") or "Someone",
        "sections": [titles.get(k, k) for k in context.get("sections") or []],
        "compare_url": f"{settings.SITE_URL}{compare}",
        "version_url": f"{settings.SITE_URL}{reverse('plans:version_detail', args=[plan.pk, number])}",
    })


# --- section owners: the review date approaches ---------------------------------------------------------


@dataclass
class NoticeSummary:
    plans: int = 0
    queued: int = 0
    skipped: int = 0  # told at this stage already

    def __str__(self) -> str:
        return (f"Review date notices: {self.plans} plan{'s' if self.plans != 1 else ''} with section owners due "
                f"within {DUE_SOON_DAYS} days, {self.queued} email{'s' if self.queued != 1 else ''} queued, "
                f"{self.skipped} skipped (already told)")


def notice_stage(days_left: int) -> int | None:
    """The stage a review date `days_left` days away has reached (the smallest of REVIEW_NOTICE_STAGES it is
    within), or None when it is further away or passed."""
    if days_left < 0:
        return None
    reached = [stage for stage in REVIEW_NOTICE_STAGES if days_left <= stage]
    return min(reached) if reached else None


def review_date_notices_send(*, today: dt.date | None = None) -> NoticeSummary:
    """Email the section owners of approved plans whose review date is within DUE_SOON_DAYS days.

    Once per plan, person, review date and stage (30 days, then 7 days before): the outbox's
    uniqueness key holds them, so running it again the same day (or the next) sends nothing new.
    Archived plans are left out. Each organisation whose people were told gets an audit row
    `review_date_notices_sent`.
    """
    from .services import audit_record  # plans.services imports this module

    today = today or timezone.localdate()
    summary = NoticeSummary()
    owners = (PlanCollaborator.objects.filter(
        role=Role.SECTION_OWNER, plan__next_review_due__gte=today,
        plan__next_review_due__lte=today + dt.timedelta(days=DUE_SOON_DAYS), plan__approved_version__isnull=False)
        .exclude(plan__status=Plan.Status.ARCHIVED)
        .select_related("user", "plan__org").defer("plan__draft_content_json").order_by("plan_id", "id"))
    told: dict[Any, list[str]] = {}
    plans: set[int] = set()
    for owner in owners.iterator(chunk_size=500):
        plan = owner.plan
        plans.add(plan.pk)
        stage = notice_stage((plan.next_review_due - today).days)
        if stage is None or not owner.user.is_active or not owner.user.email:
            continue
        with transaction.atomic():
            added = notification_queue(
                kind=Notification.Kind.REVIEW_DUE, recipients=[owner.user], org=plan.org, plan=plan,
                dedupe=dedupe_key(Notification.Kind.REVIEW_DUE, plan.pk, "{user}", plan.next_review_due.isoformat(),
                                  stage),
                context={"sections": list(owner.section_keys or []), "due": plan.next_review_due.isoformat(),
                         "date": today.isoformat()},
            )
        if added:
            summary.queued += 1
            told.setdefault(plan.org, []).append(owner.user.get_username())
        else:
            summary.skipped += 1
    summary.plans = len(plans)
    for org, people in told.items():
        audit_record(org=org, actor=None, action="review_date_notices_sent",
                     details={"count": len(people), "people": sorted(set(people)), "date": today.isoformat()})
    return summary


def review_due_render(notification: Notification) -> RenderedEmail:
    plan, context = notification.plan, notification.context_json or {}
    due = dt.date.fromisoformat(context.get("due") or plan.next_review_due.isoformat())
    sent_on = dt.date.fromisoformat(context.get("date") or timezone.localdate().isoformat())
    titles = {s["key"]: s["title"] for s in template_sections(plan.template)}
    return render_email("plans/collaborators/email/review_due", {
        "recipient_name": display_name(notification.recipient_user), "plan_title": plan.title, "due": due,
        "days": (due - sent_on).days, "sections": [titles.get(k, k) for k in context.get("sections") or []],
        "plan_url": f"{settings.SITE_URL}{plan.get_absolute_url()}",
    })
