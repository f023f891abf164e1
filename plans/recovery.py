"""How a recovery time achieved compares with a version's objectives: one rule for exercises and incidents.

An exercise records the minutes a process took to come back (`plans.exercises`); an incident records
when a process was disrupted and when it recovered (`plans.incidents`). Both are judged here, against
the RTO and MTPD of the version's snapshot (decision 8), never the live processes.
"""

from __future__ import annotations

import math
from typing import Any

from templates_app.values import format_minutes


class Outcome:
    """How a recovery time achieved compares with the objectives of the version it is judged against."""

    MET = "met"  # back within the RTO
    MISSED = "missed"  # after the RTO, within the MTPD (or no MTPD)
    BREACHED = "breached"  # after the MTPD: longer than the organisation can tolerate
    NO_OBJECTIVE = "no_objective"  # the version sets no RTO for the process

    LABELS = {MET: "RTO met", MISSED: "RTO missed", BREACHED: "MTPD breached", NO_OBJECTIVE: "No objective"}


RECOVERY_OUTCOMES = list(Outcome.LABELS.items())  # the stored `outcome` of a recovery row


def recovery_outcome(achieved: int, *, rto: int | None, mtpd: int | None) -> str:
    """Met when `achieved` <= RTO; MTPD breached when `achieved` > MTPD (whatever the RTO); no
    objective when there is no RTO (and the MTPD, if any, holds); else the RTO was missed."""
    if mtpd is not None and achieved > mtpd:
        return Outcome.BREACHED
    if rto is None:
        return Outcome.NO_OBJECTIVE
    return Outcome.MET if achieved <= rto else Outcome.MISSED


def int_or_none(value) -> int | None:
    """`value` if it is an int (not a bool), else None: snapshot values are JSON."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def minutes_text(value) -> str:
    """A duration in minutes for people ("4 h 30 min"), "—" when there is none."""
    return "—" if value is None else format_minutes(value)


def snapshot_processes(version) -> list[dict[str, Any]]:
    """The critical processes of a version's snapshot, by name (reads `content_json` if deferred)."""
    processes = [p for p in (version.content_json or {}).get("processes") or [] if isinstance(p, dict)]
    return sorted(processes, key=lambda p: (str(p.get("name") or ""), int_or_none(p.get("id")) or 0))


def minutes_between(start, end) -> int:
    """The whole minutes from `start` to `end`, a started minute counting as a whole one: a process back
    30 seconds after its RTO missed it."""
    seconds = (end - start).total_seconds()
    return max(0, math.ceil(seconds / 60))
