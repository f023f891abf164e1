"""Which issued file is this? The verify page and `manage.py verify_export` ask the issued-file table only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..models import IssuedFile, PlanVersion
from .issued import EXPORT_KIND
from .render import KIND_LABELS, Approval, format_utc, version_approval

Marking = IssuedFile.Marking


@dataclass(frozen=True)
class ExportMatch:
    issued: IssuedFile
    version: PlanVersion
    approval: Approval

    @property
    def kind(self) -> str:
        return EXPORT_KIND[self.issued.kind]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def plan(self):
        return self.issued.plan

    def describe(self) -> str:
        """What the file is, as issued, and (for an approved file) whether it is still the plan in force."""
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
    files = IssuedFile.objects.filter(sha256=digest, version__isnull=False).select_related("plan__org", "version")
    if not all_organisations:
        if organisation is None:
            return None
        files = files.filter(plan__org=organisation)
    issued = files.defer("version__content_json").order_by("pk").first()
    if issued is None:
        return None
    return ExportMatch(issued=issued, version=issued.version, approval=version_approval(issued.version))
