"""Key performance indicators: the metric registry and the live figures of an organisation.

A metric is a `Metric`: a key (stored in `bc_kpi.metric_key`), a label, a unit (a percentage
or a count), how to compute it for one organisation with database aggregates, and where the
items behind it are listed. Metrics are declared in `reviews.kpi_metrics` (the registration
point: `plans` cannot import `reviews`, so a feature of `plans` such as incidents or vendors adds
its metrics there, reading its own models), registered when the app starts:

    register_metric(Metric(
        key="vendors_stale_evidence", label="Vendors with stale evidence", unit=COUNT,
        rows=org_vendors,                                    # (org_id, today) -> the rows it counts
        numerator=lambda today: Count("pk", filter=Q(evidence_due__lt=today)),
        items=lambda: reverse("vendors:vendor_list") + "?stale=on",
    ))

A percentage also gives a `denominator` aggregate; its value is numerator / denominator, rounded
down to a tenth (so 100% means all). Metrics whose `rows` is the same function are computed
together, in one aggregate query (`figures`): the dashboard runs one query per kind of rows,
whatever the number of plans, people or acknowledgements.

Snapshots of these figures, one row per organisation, metric and day, are `reviews.kpi_snapshots`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Aggregate, QuerySet
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch
from django.utils import timezone

from .models import Kpi

PERCENT, COUNT = Kpi.Unit.PERCENT, Kpi.Unit.COUNT
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Metric:
    """One figure the product tracks per organisation (see the module docstring)."""

    key: str
    label: str
    unit: str  # PERCENT or COUNT
    rows: Callable[[int, dt.date], QuerySet]  # the rows counted for one organisation on a day
    numerator: Callable[[dt.date], Aggregate]
    denominator: Callable[[dt.date], Aggregate] | None = None  # percentages only
    items: Callable[[], str] | None = None  # the URL of the list of items behind the figure
    items_label: str = ""  # what that list shows, e.g. "Plans whose review is overdue"
    help: str = ""  # what is counted, in a sentence
    higher_is_better: bool = True
    order: int = 100  # position on the dashboard

    def items_url(self) -> str | None:
        """The list behind the figure, or None (no list, or its page is not installed)."""
        if self.items is None:
            return None
        try:
            return self.items()
        except NoReverseMatch:
            return None


_registry: dict[str, Metric] = {}


def register_metric(metric: Metric) -> None:
    """Add (or replace, by key) a metric: it is shown on the dashboard and snapshotted daily from now on."""
    if metric.unit not in (PERCENT, COUNT):
        raise ValueError(f"metric {metric.key!r}: unit must be {PERCENT!r} or {COUNT!r}")
    if (metric.unit == PERCENT) != (metric.denominator is not None):
        raise ValueError(f"metric {metric.key!r}: a percentage, and only a percentage, has a denominator")
    if not metric.key or len(metric.key) > Kpi._meta.get_field("metric_key").max_length:
        raise ValueError(f"metric {metric.key!r}: a key of 1 to 64 characters")
    _registry[metric.key] = metric


def metrics() -> list[Metric]:
    """Every registered metric, in dashboard order."""
    return sorted(_registry.values(), key=lambda m: (m.order, m.key))


def metric_for(key: str) -> Metric | None:
    return _registry.get(key)


# --- figures --------------------------------------------------------------------------------------


def percent_of(numerator: int, denominator: int | None) -> Decimal | None:
    """numerator / denominator as a percentage rounded down to a tenth; None when there is nothing to count."""
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(TENTH, rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class Figure:
    """A metric's value for one organisation (live, or from a snapshot)."""

    metric: Metric
    numerator: int
    denominator: int | None = None

    @property
    def value(self) -> Decimal | None:
        if self.metric.unit == PERCENT:
            return percent_of(self.numerator, self.denominator)
        return Decimal(self.numerator)

    @property
    def display(self) -> str:
        return format_value(self.value, self.metric.unit)

    @property
    def detail(self) -> str:
        """"5 of 6" for a percentage; "" for a count."""
        if self.metric.unit != PERCENT:
            return ""
        return f"{self.numerator} of {self.denominator or 0}"


def format_value(value: Decimal | None, unit: str) -> str:
    """"83.3%", "100%", "7"; "—" when there was nothing to count."""
    if value is None:
        return "—"
    text = f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.1f}"
    return f"{text}%" if unit == PERCENT else text


def figures(org_id: int, *, today: dt.date | None = None) -> list[Figure]:
    """Every metric's figure for the organisation, computed live.

    One aggregate query per kind of rows (metrics sharing a `rows` function share it), whatever
    the size of the organisation.
    """
    today = today or timezone.localdate()
    chosen = metrics()
    groups: dict[Callable, list[tuple[int, Metric]]] = {}
    for index, metric in enumerate(chosen):
        groups.setdefault(metric.rows, []).append((index, metric))
    counts: dict[int, tuple[int, int | None]] = {}
    for rows, members in groups.items():
        aggregates = {}
        for index, metric in members:
            aggregates[f"n{index}"] = Coalesce(metric.numerator(today), 0)
            if metric.denominator is not None:
                aggregates[f"d{index}"] = Coalesce(metric.denominator(today), 0)
        result = rows(org_id, today).order_by().aggregate(**aggregates)
        for index, metric in members:
            counts[index] = (int(result[f"n{index}"]), int(result[f"d{index}"]) if metric.denominator else None)
    return [Figure(metric=metric, numerator=counts[i][0], denominator=counts[i][1]) for i, metric in enumerate(chosen)]
