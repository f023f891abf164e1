"""Multi-row INSERTs for benchmark data, with ids chosen up front.

The ORM's `bulk_create` would stamp `auto_now` columns with the time of the insert (every plan
"updated" in the same second) and cannot insert a plan that points at a version inserted after
it. Here the caller chooses each row's id, so rows may point at each other; foreign keys are
checked at commit (SQLite) or not at all while loading (MariaDB: `FOREIGN_KEY_CHECKS=0`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

BATCH = 1000


def next_id(model) -> int:
    """The first free id of a table (ids chosen up front start there)."""
    return (model.objects.aggregate(n=Max("pk"))["n"] or 0) + 1


def insert_rows(model, fields: Sequence[str], rows: Iterable[Sequence], *, batch: int = BATCH) -> int:
    """Insert `rows` (tuples of values for `fields`, model field names or attnames) into the model's table.

    Values are prepared as the ORM would (`get_db_prep_save`: JSON, datetimes, booleans). Columns
    not named get their model default (the database has none: Django keeps defaults in Python),
    `auto_now` ones the time of the load, so a column added to a model later needs no change
    here. One multi-row INSERT per `batch` rows, each batch in its own transaction. Returns the
    row count.
    """
    opts = model._meta
    columns = [opts.get_field(name) for name in fields]
    named = {field.column for field in columns}
    now = timezone.now()
    defaults = [
        (field, now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
         else field.get_default())
        for field in opts.concrete_fields
        if field.column not in named and not field.generated and not (field.primary_key and field.auto_created)
        and not isinstance(field, models.AutoField)
    ]
    extra = tuple(value for _field, value in defaults)
    columns += [field for field, _value in defaults]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(opts.db_table), ", ".join(quote(f.column) for f in columns), ", ".join(["%s"] * len(columns))
    )
    count = 0
    pending: list[tuple] = []

    def flush():
        nonlocal pending
        if pending:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, pending)
            pending = []

    for row in rows:
        pending.append(tuple(field.get_db_prep_save(value, connection)
                             for field, value in zip(columns, (*row, *extra), strict=True)))
        count += 1
        if len(pending) >= batch:
            flush()
    flush()
    return count


@contextmanager
def loading():
    """Relax per-row checks while loading rows that point at each other (restored afterwards).

    MariaDB: no foreign key or unique checks for this connection (the builder's ids are
    consistent by construction). SQLite: Django's foreign keys are deferred to the commit anyway.
    """
    if connection.vendor != "mysql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS=1, UNIQUE_CHECKS=1")
