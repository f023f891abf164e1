"""Turning section values (content_json shapes) into text people read, and durations both ways.

Used by plan pages, diffs and the PDF/DOCX exports, so a value reads the same everywhere.
Nothing here touches the database except `reference_names()`, which says so.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from bcp_site.limits import DURATION_MAX_MINUTES
from bcp_site.text import display_name

from .schema import CONTACT_REF, USER_REF, choice_pairs, is_empty, template_sections

EMPTY = "—"
MINUTES_PER_UNIT = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
_UNIT_WORDS = {
    "w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
    "d": "d", "day": "d", "days": "d",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
}
_TOKEN = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"(\d+):([0-5]\d)")
DURATION_HINT = 'Enter a duration such as "4h", "90m", "1h 30m", "2d" or a number of minutes.'
DURATION_MAX_CHARACTERS = 100  # "1 week, 6 days, 23 hours and 59 minutes" is 40
DURATION_TOO_LONG = "A duration can be at most 2,147,483,647 minutes (about 4,000 years)."


def parse_duration(text) -> int:
    """Minutes in a duration typed by a person: "4h", "90m", "1h 30m", "2d", "1.5h", "45", "1:30".

    Raises ValueError with a message that can be shown to the person.
    """
    if isinstance(text, bool):
        raise ValueError(DURATION_HINT)
    if isinstance(text, int):
        if text < 0:
            raise ValueError("A duration cannot be negative.")
        return _bounded(text)
    raw = str(text or "").strip().lower()
    if not raw:
        raise ValueError(DURATION_HINT)
    if raw.startswith("-"):
        raise ValueError("A duration cannot be negative.")
    if len(raw) > DURATION_MAX_CHARACTERS:
        raise ValueError(f"A duration is at most {DURATION_MAX_CHARACTERS} characters. {DURATION_HINT}")
    if re.fullmatch(r"\d+", raw):
        return _bounded(int(raw))
    if match := _CLOCK.fullmatch(raw):
        return _bounded(int(match[1]) * 60 + int(match[2]))
    total = Decimal(0)
    position = 0
    cleaned = re.sub(r"(?<!\d),|,(?!\d)", " ", raw)  # "1h, 30m" but not "0,5h"
    cleaned = re.sub(r"\s+and\s+|\s+", " ", cleaned).strip()
    for match in _TOKEN.finditer(cleaned):
        between = cleaned[position:match.start()].strip()
        unit = _UNIT_WORDS.get(match[2])
        if between or unit is None:
            raise ValueError(f'"{text}" is not a duration. {DURATION_HINT}')
        total += Decimal(match[1].replace(",", ".")) * MINUTES_PER_UNIT[unit]
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        raise ValueError(f'"{text}" is not a duration. {DURATION_HINT}')
    if total > DURATION_MAX_MINUTES:
        raise ValueError(DURATION_TOO_LONG)
    if total != total.to_integral_value():
        raise ValueError(f'"{text}" is not a whole number of minutes.')
    return int(total)


def _bounded(minutes: int) -> int:
    """Minutes that fit the INT columns of processes (bcp_site.limits), else ValueError."""
    if minutes > DURATION_MAX_MINUTES:
        raise ValueError(DURATION_TOO_LONG)
    return minutes


def _split_minutes(minutes: int) -> tuple[int, int, int]:
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    return days, hours, mins


def format_minutes(minutes: int | None) -> str:
    """Minutes as people read them: 0 -> "0 min", 90 -> "1 h 30 min", 1500 -> "1 day 1 h", None -> "—"."""
    if minutes is None or minutes == "":
        return EMPTY
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        return str(minutes)
    if minutes < 0:
        return "-" + format_minutes(-minutes)
    if minutes == 0:
        return "0 min"
    days, hours, mins = _split_minutes(minutes)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if mins:
        parts.append(f"{mins} min")
    return " ".join(parts)


def format_duration_input(minutes: int | None) -> str:
    """Minutes as typed in a form, which parse_duration reads back: 270 -> "4h 30m", 0 -> "0m"."""
    if minutes is None or minutes == "":
        return ""
    minutes = int(minutes)
    if minutes == 0:
        return "0m"
    days, hours, mins = _split_minutes(minutes)
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n)


def format_date(value) -> str:
    """An ISO date (or date) as "31 March 2025"; text that is not a date is shown as it is."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    return f"{value.day} {value:%B %Y}"


def format_datetime(value) -> str:
    """An ISO date-time as "31 March 2025 14:30 UTC" in the display time zone."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    try:
        local = timezone.localtime(value)
    except OverflowError:  # a value saved before the limits: shown as it was stored
        local = value
    return f"{local.day} {local:%B %Y %H:%M} {local.tzname() or ''}".strip()


def _lookup(names: dict | None, value) -> str | None:
    if not names:
        return None
    if value in names:
        return str(names[value])
    return names.get(str(value)) if str(value) in names else None


def display_value(field: dict[str, Any], value, *, contacts: dict | None = None, users: dict | None = None) -> str:
    """Human text for a value of any field type; "—" when empty.

    `contacts` and `users` map ids to names (see `reference_names()`); an id not in the
    map reads "Contact #7" / "User #7". Booleans read Yes/No, selects their choice label,
    durations "4 h 30 min", tables one line per row ("Column: value; ...").
    """
    kind = field.get("type")
    if kind == "boolean":
        if value is None:
            return EMPTY
        return "Yes" if value else "No"
    if is_empty(value):
        return EMPTY
    if kind == "select":
        return dict(choice_pairs(field)).get(str(value), str(value))
    if kind == "multiselect":
        labels = dict(choice_pairs(field))
        items = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(item), str(item)) for item in items)
    if kind == "duration":
        return format_minutes(value)
    if kind == "date":
        return format_date(value)
    if kind == "datetime":
        return format_datetime(value)
    if kind == "decimal":
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if kind == USER_REF:
        return _lookup(users, value) or f"User #{value}"
    if kind == CONTACT_REF:
        return _lookup(contacts, value) or f"Contact #{value}"
    if kind == "table":
        headers, rows = table_display(field, value, contacts=contacts, users=users)
        return "\n".join("; ".join(f"{h}: {c}" for h, c in zip(headers, row, strict=True)) for row in rows)
    return str(value)


def table_display(
    field: dict[str, Any], value, *, contacts: dict | None = None, users: dict | None = None
) -> tuple[list[str], list[list[str]]]:
    """A table field's value as (column labels, rows of display strings)."""
    columns = field.get("columns") or []
    headers = [column.get("label") or column["key"] for column in columns]
    rows = []
    for row in value if isinstance(value, list) else []:
        row = row if isinstance(row, dict) else {}
        rows.append([display_value(c, row.get(c["key"]), contacts=contacts, users=users) for c in columns])
    return headers, rows


def reference_ids(sections: list[dict[str, Any]], content: dict) -> tuple[set[int], set[int]]:
    """(contact ids, user ids) that the content's contact/user reference fields point to."""
    contact_ids: set[int] = set()
    user_ids: set[int] = set()

    def collect(field, value):
        if is_empty(value):
            return
        if field.get("type") == CONTACT_REF and isinstance(value, int):
            contact_ids.add(value)
        elif field.get("type") == USER_REF and isinstance(value, int):
            user_ids.add(value)
        elif field.get("type") == "table" and isinstance(value, list):
            for row in value:
                for column in field.get("columns", []):
                    if isinstance(row, dict):
                        collect(column, row.get(column["key"]))

    for section in sections:
        values = (content or {}).get(section["key"]) or {}
        if isinstance(values, dict):
            for field in section["fields"]:
                collect(field, values.get(field["key"]))
    return contact_ids, user_ids


def reference_names(
    template, content: dict, *, plan=None, sections=None
) -> tuple[dict[int, str], dict[int, str]]:
    """(contacts, users) id -> name maps for display_value, for everything `content` refers to.

    Contact names come from the content's own "contacts" snapshot when it has one (a version
    renders alone); otherwise one query on `plan.contacts` (without a plan, unknown contacts
    stay unnamed: this app does not import `plans`, and a contact is only ever looked up within
    its own plan). Users: one query. No query when nothing is referenced. Pass `sections` (from
    template_sections) to save the section query.
    """
    sections = sections if sections is not None else template_sections(template)
    contact_ids, user_ids = reference_ids(sections, content)
    contacts: dict[int, str] = {}
    snapshot = (content or {}).get("contacts")
    if isinstance(snapshot, list):
        contacts = {c["id"]: c.get("name", "") for c in snapshot if isinstance(c, dict) and "id" in c}
    missing = contact_ids - set(contacts)
    if missing and plan is not None:
        contacts.update(plan.contacts.filter(pk__in=missing).values_list("pk", "name"))
    users: dict[int, str] = {}
    if user_ids:
        for user in get_user_model().objects.filter(pk__in=user_ids).only("username", "first_name", "last_name"):
            users[user.pk] = display_name(user)
    return contacts, users
