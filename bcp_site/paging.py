"""Keyset pagination: "Newer" / "Older" pages that cost the same on page 1 and page 10,000.

A list ordered by a key such as (updated_at desc, id desc) is paged by remembering the key of
the last row shown (the cursor) and asking for the rows after it: with an index on
(filter columns, key columns) the database reads one page of rows, whatever the depth, and
never counts the whole list. The cursor travels in the query string (`?cursor=...`); it is
opaque to users, and one that does not parse answers the first page (never an error).

Rows whose key changes during a walk (a plan edited while someone pages through the list)
move before the cursor: they are not shown again further down, and each row whose key does
not change is shown exactly once.

    page = keyset_page(request, plans, keys=("updated_at", "id"), per_page=25)
    {% include "includes/keyset_pager.html" %}   (context: page)

Every key is descending and the last one must be unique within the list (the id, or a
number unique per plan such as a version number).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass

from django.db import models
from django.db.models import Q, QuerySet

from .limits import ID_MAX

CURSOR_PARAM = "cursor"
OLDER, NEWER = "o", "n"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_MAX_CURSOR_LENGTH = 200
_NUMBER = re.compile(r"-?[0-9]{1,19}")


@dataclass
class KeysetPage:
    """One page of rows, newest first, and the cursors of its neighbours (None: no such page)."""

    object_list: list
    newer_cursor: str | None = None
    older_cursor: str | None = None
    is_first: bool = True

    @property
    def has_newer(self) -> bool:
        return self.newer_cursor is not None

    @property
    def has_older(self) -> bool:
        return self.older_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_newer or self.has_older or not self.is_first

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __bool__(self) -> bool:
        return bool(self.object_list)


class KeysetPaginator:
    """Pages of `queryset` in descending order of `keys` (the last key unique), `per_page` rows each.

    Each page is one query of at most per_page + 1 rows (the extra row tells whether an
    older page exists); no COUNT. Going back to a newer page queries ascending from the
    cursor and reverses; when that reaches the top of the list, the first page is read
    instead (a second query) so the newest page is always a full one.
    """

    def __init__(self, queryset: QuerySet, *, keys: tuple[str, ...] = ("updated_at", "id"), per_page: int = 25):
        if not keys or per_page < 1:
            raise ValueError("A keyset paginator needs at least one key and a positive page size.")
        self.queryset = queryset
        self.keys = tuple(keys)
        self.per_page = per_page
        self._kinds = tuple(_kind(queryset.model, name) for name in self.keys)

    # --- cursors -------------------------------------------------------------------------

    def cursor_for(self, row, direction: str) -> str:
        values = [_encode_value(_value_of(row, name)) for name in self.keys]
        raw = ":".join([direction, *values]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def parse_cursor(self, cursor) -> tuple[str, tuple] | None:
        """(direction, key values) from a cursor, or None when it is missing or malformed."""
        if not cursor or not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR_LENGTH:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            return None
        direction, *parts = raw.split(":")
        if direction not in (OLDER, NEWER) or len(parts) != len(self.keys):
            return None
        values = []
        for kind, part in zip(self._kinds, parts, strict=True):
            value = _decode_value(kind, part)
            if value is None:
                return None
            values.append(value)
        return direction, tuple(values)

    # --- pages ---------------------------------------------------------------------------

    def page(self, cursor=None) -> KeysetPage:
        parsed = self.parse_cursor(cursor)
        rows = list(self.page_query(cursor))
        if parsed is None:
            return self._page(rows[:self.per_page], more_older=len(rows) > self.per_page, is_first=True)
        if parsed[0] == OLDER:
            return self._page(rows[:self.per_page], more_older=len(rows) > self.per_page, is_first=False)
        if len(rows) <= self.per_page:  # reached the top of the list: show the (full) first page
            return self.page(None)
        return self._page(rows[:self.per_page][::-1], more_older=True, is_first=False)

    def page_query(self, cursor=None) -> QuerySet:
        """The one query a page reads (per_page + 1 rows): for EXPLAIN, and for `page`."""
        parsed = self.parse_cursor(cursor)
        if parsed is None:
            return self._ordered(descending=True)[:self.per_page + 1]
        direction, values = parsed
        older = direction == OLDER
        return self._ordered(descending=older).filter(self._beyond(values, older=older))[:self.per_page + 1]

    def _page(self, rows: list, *, more_older: bool, is_first: bool) -> KeysetPage:
        return KeysetPage(
            object_list=rows,
            newer_cursor=self.cursor_for(rows[0], NEWER) if rows and not is_first else None,
            older_cursor=self.cursor_for(rows[-1], OLDER) if rows and more_older else None,
            is_first=is_first,
        )

    def _ordered(self, *, descending: bool) -> QuerySet:
        sign = "-" if descending else ""
        return self.queryset.order_by(*(sign + name for name in self.keys))

    def _beyond(self, values: tuple, *, older: bool) -> Q:
        """Rows strictly past `values` in the walking direction, written so that an index on the
        keys serves it: `k1 <= v1 AND (k1 < v1 OR (k2 <= v2 AND (...)))` for older rows."""
        op, op_eq = ("lt", "lte") if older else ("gt", "gte")
        name, value = self.keys[-1], values[-1]
        condition = Q(**{f"{name}__{op}": value})
        for name, value in zip(reversed(self.keys[:-1]), reversed(values[:-1]), strict=True):
            condition = Q(**{f"{name}__{op_eq}": value}) & (Q(**{f"{name}__{op}": value}) | condition)
        return condition


def keyset_page(request, queryset: QuerySet, *, keys: tuple[str, ...] = ("updated_at", "id"),
                per_page: int = 25) -> KeysetPage:
    """The page of `queryset` that the request's `?cursor=` asks for (the first page if none or bad)."""
    return KeysetPaginator(queryset, keys=keys, per_page=per_page).page(request.GET.get(CURSOR_PARAM))


# --- key values in a cursor ------------------------------------------------------------------

_DATETIME, _INTEGER = "datetime", "integer"


def _kind(model, name: str) -> str:
    model_field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if isinstance(model_field, models.DateTimeField):
        return _DATETIME
    if isinstance(model_field, models.IntegerField | models.AutoField):
        return _INTEGER
    raise ValueError(f"Keyset keys must be datetime or integer fields; {model.__name__}.{name} is neither.")


def _value_of(row, name: str):
    return row.pk if name == "pk" else getattr(row, name)


def _encode_value(value) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str((value - _EPOCH) // _MICROSECOND)
    return str(int(value))


def _decode_value(kind: str, text: str):
    if not _NUMBER.fullmatch(text):
        return None
    number = int(text)
    if kind == _INTEGER:
        return number if -ID_MAX <= number <= ID_MAX else None
    try:
        return _EPOCH + number * _MICROSECOND
    except OverflowError:
        return None
