"""The benchmark's report: a markdown table, the "flat in size" checks, the targets
and what EXPLAIN found."""

from __future__ import annotations

from dataclasses import dataclass, field

from .explain import FLAG_MIN_ROWS, READS_MIN_ROWS, QueryPlan, failing

FLAT_FACTOR = 1.5
# (page, the page it must cost the same as): the "flat in size" goal.
FLAT_PAIRS = [
    ("list_big", "list_small"),
    ("list_deep", "list_small"),
    ("list_crowd", "list_small"),
    ("detail_crowd", "detail_small"),
    ("admin_big", "admin_small"),
    ("audit_big", "audit_small"),
    ("home_big", "home_small"),
    ("search_big", "search_small"),
]
# (page, share of the admin login page's req/s it should reach): the "close to the ceiling" targets.
TARGETS = [
    ("list_small", 0.50), ("list_big", 0.50), ("list_crowd", 0.50),
    ("detail_large", 0.25), ("compare_large", 0.25),
    ("ack_link", 0.60),
    ("admin_small", 0.25), ("admin_big", 0.25),
]
BARE, LOGIN = "bare", "admin_login"


@dataclass
class PageResult:
    """What was measured of one page."""

    key: str
    label: str
    url: str = ""
    status: int | None = None
    size: int | None = None  # body bytes
    queries: int | None = None
    rps: float | None = None  # wrk requests per second (None: too slow for wrk, see single_ms)
    p50_ms: float | None = None
    single_ms: float | None = None  # one request at a time (median of the probes)
    inproc_ms: float | None = None  # one request in the command's process (test client, no HTTP)
    sql_ms: float | None = None  # of which waiting for the database
    errors: str = ""
    plans: list[QueryPlan] = field(default_factory=list)
    allowed: str = ""  # why EXPLAIN's flags are expected on this page (reported, not failed)

    @property
    def time_ms(self) -> float | None:
        """The page's time for comparisons: wrk's median, else one request's."""
        return self.p50_ms if self.p50_ms is not None else self.single_ms

    @property
    def flags(self) -> list[str]:
        return [flag for plan in self.plans for flag in plan.flags]

    @property
    def bad_flags(self) -> list[str]:
        """Filesorts, full table scans and large reads (full index scans are reported, not failed)."""
        return [flag for flag in self.flags if failing(flag)]


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:,.1f} s" if value >= 10_000 else f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def size_text(size: int | None) -> str:
    if size is None:
        return "—"
    return f"{size / 1024:,.0f} KB" if size >= 10 * 1024 else f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"


def _share(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "—"
    share = 100 * value / reference
    return f"{share:.2f} %" if share < 1 else f"{share:.1f} %" if share < 10 else f"{share:.0f} %"


def _rps(result: PageResult) -> str:
    if result.rps is None:
        return "—"
    return f"{result.rps:,.0f}" if result.rps >= 100 else f"{result.rps:.1f}"


def _p50(result: PageResult) -> str:
    if result.p50_ms is not None:
        return ms(result.p50_ms)
    if result.single_ms is not None:
        return f"{ms(result.single_ms)} (one request)"
    return "—"


def _where(result: PageResult) -> str:
    if result.inproc_ms is None:
        return "—"
    return f"{ms(result.inproc_ms)} ({ms(result.sql_ms)} SQL)"


def _explain_cell(result: PageResult) -> str:
    if not result.plans:
        return ""
    flags = result.flags
    return "; ".join(flags) if flags else "ok"


def table(results: list[PageResult]) -> str:
    """The markdown table: req/s, share of the bare view and of the admin login page, p50, size, queries,
    one request's time in-process and how much of it was the database's, and what EXPLAIN found."""
    by_key = {r.key: r for r in results}
    bare, login = by_key.get(BARE), by_key.get(LOGIN)
    lines = ["| page | req/s | % of bare | % of admin login | p50 | size | queries | one request (SQL) | EXPLAIN |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        label = r.label + (f" ({r.errors})" if r.errors else "")
        lines.append(
            f"| {label} | {_rps(r)} | {_share(r.rps, bare.rps if bare else None)} | "
            f"{_share(r.rps, login.rps if login else None)} | {_p50(r)} | {size_text(r.size)} | "
            f"{'' if r.queries is None else r.queries} | {_where(r)} | {_explain_cell(r)} |"
        )
    return "\n".join(lines)


def flat_checks(results: list[PageResult]) -> list[str]:
    """PASS/FAIL per pair: time within FLAT_FACTOR of the reference page's, and the same number of queries."""
    by_key = {r.key: r for r in results}
    lines = []
    for key, reference_key in FLAT_PAIRS:
        page, reference = by_key.get(key), by_key.get(reference_key)
        if page is None or reference is None:
            continue
        if page.time_ms is None or reference.time_ms is None or page.queries is None:
            lines.append(f"FAIL {page.label}: not measured ({page.errors or reference.errors or 'no figure'})")
            continue
        ratio = page.time_ms / reference.time_ms if reference.time_ms else float("inf")
        same_queries = page.queries == reference.queries
        verdict = "PASS" if ratio <= FLAT_FACTOR and same_queries and not page.errors else "FAIL"
        size = ""
        if page.size and reference.size:
            size = f", size {size_text(page.size)} vs {size_text(reference.size)}"
        lines.append(
            f"{verdict} {page.label} vs {reference.label}: {ms(page.time_ms)} vs {ms(reference.time_ms)} "
            f"({ratio:.2f}×, limit {FLAT_FACTOR}×), queries {page.queries} vs {reference.queries}{size}"
        )
    return lines


def explain_checks(results: list[PageResult]) -> list[str]:
    """One PASS/FAIL line per page whose queries were explained: no filesort or full scan of many rows."""
    lines = []
    for r in results:
        if not r.plans:
            continue
        bad = r.bad_flags
        if bad and r.allowed:
            lines.append(f"NOTE EXPLAIN {r.label}: {'; '.join(bad)} (expected: {r.allowed})")
            continue
        lines.append(f"{'FAIL' if bad else 'PASS'} EXPLAIN {r.label}: "
                     + ("; ".join(bad) if bad else f"{len(r.plans)} queries, no filesort, full scan or large read"))
    return lines


def target_lines(results: list[PageResult]) -> list[str]:
    by_key = {r.key: r for r in results}
    login = by_key.get(LOGIN)
    lines = []
    for key, share in TARGETS:
        page = by_key.get(key)
        if page is None or login is None or not login.rps:
            continue
        reached = (page.rps or 0) / login.rps
        verdict = "MET   " if reached >= share else "MISSED"
        lines.append(f"{verdict} {page.label}: {reached * 100:.1f} % of the admin login page's req/s "
                     f"(target {share * 100:.0f} %)")
    return lines


def flagged_queries(results: list[PageResult], *, sql_chars: int = 400) -> list[str]:
    """The flagged queries themselves, for the reader who wants to see what to index."""
    lines = []
    for r in results:
        for plan in r.plans:
            if plan.flags:
                lines.append(f"- {r.label}: {'; '.join(plan.flags)}")
                for row in plan.rows:
                    measured = f" r_rows={row.get('r_rows')}" if "r_rows" in row else ""
                    lines.append(f"    {row.get('table')}: type={row.get('type')} key={row.get('key')} "
                                 f"rows={row.get('rows')}{measured} {row.get('Extra') or ''}".rstrip())
                lines.append(f"    {plan.sql[:sql_chars]}{'…' if len(plan.sql) > sql_chars else ''}")
            elif plan.error:
                lines.append(f"- {r.label}: EXPLAIN failed ({plan.error}): {plan.sql[:120]}…")
    return lines


def render(results: list[PageResult], *, counts: dict[str, int], setup: str) -> str:
    parts = [
        f"Data: {', '.join(f'{n:,} {what}' for what, n in counts.items())}.",
        setup,
        "",
        table(results),
        "",
        f"Flat in size (time within {FLAT_FACTOR}× of the small organisation's page, same queries):",
        *flat_checks(results),
        "",
        f"Index use (the plan of every query of each page: no filesort or full scan of {FLAG_MIN_ROWS:,} rows or "
        f"more, no query reading {READS_MIN_ROWS:,} rows or more):",
        *explain_checks(results),
        "",
        "Targets (share of the admin login page's req/s):",
        *target_lines(results),
    ]
    flagged = flagged_queries(results)
    if flagged:
        parts += ["", "Flagged queries:", *flagged]
    return "\n".join(parts)
