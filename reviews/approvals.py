"""The approvers of a version: the reviews of its approval round (`PlanVersion.approval_round`).

The one place that reads them; `plans` (exports) reaches it through the hook in
plans/approvals.py, registered in ReviewsConfig.ready().
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from bcp_site.text import display_name
from plans.approvals import Approver
from plans.models import PlanVersion

from .models import Review


def _approver(review: Review) -> Approver:
    return Approver(name=display_name(review.reviewer_user), decided_at_utc=review.decided_at_utc)


def _round_reviews(condition: Q):
    return (
        Review.objects.filter(condition, status=Review.Status.APPROVED)
        .select_related("reviewer_user")
        .order_by("decided_at_utc", "id")
    )


def version_approvers(version: PlanVersion) -> list[Approver]:
    """The approved reviews of the version's approval round, in decision order (one query; none when
    the version was never approved through a review round)."""
    if version.approval_round is None:
        return []
    return [_approver(r) for r in _round_reviews(Q(version_id=version.pk, round_number=version.approval_round))]


def versions_approvers(versions: Iterable[PlanVersion]) -> dict[int, list[Approver]]:
    """Version id -> its approvers (as `version_approvers`) for several versions (one query at most)."""
    rounds = [(v.pk, v.approval_round) for v in versions if v.approval_round is not None]
    result: dict[int, list[Approver]] = {}
    if not rounds:
        return result
    condition = Q()
    for version_id, round_number in rounds:
        condition |= Q(version_id=version_id, round_number=round_number)
    for review in _round_reviews(condition):
        result.setdefault(review.version_id, []).append(_approver(review))
    return result
