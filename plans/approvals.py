"""Who approved a version: a hook that the reviews app fills.

Whether and when a version was approved is on the version (`approved_at_utc`,
`approval_round`). Who approved it lives in the reviews app's rows, which `plans` must not
import (reviews -> plans -> templates_app). So `plans` reads the approvers through one
registered function: `reviews` registers `reviews.approvals.version_approvers` when its app
is ready. Without it (an installation without the reviews app) a version has no approvers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import PlanVersion


@dataclass(frozen=True)
class Approver:
    """One approver of a version: their name and when they decided."""

    name: str
    decided_at_utc: datetime | None


ApproversReader = Callable[["PlanVersion"], list[Approver]]


def _no_approvers(version: PlanVersion) -> list[Approver]:
    return []


_reader: ApproversReader = _no_approvers


def register_approvers_reader(func: ApproversReader) -> None:
    """Make `func(version) -> list[Approver]` the one reader of a version's approvers."""
    global _reader
    _reader = func


def version_approvers(version: PlanVersion) -> list[Approver]:
    """The approvers of `version`'s approval round, in decision order (the registered reader: one query)."""
    if version.approved_at_utc is None:
        return []
    return _reader(version)
