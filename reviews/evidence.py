"""A plan's evidence chain, as an auditor follows it: each step timestamped and attributed.

    business impact analysis (the approved version's snapshot) -> versions and change notes ->
    reviews and approvals -> acknowledgement coverage -> issued files and their SHA-256 ->
    linked changes and drift -> exercises -> incidents -> findings

`evidence_chain(plan)` returns it as plain data (`EvidenceChain`: sections of `EvidenceItem`s),
so the evidence page, a PDF and an evidence-pack ZIP all read the same thing. Long lists are cut
at `limit` items, with how many there are and the page that lists them all.

Each step is an `EvidenceStep` in a registry, in chain order: a feature adds its own with
`register_evidence_step` (incidents take the slot between exercises and findings,
`INCIDENTS_ORDER`). `plans` cannot import `reviews`, so such a step is written here in
`reviews` and reads the feature's models. Every step runs a fixed number of queries (the module
says which), so the page costs the same whatever the plan's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bcp_site.text import display_name
from plans.models import Exercise, Finding, IssuedFile, Plan, PlanVersion, Process
from plans.panels import changes_panel
from templates_app.values import format_minutes

from .ack_coverage import ack_coverage
from .approvals import version_approvers, versions_approvers
from .models import Ack, Review

EVIDENCE_LIMIT = 10  # items per step on the page; "see all" leads to the full list
INCIDENTS_ORDER = 75  # where incidents go: after exercises (70), before findings (80)
PRODUCT = "the product"
IMPACTS = dict(Process.Impact.choices)  # who did it, when nobody did (a file rendered by a task, a change imported)


@dataclass(frozen=True)
class EvidenceItem:
    """One entry of the chain: when, who, what, and the details a reader checks."""

    at: dt.datetime | dt.date | None
    who: str  # a person's display name, or PRODUCT
    what: str
    detail: str = ""
    url: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # machine-readable facts (hashes, numbers) for packs

    @property
    def is_day(self) -> bool:
        """`at` is a day (an exercise's date), not a moment."""
        return isinstance(self.at, dt.date) and not isinstance(self.at, dt.datetime)


@dataclass
class EvidenceSection:
    """One step of the chain: its items (newest first unless said otherwise), and how to see them all."""

    key: str
    title: str
    summary: str
    items: list[EvidenceItem] = field(default_factory=list)
    total: int | None = None  # how many there are in all (None: the items are all of them)
    see_all_url: str | None = None
    see_all_label: str = ""
    table: list[dict[str, Any]] = field(default_factory=list)  # rows of a table the step shows (the BIA)
    empty: str = "Nothing recorded."

    @property
    def more(self) -> bool:
        return self.total is not None and self.total > len(self.items)


@dataclass
class EvidenceChain:
    plan: Plan
    approved_version: PlanVersion | None
    generated_at: dt.datetime
    sections: list[EvidenceSection]

    def section(self, key: str) -> EvidenceSection | None:
        return next((s for s in self.sections if s.key == key), None)


@dataclass(frozen=True)
class EvidenceStep:
    key: str
    order: int
    build: Callable[..., EvidenceSection | None]  # build(plan=..., limit=...) -> a section, or None to leave it out


_steps: dict[str, EvidenceStep] = {}


def register_evidence_step(key: str, *, order: int, build: Callable[..., EvidenceSection | None]) -> None:
    """Add (or replace, by key) a step of the chain; `order` places it (see the module docstring)."""
    _steps[key] = EvidenceStep(key=key, order=order, build=build)


def evidence_plan_queryset():
    """Plans with what the chain reads alongside: the approved version (with its snapshot) and its author."""
    return Plan.objects.select_related("approved_version", "approved_version__authored_by_user", "owner_user")


def evidence_chain(plan: Plan, *, limit: int = EVIDENCE_LIMIT) -> EvidenceChain:
    """The plan's evidence chain. Load the plan with `evidence_plan_queryset` (else a query more)."""
    approved = plan.approved_version if plan.approved_version_id else None
    sections = []
    for step in sorted(_steps.values(), key=lambda s: (s.order, s.key)):
        section = step.build(plan=plan, limit=limit)
        if section is not None:
            sections.append(section)
    return EvidenceChain(plan=plan, approved_version=approved, generated_at=timezone.now(), sections=sections)


def _url(name: str, *args, query: str = "") -> str | None:
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:  # the page's feature is not installed
        return None


def _minutes(value) -> str:
    return "—" if value is None else format_minutes(value)


# --- 1. business impact analysis ---------------------------------------------------------------------


def bia_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """The critical processes and their recovery objectives as the approved version holds them
    (decision 8: the snapshot, never the live rows). One query: the approvers."""
    section = EvidenceSection(
        key="bia", title="Business impact analysis",
        summary="No approved version yet: there is no approved business impact analysis.",
        empty="No approved version yet.",
    )
    version = plan.approved_version if plan.approved_version_id else None
    if version is None:
        return section
    approvers = [a.name for a in version_approvers(version)]
    processes = [p for p in (version.content_json or {}).get("processes") or [] if isinstance(p, dict)]
    section.summary = (f"{len(processes)} critical process{'es' if len(processes) != 1 else ''} in version "
                       f"{version.version_number}, the approved version.")
    section.table = [{
        "name": str(p.get("name", "")),
        "impact": IMPACTS.get(p.get("impact_rating"), str(p.get("impact_rating") or "")),
        "rto": _minutes(p.get("rto_minutes")), "rpo": _minutes(p.get("rpo_minutes")),
        "mtpd": _minutes(p.get("mtpd_minutes")),
        "rto_minutes": p.get("rto_minutes"), "rpo_minutes": p.get("rpo_minutes"), "mtpd_minutes": p.get("mtpd_minutes"),
        "dependencies": ", ".join(str(d) for d in p.get("dependencies") or []),
    } for p in sorted(processes, key=lambda p: (p.get("rto_minutes") is None, p.get("rto_minutes") or 0))]
    section.items = [EvidenceItem(
        at=version.authored_at_utc, who=display_name(version.authored_by_user),
        what=f"Version {version.version_number} written",
        detail=version.summary_change_note, url=version.get_absolute_url(),
    )]
    if version.approved_at_utc:
        section.items.append(EvidenceItem(
            at=version.approved_at_utc, who=", ".join(approvers) or PRODUCT,
            what=f"Version {version.version_number} approved", url=version.get_absolute_url(),
            values={"approvers": approvers},
        ))
    return section


# --- 2. versions and change notes ----------------------------------------------------------------------


def versions_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """Every version, newest first, with its author, change note and approval. Two queries."""
    versions = list(
        plan.versions.select_related("authored_by_user").defer("content_json").order_by("-version_number")[:limit]
    )
    approvers = versions_approvers(versions)
    total = versions[0].version_number if versions else 0  # numbers are sequential from 1 (invariant 2)
    items = []
    for version in versions:
        state = "approved version" if version.pk == plan.approved_version_id else (
            "active version" if version.pk == plan.current_version_id else "superseded")
        approved = ""
        if version.approved_at_utc:
            names = ", ".join(a.name for a in approvers.get(version.pk, [])) or PRODUCT
            approved = f"; approved {timezone.localtime(version.approved_at_utc):%d %b %Y %H:%M} by {names}"
        items.append(EvidenceItem(
            at=version.authored_at_utc, who=display_name(version.authored_by_user),
            what=f"Version {version.version_number} ({state}{approved})",
            detail=version.summary_change_note or "No change note.", url=version.get_absolute_url(),
            values={"version": version.version_number, "approved_at_utc": version.approved_at_utc},
        ))
    return EvidenceSection(
        key="versions", title="Versions and change notes",
        summary=f"{total} version{'s' if total != 1 else ''}, each frozen when saved.", items=items, total=total,
        see_all_url=_url("plans:version_list", plan.pk), see_all_label="Version history",
        empty="No version saved yet.",
    )


# --- 3. reviews and approvals ------------------------------------------------------------------------------


def reviews_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """Every reviewer's decision, newest request first. Two queries (the count, the rows)."""
    reviews = plan.reviews.all()
    counts = reviews.aggregate(total=Count("pk"), approved=Count("pk", filter=Q(status=Review.Status.APPROVED)))
    rows = (
        reviews.select_related("reviewer_user", "requested_by_user", "version").defer("version__content_json")
        .order_by("-requested_at_utc", "-id")[:limit]
    )
    items = []
    for review in rows:
        requested = (f"Requested by {display_name(review.requested_by_user)} on "
                     f"{timezone.localtime(review.requested_at_utc):%d %b %Y %H:%M}.")
        items.append(EvidenceItem(
            at=review.decided_at_utc or review.requested_at_utc, who=display_name(review.reviewer_user),
            what=f"{review.get_status_display()}: version {review.version.version_number}, round {review.round_number}",
            detail=" ".join(part for part in (requested, review.notes) if part),
            url=review.get_absolute_url(),
            values={"status": review.status, "round": review.round_number,
                    "version": review.version.version_number, "requested_at_utc": review.requested_at_utc},
        ))
    return EvidenceSection(
        key="reviews", title="Reviews and approvals",
        summary=f"{counts['total']} review{'s' if counts['total'] != 1 else ''}, {counts['approved']} approved.",
        items=items, total=counts["total"],
        see_all_url=_url("changes:plan_audit", plan.pk), see_all_label="The plan's audit trail",
        empty="Never submitted for review.",
    )


# --- 4. acknowledgement coverage -----------------------------------------------------------------------------


def acks_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """Coverage of the approved version and its latest acknowledgements. Two queries."""
    coverage = ack_coverage(plan)
    section = EvidenceSection(
        key="acknowledgements", title="Acknowledgement coverage", summary=coverage.summary() + ".",
        see_all_url=_url("acks:coverage", plan.pk), see_all_label="Who acknowledged, and who is outstanding",
        empty="No acknowledgement of the approved version yet.",
    )
    if coverage.version_number is None:
        section.see_all_url = None
        return section
    acks = (
        Ack.objects.filter(plan_id=plan.pk, ack_version_number=coverage.version_number).select_related("user")
        .order_by("-ack_at_utc", "-id")[:limit]
    )
    section.items = [EvidenceItem(at=ack.ack_at_utc, who=display_name(ack.user),
                                  what=f"Acknowledged version {ack.ack_version_number}") for ack in acks]
    section.total = coverage.acknowledged_count
    return section


# --- 5. issued files ---------------------------------------------------------------------------------------------


def files_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """Every file issued of the plan, with its SHA-256 (what the verify page checks). Two queries."""
    files = IssuedFile.objects.filter(plan_id=plan.pk)
    total = files.count()
    rows = files.select_related("version", "issued_by_user").defer("version__content_json").order_by(
        "-issued_at_utc", "-id")[:limit]
    items = []
    for issued in rows:
        of = f" of version {issued.version.version_number}" if issued.version_id else ""
        items.append(EvidenceItem(
            at=issued.issued_at_utc, who=display_name(issued.issued_by_user) or PRODUCT,
            what=f"{issued.get_kind_display()}{of}, marked {issued.get_marking_display().lower()}",
            detail=f"SHA-256 {issued.sha256}",
            values={"sha256": issued.sha256, "kind": issued.kind, "marking": issued.marking,
                    "version": issued.version.version_number if issued.version_id else None,
                    "size_bytes": issued.size_bytes},
        ))
    return EvidenceSection(
        key="files", title="Issued files and their hashes",
        summary=f"{total} file{'s' if total != 1 else ''} issued; anyone holding one can check it on the verify page.",
        items=items, total=total,
        see_all_url=_url("changes:plan_audit", plan.pk, query="action=export_created"),
        see_all_label="Every export in the audit trail", empty="No file issued yet.",
    )


# --- 6. linked changes and drift -----------------------------------------------------------------------------------


def changes_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """Changes linked to the plan, newest first, and whether its review is needed. Two queries."""
    panel = changes_panel(plan)
    approved_at = plan.approved_at_utc
    items = []
    for change in panel["changes"][:limit]:
        after = approved_at is not None and change.occurred_at_utc > approved_at
        items.append(EvidenceItem(
            at=change.occurred_at_utc, who=PRODUCT,
            what=f"{change.change_type}: {change.summary}",
            detail=(f"Imported {timezone.localtime(change.imported_at_utc):%d %b %Y %H:%M}"
                    f"{' from ' + change.source_file if change.source_file else ''}."
                    f"{' After the last approval.' if after else ''}"),
            values={"guid": change.guid, "after_approval": after, "content_hash": change.content_hash},
        ))
    drift = ("Review needed: a linked change happened after the last approval."
             if plan.review_needed else "No linked change since the last approval.")
    return EvidenceSection(
        key="changes", title="Linked changes and drift",
        summary=f"{panel['total']} linked change{'s' if panel['total'] != 1 else ''}, {panel['since_approval']} "
                f"since the last approval. {drift}",
        items=items, total=panel["total"],
        see_all_url=_url("changes:plan_changes", plan.pk), see_all_label="Every linked change",
        empty="No change linked to this plan.",
    )


# --- 7. exercises, and 9. findings ---------------------------------------------------------------------------


def exercises_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """The plan's exercises, newest first, and its exercise cadence. Two queries."""
    exercises = Exercise.objects.filter(plan_id=plan.pk)
    counts = exercises.aggregate(total=Count("pk"), held=Count("pk", filter=Q(held_on__isnull=False)))
    rows = (exercises.select_related("facilitator_user", "version").defer("version__content_json")
            .order_by("-id")[:limit])
    items = [EvidenceItem(
        at=exercise.held_on or exercise.scheduled_on,
        who=display_name(exercise.facilitator_user) or "No facilitator named",
        what=(f"{exercise.get_exercise_type_display()} “{exercise.title}”: {exercise.get_status_display().lower()}"
              f"{', version ' + str(exercise.version.version_number) if exercise.held_on else ''}"),
        detail=exercise.summary, url=exercise.get_absolute_url(),
        values={"status": exercise.status, "held_on": exercise.held_on, "scheduled_on": exercise.scheduled_on},
    ) for exercise in rows]
    cadence = ""
    if plan.next_exercise_due:
        cadence = f" Next exercise due {plan.next_exercise_due:%d %b %Y}."
    if plan.last_exercised_on:
        cadence = f" Last exercised {plan.last_exercised_on:%d %b %Y}." + cadence
    return EvidenceSection(
        key="exercises", title="Exercises",
        summary=f"{counts['total']} exercise{'s' if counts['total'] != 1 else ''}, {counts['held']} held.{cadence}",
        items=items, total=counts["total"],
        see_all_url=_url("exercises:exercise_list", plan.pk), see_all_label="Every exercise",
        empty="No exercise planned or held.",
    )


def findings_step(*, plan: Plan, limit: int) -> EvidenceSection:
    """The plan's findings, newest first, with what is open and overdue. Two queries."""
    today = timezone.localdate()
    findings = Finding.objects.filter(plan_id=plan.pk)
    is_open = Q(status__in=Finding.OPEN_STATUSES)
    counts = findings.aggregate(total=Count("pk"), open=Count("pk", filter=is_open),
                                overdue=Count("pk", filter=is_open & Q(due_on__lt=today)))
    rows = findings.select_related("owner_user", "raised_by_user").order_by("-id")[:limit]
    items = [EvidenceItem(
        at=finding.raised_at_utc, who=display_name(finding.raised_by_user) or PRODUCT,
        what=f"{finding.get_severity_display()} finding: {finding}",
        detail=(f"{finding.get_status_display()}; owner {display_name(finding.owner_user)}; due "
                f"{finding.due_on:%d %b %Y}{' (overdue)' if finding.is_open and finding.due_on < today else ''}."),
        url=finding.get_absolute_url(),
        values={"status": finding.status, "severity": finding.severity, "due_on": finding.due_on},
    ) for finding in rows]
    return EvidenceSection(
        key="findings", title="Findings",
        summary=f"{counts['total']} finding{'s' if counts['total'] != 1 else ''}, {counts['open']} open, "
                f"{counts['overdue']} overdue.",
        items=items, total=counts["total"],
        see_all_url=_url("exercises:finding_list", plan.pk), see_all_label="Every finding",
        empty="No finding raised.",
    )


register_evidence_step("bia", order=10, build=bia_step)
register_evidence_step("versions", order=20, build=versions_step)
register_evidence_step("reviews", order=30, build=reviews_step)
register_evidence_step("acknowledgements", order=40, build=acks_step)
register_evidence_step("files", order=50, build=files_step)
register_evidence_step("changes", order=60, build=changes_step)
register_evidence_step("exercises", order=70, build=exercises_step)
# Incidents: register_evidence_step("incidents", order=INCIDENTS_ORDER, build=incidents_step)
register_evidence_step("findings", order=80, build=findings_step)
