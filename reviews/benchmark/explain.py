"""The query plan of each query a page ran, and flags for what grows with the data.

On MariaDB, `ANALYZE <query>` runs the query and adds to EXPLAIN's columns `r_rows`, the rows
each table really gave: a plan list served by its index reads 26 rows where EXPLAIN's estimate
says 100,000 (it ignores the LIMIT). On MySQL the estimate is all there is (`EXPLAIN`).

Flags (a query reading fewer than `FLAG_MIN_ROWS` rows is never flagged: sorting one page is
nothing, sorting an organisation's 100,000 plans is what this benchmark looks for):
- "filesort of N rows": the order is not served by an index;
- "full scan of <table>": no index serves the filter (type ALL);
- "full index scan of <table>": a whole index is read (type index): reported, not failed;
- "reads N rows" (MariaDB only): an index is used, but the query still reads at least
  `READS_MIN_ROWS` rows (a count, a DISTINCT or a per-person computation over everyone), so
  its cost grows with the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

FLAG_MIN_ROWS = 500
READS_MIN_ROWS = 5_000


@dataclass
class QueryPlan:
    """One query and its plan rows (dicts keyed by MariaDB's column names), or the error."""

    sql: str
    rows: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def flags(self) -> list[str]:
        return plan_flags(self.rows)


def _number(value) -> int | None:
    try:
        return None if value is None else round(float(value))
    except (TypeError, ValueError):
        return None


def rows_read(row: dict) -> int:
    """The rows a table gave: measured (`r_rows`, MariaDB's ANALYZE) when known, else estimated."""
    measured = _number(row.get("r_rows"))
    return measured if measured is not None else (_number(row.get("rows")) or 0)


def plan_flags(rows: list[dict], *, min_rows: int = FLAG_MIN_ROWS) -> list[str]:
    """What grows with the data in one query's plan rows (see the module's docstring); [] when nothing.

    MariaDB prints "Using filesort" on the first table of a join even when the rows sorted come
    from a later one, so a filesort is sized by the largest table read of the whole query.
    Derived tables (`<derived2>`) are results bounded by their own query, never flagged as scans.
    """
    biggest = max((rows_read(row) for row in rows), default=0)
    flags = []
    if biggest >= min_rows and any("filesort" in (row.get("Extra") or "") for row in rows):
        temporary = any("temporary" in (row.get("Extra") or "") for row in rows)
        flags.append(f"filesort{' (temporary table)' if temporary else ''} of ~{biggest:,} rows")
    for row in rows:
        count = rows_read(row)
        if count < min_rows or str(row.get("table") or "").startswith("<"):
            continue
        if row.get("type") == "ALL":
            flags.append(f"full scan of {row.get('table')} (~{count:,} rows)")
        elif row.get("type") == "index":
            flags.append(f"full index scan of {row.get('table')} (~{count:,} rows)")
    measured = any(row.get("r_rows") is not None for row in rows)
    if not flags and measured and biggest >= READS_MIN_ROWS:
        flags.append(f"reads ~{biggest:,} rows")
    return flags


def failing(flag: str) -> bool:
    """Whether a flag fails the index check (a full index scan is only reported)."""
    return not flag.startswith("full index scan")


def explain(sqls: list[str]) -> list[QueryPlan]:
    """The plan of every distinct SELECT of `sqls` on the default database (MariaDB/MySQL only)."""
    if connection.vendor != "mysql":
        return []
    # ANALYZE runs the query (a SELECT: nothing changes) and reports the rows really read.
    keyword = "ANALYZE " if connection.mysql_is_mariadb else "EXPLAIN "
    plans, seen = [], set()
    for sql in sqls:
        if sql in seen or not sql.lstrip().upper().startswith("SELECT"):
            continue
        seen.add(sql)
        plan = QueryPlan(sql=sql)
        try:
            with connection.cursor() as cursor:
                cursor.execute(keyword + sql)
                names = [column[0] for column in cursor.description]
                plan.rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        except Exception as error:  # a query the database cannot explain is reported, not fatal: a report
            plan.error = str(error)[:200]
        plans.append(plan)
    return plans
