"""Coverage: who on a plan's distribution acknowledged its approved version, and who is outstanding.

Nothing here grows with the organisation on a page:

- `ack_coverage(plan)`: the numbers ("12 of 20 (60%) acknowledged v3") from one query of stored
  totals (`reviews.coverage_counts`; two when the plan's approved version is not loaded).
- `coverage_people(plan, number, show=...)`: the people themselves, each with `ack_at`, ordered
  by username (unique and indexed); `coverage_page` reads one page of them by keyset
  (`?after=<username>` / `?before=<username>`), never counting or skipping rows.

Who is on the distribution is `reviews.distribution.distribution_users`; an acknowledgement
counts when it is of the approved version by someone on the distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from plans.models import Plan

from .ack_records import approved_number
from .distribution import distribution_users
from .models import Ack, AckCount, PlanDistribution, ReaderCount

ALL, OUTSTANDING, ACKNOWLEDGED = "all", "outstanding", "acknowledged"
SHOW_CHOICES = {ALL: "Everyone", OUTSTANDING: "Outstanding", ACKNOWLEDGED: "Acknowledged"}


@dataclass
class CoverageRow:
    user: object
    ack_at: datetime | None
    mail_status: str = ""  # the person's acknowledgement link in the outbox: "link sent", "failed: …"

    @property
    def acknowledged(self) -> bool:
        return self.ack_at is not None


@dataclass
class Coverage:
    """How many people on the distribution acknowledged the approved version (counts only).

    `acknowledged`, `outstanding` and `ack_at_by_user` read every person (a query each, on first
    use): they are for batch work such as reminders, never for a page.
    """

    plan: Plan = field(repr=False)
    version_number: int | None
    approved_at: datetime | None
    total: int = 0
    acknowledged_count: int = 0

    @property
    def outstanding_count(self) -> int:
        return self.total - self.acknowledged_count

    @property
    def percent(self) -> int:
        """Rounded down, so 100% means everyone."""
        return self.acknowledged_count * 100 // self.total if self.total else 0

    def count_for(self, show: str) -> int:
        return {OUTSTANDING: self.outstanding_count, ACKNOWLEDGED: self.acknowledged_count}.get(show, self.total)

    def summary(self) -> str:
        if self.version_number is None:
            return "No approved version yet"
        return f"{self.acknowledged_count} of {self.total} ({self.percent}%) acknowledged v{self.version_number}"

    # --- whole lists, for batch work --------------------------------------------------------

    def _rows(self, show: str) -> list[CoverageRow]:
        if self.version_number is None:
            return []
        people = coverage_people(self.plan, self.version_number, show=show).order_by(
            "last_name", "first_name", "username"
        )
        return [CoverageRow(user=person, ack_at=person.ack_at) for person in people]

    @cached_property
    def acknowledged(self) -> list[CoverageRow]:
        return self._rows(ACKNOWLEDGED)

    @cached_property
    def outstanding(self) -> list[CoverageRow]:
        return self._rows(OUTSTANDING)

    @property
    def rows(self) -> list[CoverageRow]:
        """Outstanding first, then acknowledged; each by name."""
        return self.outstanding + self.acknowledged

    @cached_property
    def ack_at_by_user(self) -> dict[int, datetime]:
        """Every acknowledgement of the version by user id, including people no longer on the
        distribution (they do not count in the numbers)."""
        if self.version_number is None:
            return {}
        return dict(_acks(self.plan.pk, self.version_number).values_list("user_id", "ack_at_utc"))


def _acks(plan_id: int, version_number: int) -> QuerySet:
    return Ack.objects.filter(plan_id=plan_id, ack_version_number=version_number)


def ack_coverage(plan: Plan) -> Coverage:
    """The coverage numbers of the plan's approved version: one query (one more unless the approved
    version is loaded with the plan, and one more when the plan has a distribution list).

    Without a distribution list (everyone in the organisation acknowledges, the usual case) the
    numbers are the stored running totals of `reviews.coverage_counts`, read by key: the same cost
    in an organisation of 10 people or 10,000. A list is read person by person (`distribution_users`).
    """
    number = approved_number(plan)
    coverage = Coverage(plan=plan, version_number=number, approved_at=plan.approved_at_utc)
    if number is None:
        return coverage
    counts = Plan.objects.filter(pk=plan.pk).values("pk").annotate(
        listed=Exists(PlanDistribution.objects.filter(plan_id=OuterRef("pk"))),
        total=Subquery(ReaderCount.objects.filter(organisation_id=OuterRef("org_id")).values("readers")[:1]),
        acknowledged=Subquery(
            AckCount.objects.filter(plan_id=OuterRef("pk"), version_number=number).values("acknowledged")[:1]),
    ).first()
    if counts is not None and not counts["listed"]:
        coverage.total, coverage.acknowledged_count = counts["total"] or 0, counts["acknowledged"] or 0
        return coverage
    acked = Exists(_acks(plan.pk, number).filter(user_id=OuterRef("pk")))
    counts = distribution_users(plan).order_by().aggregate(
        total=Count("pk"), acknowledged=Count("pk", filter=Q(acked))
    )
    coverage.total, coverage.acknowledged_count = counts["total"], counts["acknowledged"]
    return coverage


def coverage_people(plan: Plan, version_number: int, *, show: str = ALL) -> QuerySet:
    """People on the distribution, each annotated with `ack_at` (their acknowledgement of the
    version, or None), ordered by username; `show` narrows to OUTSTANDING or ACKNOWLEDGED."""
    acks = _acks(plan.pk, version_number).filter(user_id=OuterRef("pk"))
    people = distribution_users(plan).annotate(ack_at=Subquery(acks.values("ack_at_utc")[:1]))
    if show == OUTSTANDING:
        people = people.filter(~Exists(acks))
    elif show == ACKNOWLEDGED:
        people = people.filter(Exists(acks))
    return people.order_by("username")


@dataclass
class PeoplePage:
    """One page of `coverage_people`, and the usernames that open its neighbours (None: none)."""

    rows: list[CoverageRow]
    previous_before: str | None
    next_after: str | None
    is_first: bool


def coverage_page(people: QuerySet, *, after: str | None = None, before: str | None = None,
                  size: int = 50) -> PeoplePage:
    """A page of `people` (ordered by username) after or before a username: one query of at most
    size + 1 rows (two when going back reaches the start), whatever the page's depth."""
    if before:
        found = list(people.filter(username__lt=before).order_by("-username")[:size + 1])
        if len(found) > size:
            found = found[:size][::-1]
            return _people_page(found, more_before=True, more_after=True)
        # reached the start: the first page (a full one)
    elif after:
        found = list(people.filter(username__gt=after)[:size + 1])
        return _people_page(found[:size], more_before=True, more_after=len(found) > size)
    found = list(people[:size + 1])
    return _people_page(found[:size], more_before=False, more_after=len(found) > size)


def _people_page(people: list, *, more_before: bool, more_after: bool) -> PeoplePage:
    return PeoplePage(
        rows=[CoverageRow(user=person, ack_at=person.ack_at) for person in people],
        previous_before=people[0].username if people and more_before else None,
        next_after=people[-1].username if people and more_after else None,
        is_first=not more_before,
    )
