"""Four eyes: who contributed to a revision, and when an approved version is due to be re-confirmed.

Read by the workflow (`reviews.services`), its pages and template tags. Reads only: no
writes, no mail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from bcp_site.text import display_name
from plans.models import Audit, Plan, PlanVersion
from plans.plan_facts import review_due_on, version_facts
from templates_app.schema import template_sections

Status = Plan.Status


def _name(user) -> str:
    return display_name(user)


def reconfirmation_due_on(plan: Plan, version: PlanVersion) -> dt.date | None:
    """The day the approved `version` is due to be re-confirmed, or None if the plan was never approved.

    The rule lives with the stored plan facts (`plans.plan_facts.review_due_on`): the version's
    review date while after the last approval, else the last approval plus the review interval.
    """
    if plan.approved_at_utc is None:
        return None
    return review_due_on(version_facts(version), timezone.localdate(plan.approved_at_utc))


def reconfirmation_due(plan: Plan, *, version: PlanVersion | None = None) -> bool:
    """Whether the plan is approved, unchanged since, and its review is due (`plan_reconfirm` may run).

    `version` is the plan's approved version when the caller has it (else one query)."""
    if plan.status != Status.APPROVED or plan.approved_version_id is None:
        return False
    if plan.current_version_id != plan.approved_version_id:
        return False
    version = version if version is not None else plan.approved_version
    due_on = reconfirmation_due_on(plan, version)
    return due_on is not None and due_on <= timezone.localdate()


# --- four eyes: who contributed to a revision --------------------------------------------
#
# A revision is everything between the plan's last final approval and the version under
# review. Whoever shaped it cannot review it: the plan's owner, the person submitting it,
# the authors of its versions, and everyone the audit trail shows changing the plan's
# content in that time. For a re-confirmation (the approved version submitted again) the
# revision is the one that produced that version: it starts at the approval before it.

# Audit actions that change what a version holds -> how a refusal names the change.
CONTRIBUTION_ACTIONS = {
    "version_created": "",  # named by its number: "wrote version 4"
    "section_updated": "",  # named by its section: "the Scope section"
    "contact_added": "the contacts", "contact_changed": "the contacts", "contact_removed": "the contacts",
    "process_added": "the critical processes", "process_changed": "the critical processes",
    "process_removed": "the critical processes",
    "risk_added": "the risks", "risk_changed": "the risks", "risk_removed": "the risks",
    "resource_added": "the resources", "resource_changed": "the resources", "resource_removed": "the resources",
    "attachment_uploaded": "the attachments", "attachment_deleted": "the attachments",
    "plan_changed": "the plan details",
    "template_changed": "the plan's template",
}
NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "since creation": before any audit row


def _approvals_before(plan: Plan, version: PlanVersion) -> QuerySet:
    """The plan's final approvals recorded before `version` was written, newest first."""
    return Audit.objects.filter(
        plan_id=plan.pk, action="plan_approved", at_utc__lt=version.authored_at_utc
    ).order_by("-at_utc", "-id")


def _contribution_entries(plan: Plan, *, since) -> QuerySet:
    """Audit rows of people changing the plan's content at or after `since` (a time or an expression)."""
    return Audit.objects.filter(
        plan_id=plan.pk, action__in=list(CONTRIBUTION_ACTIONS), actor_user__isnull=False, at_utc__gte=since
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass
class Contribution:
    """What one person did to a revision; the first that applies names it in a refusal."""

    owner: bool = False
    submitter: bool = False
    versions: set[int] = field(default_factory=set)
    changes: list[str] = field(default_factory=list)  # "the contacts", or a section key ("section:scope")


@dataclass
class RevisionContributors:
    """Everyone who contributed to a revision, and since when (see `revision_contributors`)."""

    plan: Plan
    since: str  # "since version 3 was approved", "since the plan was created"
    people: dict[int, Contribution]

    def __contains__(self, user_id) -> bool:
        return user_id in self.people

    def _fact(self, user_id: int, *, you: bool) -> str:
        person = self.people[user_id]
        if person.owner:
            return "own this plan" if you else "owns this plan"
        if person.versions:
            numbers = [str(n) for n in sorted(person.versions)]
            return f"wrote version{'s' if len(numbers) > 1 else ''} {_and(numbers)} of this plan"
        if person.submitter:
            return "submitted this plan for review"
        return f"changed {_and(self._changes(person.changes))} {self.since}"

    def _changes(self, changes: list[str]) -> list[str]:
        if not any(c.startswith("section:") for c in changes):
            return changes
        titles = {s["key"]: s["title"] for s in template_sections(self.plan.template)}  # a refusal only
        return [f"the {titles.get(c[8:], c[8:])} section" if c.startswith("section:") else c for c in changes]

    def refusal(self, user, *, actor=None, verb: str = "review") -> str:
        """Why `user` cannot decide on this revision: "You ..." when `user` is `actor`."""
        if actor is not None and user.pk == actor.pk:
            return f"You {self._fact(user.pk, you=True)}, so you cannot {verb} it."
        return f"{_name(user)} {self._fact(user.pk, you=False)}, so they cannot {verb} this revision."


def revision_contributors(plan: Plan, *, version: PlanVersion, submitter_id: int | None = None
                          ) -> RevisionContributors:
    """Who contributed to the revision `version` of the plan (two queries).

    The plan's owner; `submitter_id` (the person submitting, or who submitted, it); the
    authors of the versions written since the last final approval (the `plan_approved` audit
    row) before `version` was written, or since the plan was created; and the actors of the
    audit rows in CONTRIBUTION_ACTIONS since that approval (sections, contacts, processes and the
    vendors they depend on, risks, resources, attachments, plan details, template).
    `eligible_reviewers` applies the same rule in SQL.
    """
    people: dict[int, Contribution] = {}

    def person(user_id: int) -> Contribution:
        return people.setdefault(user_id, Contribution())

    person(plan.owner_user_id).owner = True
    if submitter_id is not None:
        person(submitter_id).submitter = True
    person(version.authored_by_user_id).versions.add(version.version_number)

    base = _approvals_before(plan, version).values_list("at_utc", "details_json").first()
    if base is None:
        since_at, since = NEVER, "since the plan was created"
    else:
        since_at, details = base
        number = details.get("version") if isinstance(details, dict) else None
        since = f"since version {number} was approved" if number else "since the plan was last approved"
    rows = (
        _contribution_entries(plan, since=since_at)
        .values_list("actor_user_id", "action", "details_json__section", "details_json__version")
        .order_by()
        .distinct()
    )
    for user_id, action, section, number in rows:
        contribution = person(user_id)
        if action == "version_created" and isinstance(number, int):
            contribution.versions.add(number)
            continue
        change = f"section:{section}" if action == "section_updated" else CONTRIBUTION_ACTIONS[action] or "the plan"
        if change not in contribution.changes:
            contribution.changes.append(change)
    return RevisionContributors(plan=plan, since=since, people=people)
