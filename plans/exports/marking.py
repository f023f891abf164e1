"""What a file says about its version: draft, approved or superseded, decided when it is rendered.

The marking follows the version's state at that moment:

- approved: the version is the plan's approved version (the plan in force);
- superseded: it was approved, and another version has been approved since;
- draft: it was never approved.

A version's marking only moves forward (draft -> approved -> superseded), so a file asked for
with an earlier marking is answered by the file of the current one (`markings_up_to`).
"""

from __future__ import annotations

from ..models import IssuedFile, Plan, PlanVersion

Marking = IssuedFile.Marking
ORDER = (Marking.DRAFT, Marking.APPROVED, Marking.SUPERSEDED)


def version_marking(version: PlanVersion, *, plan: Plan | None = None) -> Marking:
    """The marking a file of `version` gets if rendered now (reads the plan unless given)."""
    approved_version_id = (
        plan.approved_version_id if plan is not None
        else Plan.objects.filter(pk=version.plan_id).values_list("approved_version_id", flat=True).first()
    )
    if approved_version_id == version.pk:
        return Marking.APPROVED
    if version.approved_at_utc is not None:
        return Marking.SUPERSEDED
    return Marking.DRAFT


def markings_up_to(marking: str) -> list[str]:
    """`marking` and the markings a version has before it."""
    return [m.value for m in ORDER[: ORDER.index(Marking(marking)) + 1]]
