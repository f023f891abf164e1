"""Coverage: who on a plan's distribution acknowledged its approved version, and who is outstanding."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from plans.models import Plan

from .ack_records import approved_number
from .distribution import distribution_users
from .models import Ack


@dataclass
class CoverageRow:
    user: object
    ack_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        return self.ack_at is not None


@dataclass
class Coverage:
    """Who on the distribution acknowledged the approved version, and who is outstanding."""

    version_number: int | None
    approved_at: datetime | None
    acknowledged: list[CoverageRow] = field(default_factory=list)
    outstanding: list[CoverageRow] = field(default_factory=list)
    # Every acknowledgement of the version by user id, including people no longer on the
    # distribution (they do not count in the numbers).
    ack_at_by_user: dict[int, datetime] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.acknowledged) + len(self.outstanding)

    @property
    def acknowledged_count(self) -> int:
        return len(self.acknowledged)

    @property
    def outstanding_count(self) -> int:
        return len(self.outstanding)

    @property
    def percent(self) -> int:
        """Rounded down, so 100% means everyone."""
        return self.acknowledged_count * 100 // self.total if self.total else 0

    @property
    def rows(self) -> list[CoverageRow]:
        """Outstanding first, then acknowledged; each by name."""
        return self.outstanding + self.acknowledged

    def summary(self) -> str:
        if self.version_number is None:
            return "No approved version yet"
        return (
            f"{self.acknowledged_count} of {self.total} ({self.percent}%) acknowledged v{self.version_number}"
        )


def ack_coverage(plan: Plan) -> Coverage:
    """Coverage of the plan's approved version: at most three queries whatever the numbers."""
    number = approved_number(plan)
    coverage = Coverage(version_number=number, approved_at=plan.approved_at_utc)
    if number is None:
        return coverage
    users = list(distribution_users(plan))
    coverage.ack_at_by_user = dict(
        Ack.objects.filter(plan_id=plan.pk, ack_version_number=number).values_list("user_id", "ack_at_utc")
    )
    for user in users:
        ack_at = coverage.ack_at_by_user.get(user.pk)
        (coverage.acknowledged if ack_at else coverage.outstanding).append(CoverageRow(user=user, ack_at=ack_at))
    return coverage
