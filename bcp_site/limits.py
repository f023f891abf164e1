"""What input the site accepts: numbers, dates and JSON that both databases and Python can hold.

Invariant 9 (bad input gets a clear answer, never a 500): every entry point parses, then
range-checks against these limits, and refuses with a message instead of letting the
database or the standard library raise. The limits, and why:

- **Ids** (BigAutoField primary keys): 1 .. 2**63-1, SQLite's INTEGER and MariaDB's signed
  BIGINT. URLs take ids through the `<id:...>` converter, which matches nothing larger
  (so a larger id is a 404).
- **Integer columns** (IntegerField): -2**31 .. 2**31-1, MariaDB's INT. SQLite would take
  64 bits; MariaDB would refuse the row.
- **Numbers inside JSON** (template schemas, section values, change files): integers and
  floats within ±2**53, the range a double (MariaDB's JSON, browsers' JSON.parse) holds
  exactly. NaN and Infinity are not JSON and are refused. Python refuses to read an integer
  of more than 4,300 digits, so a longer one is refused before it is read.
- **Decimal values** (decimal fields, stored as strings): within ±2**53, at most
  DECIMAL_MAX_PLACES digits after the point.
- **Durations** (minutes): 0 .. 2**31-1, the INT column of a process's RTO/RPO/MTPD.
- **Dates**: years 1 .. 9999 (Python's `date`). **Date-times**: between 0001-01-02 and
  9999-12-30 in UTC, so that converting one to UTC or to any display time zone (offsets are
  under a day) never leaves Python's range.
- **JSON depth**: at most JSON_MAX_NESTING (31) arrays/objects inside one another. MariaDB
  stores JSON as text checked by JSON_VALID, whose parser stops at 32 levels counting the
  document itself (strings/json_lib.c, JSON_DEPTH_LIMIT): the 32nd nested array is refused.
  The depth is checked by a scan of the brackets before `json.loads`, which would otherwise
  recurse into a 100,000-deep document until Python gives up.
- **JSON size**: JSON_MAX_BYTES (2 MB) per document typed or uploaded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.lookups import In

ID_MAX = 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
JSON_NUMBER_MAX = 2**53
JSON_MAX_NESTING = 31
JSON_MAX_BYTES = 2 * 1024 * 1024
# Digits of an integer json_loads reads (then refuses beyond ±2**53, naming where it is); Python
# itself refuses to read more than 4,300.
JSON_INT_MAX_DIGITS = 1000
DECIMAL_MAX_PLACES = 10
DURATION_MAX_MINUTES = INT32_MAX
DATETIME_MIN_UTC = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
DATETIME_MAX_UTC = dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


class JSONInputError(ValueError):
    """JSON that cannot be accepted; the message says why (and where, when it can).

    `decode_error` is json's own JSONDecodeError when the text is not JSON at all.
    """

    def __init__(self, message: str, *, decode_error: json.JSONDecodeError | None = None):
        super().__init__(message)
        self.decode_error = decode_error


# --- JSON ---------------------------------------------------------------------------------------

_BRACKETS_AND_STRINGS = re.compile(r'[\[\]{}"\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_nesting_problem(text: str, *, max_nesting: int = JSON_MAX_NESTING) -> str | None:
    """Why `text` nests arrays/objects too deeply, or None. A loop over brackets: no recursion."""
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _BRACKETS_AND_STRINGS.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_nesting:
                line = text.count("\n", 0, at) + 1
                return (f"arrays and objects are nested more than {max_nesting} deep "
                        f"(line {line}, column {at - text.rfind(chr(10), 0, at)})")
        elif char in "]}":
            depth -= 1
    return None


class _Refused:
    """Stands in for a number json_loads will not read, so that json_problem can name where it is."""

    def __init__(self, problem: str):
        self.problem = problem


def _refuse_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a number JSON allows")


def _parse_int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > JSON_INT_MAX_DIGITS:  # int() of more than 4,300 digits raises; never try
        return _Refused(f"a number of {digits} digits is too large")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"{text if len(text) <= 30 else text[:30] + '…'} is too large")
    return value


def json_loads(text: str | bytes, *, max_bytes: int = JSON_MAX_BYTES, max_nesting: int = JSON_MAX_NESTING) -> Any:
    """`json.loads` within the limits above; raises JSONInputError with a message for people.

    Checks the size, then the nesting (without recursion), then parses refusing NaN,
    Infinity and over-long integers, then checks every number's range (`json_problem`).
    """
    if isinstance(text, bytes | bytearray):
        size = len(text)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"not UTF-8 text (byte {text[exc.start]:#04x} at position {exc.start})") from None
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JSONInputError(f"larger than {max_bytes // 1024} KB")
    problem = json_nesting_problem(text, max_nesting=max_nesting)
    if problem:
        raise JSONInputError(problem)
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as exc:
        raise JSONInputError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", decode_error=exc
        ) from None
    except RecursionError:  # pragma: no cover - the nesting scan comes first
        raise JSONInputError(f"arrays and objects are nested more than {max_nesting} deep") from None
    problem = json_problem(value, max_nesting=max_nesting)
    if problem:
        raise JSONInputError(problem)
    return value


def _path(parts: list) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def json_problem(value: Any, *, max_nesting: int = JSON_MAX_NESTING) -> str | None:
    """Why an already-parsed value cannot be stored as JSON here, or None: "path: problem".

    Walks the value with a stack (no recursion): nesting, numbers outside ±2**53, NaN and
    Infinity, and values that are not JSON (sets, objects, non-string keys).
    """
    stack: list[tuple[Any, list, int]] = [(value, [], 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > max_nesting:
                return f"{_path(path)}: arrays and objects are nested more than {max_nesting} deep"
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str) or _SURROGATE.search(key):
                        return f"{_path(path)}: the key {key!r} is not text"
                children = [(child, [*path, key], depth + 1) for key, child in item.items()]
            else:
                children = [(child, [*path, index], depth + 1) for index, child in enumerate(item)]
            stack.extend(reversed(children))  # so the first problem in the document is the one named
        elif isinstance(item, str):
            if _SURROGATE.search(item):  # "\ud800" alone: MariaDB's JSON and utf8mb4 refuse it
                return f"{_path(path)}: holds half of a UTF-16 surrogate pair, which is not text"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            problem = number_problem(item)
            if problem:
                return f"{_path(path)}: {problem}"
        elif isinstance(item, _Refused):
            return f"{_path(path)}: {item.problem}"
        else:
            return f"{_path(path)}: {type(item).__name__} is not a JSON value"
    return None


def number_problem(number, *, limit: int = JSON_NUMBER_MAX) -> str | None:
    """Why a number cannot be kept (not finite, or outside ±limit), or None."""
    if isinstance(number, float | Decimal):
        if not (math.isfinite(number) if isinstance(number, float) else number.is_finite()):
            return f"{number} is not a number"
    if abs(number) > limit:
        if isinstance(number, int) and number.bit_length() > 96:
            # str() of an integer of more than 4,300 digits raises: describe it instead.
            shown = f"a number of about {int(number.bit_length() * math.log10(2)) + 1:,} digits"
        else:
            shown = str(number)
        return f"{shown} is outside the range ±{limit:,}"
    return None


class JSONField(forms.JSONField):
    """forms.JSONField read through `json_loads`: too deep, too large, NaN or huge numbers are form errors."""

    default_error_messages = {"invalid": "Enter valid JSON: %(problem)s."}

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | forms.fields.JSONString):
            return value
        try:
            converted = json_loads(value)
        except JSONInputError as exc:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": "", "problem": exc}
            ) from None
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        # Django re-reads the posted text here to show it again; read it within the limits too.
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return json_loads(data)
        except JSONInputError:
            return forms.fields.InvalidJSONInput(data)


# --- Whole numbers, dates and times ------------------------------------------------------------


def parse_id(value) -> int | None:
    """A database id from text or a number: 1 .. 2**63-1, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{1,19}", text):
            return None
        number = int(text)
    return number if 1 <= number <= ID_MAX else None


def datetime_problem(value: dt.datetime) -> str | None:
    """Why a date-time cannot be kept (outside the range every time zone can show), or None.

    A naive value is taken as UTC.
    """
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    except OverflowError:
        return "is too far in the past or the future"
    if not DATETIME_MIN_UTC <= utc <= DATETIME_MAX_UTC:
        return "must be between 2 January 0001 and 30 December 9999"
    return None


def day_start(day: dt.date, tz) -> dt.datetime | None:
    """Midnight at the start of `day` in `tz`, or None when that instant is outside Python's range in UTC."""
    moment = dt.datetime.combine(day, dt.time.min).replace(tzinfo=tz)
    return moment if datetime_problem(moment) is None else None


class IntegerIn(In):
    """`in` on integer columns leaves out numbers the column cannot hold.

    Django's own exact/gt/lt lookups do this (IntegerFieldOverflow); `in` does not, and
    SQLite raises OverflowError binding 2**63 (a posted choice such as reviewers=2**63).
    Registered on IntegerField by templates_app's AppConfig.ready (the lowest app).
    """

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            try:
                low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            except KeyError:
                low = high = None
            self.rhs = [
                value for value in self.rhs
                if not isinstance(value, int) or ((low is None or low <= value) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


class IdConverter:
    """`<id:pk>` in URLs: a database id, 1 .. 2**63-1; anything else does not match (a 404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= ID_MAX:
            raise ValueError("not a database id")
        return number

    def to_url(self, value) -> str:
        return str(int(value))
