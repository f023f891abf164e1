"""Which issued file is this? The verify page and `manage.py verify_export` ask the issued-file table only.

Every kind is found: plan exports (a version's PDF or DOCX), break-glass packs and evidence packs of a
version, exercises' after-action reports, post-incident reports and KPI reports. The last two are the
organisation's files and name no plan: they are described by their incident or their organisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Q

from ..models import IssuedFile, PlanVersion
from .issued import EXPORT_KIND
from .render import KIND_LABELS, NOT_APPROVED, Approval, format_utc, version_approval

Marking = IssuedFile.Marking


# What each kind of file is called when it is described ("the PDF of plan ...").
KIND_WORDS = {
    IssuedFile.Kind.BREAKGLASS_HTML: "break-glass pack (offline HTML)",
    IssuedFile.Kind.BREAKGLASS_PDF: "break-glass pack (PDF)",
    IssuedFile.Kind.EVIDENCE_PACK: "evidence pack",
}


@dataclass(frozen=True)
class ExportMatch:
    issued: IssuedFile
    version: PlanVersion | None  # None for reports (exercise, incident, KPI)
    approval: Approval

    @property
    def is_report(self) -> bool:
        return self.issued.kind == IssuedFile.Kind.EXERCISE_REPORT

    @property
    def is_incident_report(self) -> bool:
        return self.issued.kind == IssuedFile.Kind.INCIDENT_REPORT

    @property
    def is_kpi_report(self) -> bool:
        return self.issued.kind == IssuedFile.Kind.KPI_REPORT

    @property
    def kind(self) -> str:
        if self.issued.kind in EXPORT_KIND:
            return EXPORT_KIND[self.issued.kind]
        return "html" if self.issued.kind == IssuedFile.Kind.BREAKGLASS_HTML else "pdf"

    @property
    def kind_label(self) -> str:
        return KIND_WORDS.get(self.issued.kind) or KIND_LABELS.get(self.kind, self.kind.upper())

    @property
    def plan(self):
        """The plan the file belongs to; None for the organisation's files (incident and KPI reports)."""
        return self.issued.plan

    @property
    def organisation_name(self) -> str:
        org = self.issued.org or (self.plan.org if self.plan is not None else None)
        return org.name if org is not None else ""

    @property
    def link(self) -> tuple[str, str]:
        """(URL, words) of the page the file belongs to: its version's, its exercise's or incident's, the KPIs."""
        if self.is_report:
            return self.issued.exercise.get_absolute_url(), f"Open the exercise “{self.issued.exercise.title}”"
        if self.is_incident_report:
            return self.issued.incident.get_absolute_url(), f"Open the incident “{self.issued.incident.title}”"
        if self.version is None:
            return self.issued.get_absolute_url(), "Open the KPI dashboard"
        return self.version.get_absolute_url(), f"Open version {self.version.version_number}"

    def _organisation_file(self, issued_on: str) -> str:
        if self.is_incident_report:
            incident = self.issued.incident
            return (f"This is the post-incident report of the incident \u201c{incident.title}\u201d of "
                    f"{self.organisation_name}, issued {issued_on}.")
        return f"This is a KPI report of {self.organisation_name}, issued {issued_on}."

    def describe(self) -> str:
        """What the file is, as issued, and (for an approved file) whether it is still the plan in force."""
        if self.is_report:
            exercise = self.issued.exercise
            held = f", held on {exercise.held_on:%Y-%m-%d}" if exercise.held_on else ""
            return (f"This is the after-action report of the exercise \u201c{exercise.title}\u201d of plan "
                    f"\u201c{self.plan.title}\u201d{held}. Issued {format_utc(self.issued.issued_at_utc)}.")
        if self.version is None:
            return self._organisation_file(format_utc(self.issued.issued_at_utc))
        approved_on = format_utc(self.approval.at_utc, with_time=False) if self.approval.approved else ""
        marking = self.issued.marking
        if marking == Marking.APPROVED:
            state = f"approved on {approved_on}"
        elif marking == Marking.SUPERSEDED:
            state = f"approved on {approved_on}, marked superseded (issued after a later version was approved)"
        else:
            state = "not approved"
        text = (f"This is the {self.kind_label} of plan \u201c{self.plan.title}\u201d, "
                f"version {self.version.version_number}, {state}.")
        if marking == Marking.APPROVED and self.plan.approved_version_id != self.version.pk:
            text += " A later version of the plan has been approved since."
        issued_on = format_utc(self.issued.issued_at_utc)
        return f"{text} Issued {issued_on}."

    def public_description(self) -> str:
        """What anyone holding the file learns (the verify page without signing in): which file of which
        plan and version it is, and the day it was issued; nothing about approvals or people."""
        issued_on = format_utc(self.issued.issued_at_utc, with_time=False)
        if self.is_report:
            return (f"This is the after-action report of the exercise \u201c{self.issued.exercise.title}\u201d of "
                    f"plan \u201c{self.plan.title}\u201d, issued on {issued_on}.")
        if self.version is None:
            return self._organisation_file(f"on {issued_on}")
        return (f"This is the {self.kind_label} of plan \u201c{self.plan.title}\u201d, version "
                f"{self.version.version_number}, issued on {issued_on}.")


def hash_stream(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def export_find(*, digest: str, organisation=None, all_organisations: bool = False) -> ExportMatch | None:
    """The issued file with this SHA-256 among plans of `organisation` (or of all when asked).

    Two queries (the file with its plan and version, then the approvers). Without an
    organisation and without `all_organisations`, nothing matches: a user outside every
    organisation sees no plans.
    """
    digest = (digest or "").strip().lower()
    if len(digest) != 64:
        return None
    files = IssuedFile.objects.filter(sha256=digest).select_related("org", "plan__org", "version", "exercise",
                                                                      "incident")
    if not all_organisations:
        if organisation is None:
            return None
        # The organisation's files name it and no plan; older plan files may have been written without it.
        files = files.filter(Q(org=organisation) | Q(plan__org=organisation))
    issued = files.defer("version__content_json", "plan__draft_content_json").order_by("pk").first()
    if issued is None:
        return None
    if issued.version is None:  # a report: an exercise's, an incident's, the organisation's KPIs
        return ExportMatch(issued=issued, version=None, approval=NOT_APPROVED)
    return ExportMatch(issued=issued, version=issued.version, approval=version_approval(issued.version))
