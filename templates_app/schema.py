"""The template schema: reading a template's sections, and checking templates and content.

Everything that needs a template's structure (forms, plan pages, exports, diffs) calls
`template_sections()`; nothing else reads `schema_json["sections"]` directly.

The format is documented in docs/template-schema.md. `validate_template_schema()` checks a
template's `schema_json` (a JSON Schema for the shape, then the rules JSON Schema cannot
express: unique keys, reserved keys, defaults that fit their field, min <= max, ...) and
raises `TemplateSchemaError` whose `.errors` name the path of each mistake, e.g.
``sections[3].fields[2].type: 'colour' is not a field type``.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import regex
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from jsonschema import Draft202012Validator

from bcp_site.limits import (
    DECIMAL_MAX_PLACES,
    DURATION_MAX_MINUTES,
    ID_MAX,
    JSON_NUMBER_MAX,
    datetime_problem,
    json_problem,
    number_problem,
)

# Top-level keys of a version's content_json that hold the snapshot of live rows; a
# template section may not use them as its key.
RESERVED_SECTION_KEYS = frozenset({"contacts", "processes", "risks"})

# Field type -> what a value of that type looks like in content_json.
FIELD_TYPES: dict[str, str] = {
    "text": "a string (one line)",
    "textarea": "a string (several lines)",
    "integer": "a whole number",
    "decimal": "a decimal number, stored as a string such as \"12.50\"",
    "date": "an ISO date string, \"2025-03-31\"",
    "datetime": "an ISO date-time string in UTC, \"2025-03-31T14:30:00+00:00\"",
    "boolean": "true or false",
    "select": "one of the field's choice values",
    "multiselect": "a list of the field's choice values",
    "email": "an email address",
    "phone": "a telephone number",
    "url": "a web address",
    "duration": "a whole number of minutes (entered as \"4h\", \"90m\", \"1h 30m\", \"2d\")",
    "table": "a list of rows, each an object column key -> value",
    "user": "the id of a user of the plan's organisation",
    "contact": "the id of one of the plan's contacts",
}
USER_REF = "user"
CONTACT_REF = "contact"
# Types a table column may have (no tables in tables, no multi-value cells).
COLUMN_TYPES = tuple(t for t in FIELD_TYPES if t not in {"table", "multiselect"})

# Optional keywords each type allows, beyond key, label, type, required, help, default.
TYPE_KEYWORDS: dict[str, frozenset[str]] = {
    "text": frozenset({"max_length", "pattern"}),
    "textarea": frozenset({"max_length"}),
    "integer": frozenset({"min", "max"}),
    "decimal": frozenset({"min", "max", "decimal_places"}),
    "date": frozenset(),
    "datetime": frozenset(),
    "boolean": frozenset(),
    "select": frozenset({"choices"}),
    "multiselect": frozenset({"choices"}),
    "email": frozenset({"max_length"}),
    "phone": frozenset({"max_length", "pattern"}),
    "url": frozenset({"max_length"}),
    "duration": frozenset({"min", "max"}),
    "table": frozenset({"columns", "max_rows"}),
    "user": frozenset(),
    "contact": frozenset(),
}
# Telephone numbers: digits, spaces and + ( ) - . ; a field's own `pattern` replaces it.
PHONE_PATTERN = r"\+?[0-9(][0-9 ()\-.]{2,29}"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"

_CHOICE = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "properties": {"value": {"type": "string", "minLength": 1}, "label": {"type": "string"}},
            "required": ["value", "label"],
            "additionalProperties": False,
        },
    ]
}
_COMMON_FIELD_PROPERTIES = {
    "key": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 100},
    "label": {"type": "string", "minLength": 1, "maxLength": 255},
    "required": {"type": "boolean"},
    "help": {"type": "string"},
    "choices": {"type": "array", "items": _CHOICE, "minItems": 1},
    "min": {"type": "number", "minimum": -JSON_NUMBER_MAX, "maximum": JSON_NUMBER_MAX},
    "max": {"type": "number", "minimum": -JSON_NUMBER_MAX, "maximum": JSON_NUMBER_MAX},
    "max_length": {"type": "integer", "minimum": 1},
    "pattern": {"type": "string", "minLength": 1},
    "decimal_places": {"type": "integer", "minimum": 0, "maximum": 10},
}
_COLUMN = {
    "type": "object",
    "properties": {**_COMMON_FIELD_PROPERTIES, "type": {"enum": list(COLUMN_TYPES)}},
    "required": ["key", "label", "type"],
    "additionalProperties": False,
}
_FIELD = {
    "type": "object",
    "properties": {
        **_COMMON_FIELD_PROPERTIES,
        "type": {"enum": list(FIELD_TYPES)},
        "default": True,  # any JSON value; checked against the field's type after the schema
        "columns": {"type": "array", "items": _COLUMN, "minItems": 1},
        "max_rows": {"type": "integer", "minimum": 1},
    },
    "required": ["key", "label", "type"],
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"type": {"enum": ["select", "multiselect"]}}, "required": ["type"]},
         "then": {"required": ["choices"]}},
        {"if": {"properties": {"type": {"const": "table"}}, "required": ["type"]},
         "then": {"required": ["columns"]}},
    ],
}
_SECTION_BODY_PROPERTIES = {
    "help": {"type": "string"},
    "fields": {"type": "array", "items": _FIELD},
}
SECTION_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "BCP section definition (bc_section_definition.schema_json)",
    "type": "object",
    "properties": _SECTION_BODY_PROPERTIES,
    "additionalProperties": False,
}
# What a plan needs before review, beyond what every plan needs (plans.readiness).
READINESS_MINIMUMS = {
    "min_contacts": "contacts",
    "min_critical_processes": "critical processes (with an RTO and an MTPD)",
    "min_risks": "risks",
}
READINESS_MINIMUM_MAX = 1000
FIELD_PATH_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
_READINESS = {
    "type": "object",
    "properties": {
        **{name: {"type": "integer", "minimum": 1, "maximum": READINESS_MINIMUM_MAX} for name in READINESS_MINIMUMS},
        "required_for_approval": {
            "type": "array", "items": {"type": "string", "pattern": FIELD_PATH_PATTERN}, "uniqueItems": True,
        },
        "warn_only": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
    },
    "additionalProperties": False,
}
# Template roles (decision 5): which field holds a fact the product acts on. On approval the
# values are copied to indexed plan columns (plans.plan_facts), so lists and home pages filter
# by them without reading JSON. Role -> (what it names, the field types it accepts).
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "next_review_date": ("field", ("date",)),
    "review_interval": ("field", ("select", "integer")),
    "exercise_interval": ("field", ("select", "integer")),
    "incident_response": ("section", ()),
    "key_contacts": ("field", ("table", "contact", "user")),
}
# How a select field's choice value reads as an interval in months (an integer field holds months).
INTERVAL_MONTHS = {
    "monthly": 1, "quarterly": 3, "six_monthly": 6, "semi_annually": 6, "annually": 12, "yearly": 12,
    "biennially": 24, "two_yearly": 24,
}
_ROLES = {
    "type": "object",
    "properties": {
        name: {"type": "string", "pattern": FIELD_PATH_PATTERN if kind == "field" else KEY_PATTERN}
        for name, (kind, _types) in ROLES.items()
    },
    "additionalProperties": False,
}
TEMPLATE_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "BCP template (bc_template.schema_json)",
    "type": "object",
    "properties": {
        "readiness": _READINESS,
        "roles": _ROLES,
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 100},
                    "title": {"type": "string", "minLength": 1, "maxLength": 255},
                    "order": {"type": "integer"},
                    **_SECTION_BODY_PROPERTIES,
                },
                "required": ["key", "title"],
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

_TEMPLATE_VALIDATOR = Draft202012Validator(TEMPLATE_JSON_SCHEMA)
_SECTION_VALIDATOR = Draft202012Validator(SECTION_JSON_SCHEMA)


class TemplateSchemaError(ValueError):
    """A template (or section) schema breaks the rules; `.errors` lists 'path: problem' messages."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


# --- Reading sections -----------------------------------------------------------------


def template_sections(template, *, section_rows=None) -> list[dict[str, Any]]:
    """The template's sections in display order, each a dict with key, title, order, help, fields.

    Sections come from `template.schema_json["sections"]` and from the template's
    `SectionDefinition` rows; a row replaces a schema section with the same key.
    Runs one query for the rows unless `section_rows` is given or was prefetched.
    """
    sections: dict[str, dict[str, Any]] = {}
    for position, raw in enumerate((template.schema_json or {}).get("sections", [])):
        section = _normalise_section(raw, default_order=position)
        sections[section["key"]] = section
    if section_rows is None:
        section_rows = template.section_definitions.all()
    for row in section_rows:
        raw = dict(row.schema_json or {})
        raw.update({"key": row.key, "title": row.title, "order": row.order_index})
        sections[row.key] = _normalise_section(raw, default_order=row.order_index)
    return sorted(sections.values(), key=lambda s: (s["order"], s["key"]))


def _normalise_section(raw: dict[str, Any], *, default_order: int) -> dict[str, Any]:
    section = copy.deepcopy(raw)
    section.setdefault("title", section.get("key", ""))
    section.setdefault("order", default_order)
    section.setdefault("help", "")
    section.setdefault("fields", [])
    for field in section["fields"]:
        _normalise_field(field)
        for column in field.get("columns", []) if field.get("type") == "table" else []:
            _normalise_field(column)
    return section


def _normalise_field(field: dict[str, Any]) -> None:
    field.setdefault("label", field.get("key", ""))
    field.setdefault("required", False)
    field.setdefault("help", "")


def template_readiness(template) -> dict[str, Any]:
    """The template's readiness declaration with every key present (see docs/template-schema.md).

    {"min_contacts": int | None, "min_critical_processes": ..., "min_risks": ...,
    "required_for_approval": ["section.field", ...], "warn_only": {"min_contacts", "section.field", ...}}
    """
    raw = (template.schema_json or {}).get("readiness") or {}
    declared = {name: raw.get(name) for name in READINESS_MINIMUMS}
    return {
        **declared,
        "required_for_approval": list(raw.get("required_for_approval") or []),
        "warn_only": set(raw.get("warn_only") or []),
    }


def template_roles(template) -> dict[str, str]:
    """The template's roles (see ROLES and docs/template-schema.md): role name -> "section.field" or section key."""
    raw = (template.schema_json or {}).get("roles") or {}
    return {name: raw[name] for name in ROLES if isinstance(raw.get(name), str)}


def interval_months(field: dict[str, Any] | None, value) -> int | None:
    """An interval role's value in months: an integer field's number, a select's choice by its value."""
    if field is None or value in (None, ""):
        return None
    if field.get("type") == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1200 else None
    return INTERVAL_MONTHS.get(str(value))


def default_content(template, *, section_rows=None) -> dict[str, dict[str, Any]]:
    """Section key -> field key -> the field's default value (None where there is none)."""
    return {
        section["key"]: {field["key"]: copy.deepcopy(field.get("default")) for field in section["fields"]}
        for section in template_sections(template, section_rows=section_rows)
    }


def content_carry_over(old_sections, new_sections, content: dict) -> tuple[dict, list[dict]]:
    """Move a working copy to another template version: values are carried by section and field key.

    Returns (new content, dropped) where `dropped` lists the values whose field no longer
    exists, as {"section", "field", "field_def", "value"} for the editor to see before saving.
    New fields start with their default.
    """
    new_content: dict[str, dict[str, Any]] = {}
    kept: set[tuple[str, str]] = set()
    for section in new_sections:
        values = dict((content or {}).get(section["key"]) or {})
        new_content[section["key"]] = {}
        for field in section["fields"]:
            if field["key"] in values:
                new_content[section["key"]][field["key"]] = values[field["key"]]
                kept.add((section["key"], field["key"]))
            else:
                new_content[section["key"]][field["key"]] = copy.deepcopy(field.get("default"))
    dropped = []
    for section in old_sections:
        values = (content or {}).get(section["key"]) or {}
        for field in section["fields"]:
            if (section["key"], field["key"]) not in kept and not is_empty(values.get(field["key"])):
                dropped.append({"section": section["title"], "field": field["label"], "field_def": field,
                                "value": values.get(field["key"])})
    return new_content, dropped


def choice_pairs(field: dict[str, Any]) -> list[tuple[str, str]]:
    """The field's choices as (value, label) pairs; a plain-string choice is its own label."""
    pairs = []
    for choice in field.get("choices") or []:
        if isinstance(choice, dict):
            pairs.append((str(choice.get("value", "")), str(choice.get("label", choice.get("value", "")))))
        else:
            pairs.append((str(choice), str(choice)))
    return pairs


# --- Checking schemas -----------------------------------------------------------------


def validate_template_schema(schema: dict) -> None:
    """Check a template's `schema_json`; raise TemplateSchemaError naming the path of every mistake."""
    if problem := json_problem(schema):  # first: the JSON Schema check recurses into what it is given
        raise TemplateSchemaError([problem])
    errors = _json_schema_errors(_TEMPLATE_VALIDATOR, schema)
    if not errors:
        errors = _template_rule_errors(schema)
    if errors:
        raise TemplateSchemaError(errors)


def validate_section_schema(schema: dict) -> None:
    """Check a SectionDefinition row's `schema_json` (`{"help": ..., "fields": [...]}`)."""
    if problem := json_problem(schema):
        raise TemplateSchemaError([problem])
    errors = _json_schema_errors(_SECTION_VALIDATOR, schema)
    if not errors:
        errors = _fields_rule_errors(schema.get("fields", []), prefix="fields")
    if errors:
        raise TemplateSchemaError(errors)


def validate_section_key(key: str) -> None:
    """Check a section key (as used by SectionDefinition rows): pattern and reserved names."""
    errors = []
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        errors.append(f"key: {key!r} must start with a lowercase letter and use only a-z, 0-9 and _")
    elif key in RESERVED_SECTION_KEYS:
        errors.append(f"key: {key!r} is reserved (the plan's {key} are kept apart from the sections)")
    if errors:
        raise TemplateSchemaError(errors)


def format_path(parts) -> str:
    """['sections', 3, 'fields', 2, 'type'] -> 'sections[3].fields[2].type'."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _json_schema_errors(validator: Draft202012Validator, instance) -> list[str]:
    errors = sorted(
        validator.iter_errors(instance),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path],
    )
    return [f"{format_path(e.absolute_path)}: {_error_message(e)}" for e in errors]


def _error_message(error) -> str:
    kind, value, instance = error.validator, error.validator_value, error.instance
    last = error.absolute_path[-1] if error.absolute_path else None
    if kind == "enum" and last == "type":
        return f"{instance!r} is not a field type" + (
            f" (a table column cannot be {instance!r})" if instance in FIELD_TYPES else ""
        )
    if kind == "enum":
        return f"{instance!r} is not one of {', '.join(map(repr, value))}"
    if kind == "required":
        missing = [name for name in value if not isinstance(instance, dict) or name not in instance]
        return ", ".join(f"{name!r}" for name in missing) + " is required"
    if kind == "additionalProperties":
        extra = sorted(set(instance) - set(error.schema.get("properties", {})))
        return ", ".join(f"{name!r}" for name in extra) + (" is not allowed here" if len(extra) == 1 else
                                                             " are not allowed here")
    if kind == "type":
        names = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
                 "number": "a number", "boolean": "true or false"}
        return f"{instance!r} is not {names.get(value, value)}"
    if kind == "pattern" and value == KEY_PATTERN:
        return f"{instance!r} must start with a lowercase letter and use only a-z, 0-9 and _"
    if kind == "pattern" and value == FIELD_PATH_PATTERN:
        return f"{instance!r} must name a field as 'section_key.field_key'"
    if kind == "uniqueItems":
        repeated = next((item for i, item in enumerate(instance) if item in instance[:i]), None)
        return f"{repeated!r} is listed more than once"
    if kind == "anyOf" and last is not None and isinstance(last, int):
        return f"{instance!r} must be a string or an object with 'value' and 'label'"
    if kind == "minimum":
        return f"{instance!r} is less than the minimum {value}"
    if kind == "maximum":
        return f"{instance!r} is more than the maximum {value}"
    if kind == "minLength":
        return "must not be empty"
    if kind == "minItems":
        return f"needs at least {value} item" + ("s" if value != 1 else "")
    return error.message


def _template_rule_errors(schema: dict) -> list[str]:
    errors: list[str] = []
    seen: dict[str, int] = {}
    for index, section in enumerate(schema.get("sections", [])):
        path = f"sections[{index}]"
        key = section["key"]
        if key in RESERVED_SECTION_KEYS:
            errors.append(f"{path}.key: {key!r} is reserved (the plan's {key} are kept apart from the sections)")
        if key in seen:
            errors.append(f"{path}.key: {key!r} is already used by sections[{seen[key]}]")
        seen.setdefault(key, index)
        errors += _fields_rule_errors(section.get("fields", []), prefix=f"{path}.fields")
    if "readiness" in schema:
        errors += _readiness_rule_errors(schema["readiness"], schema.get("sections", []))
    if "roles" in schema:
        errors += _roles_rule_errors(schema["roles"], schema.get("sections", []))
    return errors


def _roles_rule_errors(roles: dict, sections: list[dict]) -> list[str]:
    """Each role names a section, or a field of a type that role can read (a select interval: known choices)."""
    errors: list[str] = []
    fields = {(section["key"], field["key"]): field for section in sections for field in section.get("fields", [])}
    section_keys = {section["key"] for section in sections}
    for name, target in roles.items():
        path = f"roles.{name}"
        kind, types = ROLES[name]
        if kind == "section":
            if target not in section_keys:
                errors.append(f"{path}: {target!r} names no section of this template")
            continue
        section_key, field_key = target.split(".")
        field = fields.get((section_key, field_key))
        if section_key not in section_keys:
            errors.append(f"{path}: {target!r} names no section of this template")
        elif field is None:
            errors.append(f"{path}: {target!r} names no field of section {section_key!r}")
        elif field.get("type") not in types:
            errors.append(f"{path}: {target!r} is a {field.get('type')!r} field; this role needs "
                          + " or ".join(repr(t) for t in types))
        elif field["type"] == "select":
            unknown = [value for value, _label in choice_pairs(field) if value not in INTERVAL_MONTHS]
            if unknown:
                errors.append(f"{path}: choice {unknown[0]!r} of {target!r} is not an interval; use "
                              + ", ".join(map(repr, INTERVAL_MONTHS)))
    return errors


def _readiness_rule_errors(readiness: dict, sections: list[dict]) -> list[str]:
    """Fields required for approval exist and are not already required; warn_only names declared checks."""
    errors: list[str] = []
    fields = {(section["key"], field["key"]): field for section in sections for field in section.get("fields", [])}
    section_keys = {section["key"] for section in sections}
    for index, name in enumerate(readiness.get("required_for_approval", [])):
        path = f"readiness.required_for_approval[{index}]"
        section_key, field_key = name.split(".")
        field = fields.get((section_key, field_key))
        if section_key not in section_keys:
            errors.append(f"{path}: {name!r} names no section of this template (its sections: "
                          f"{', '.join(sorted(section_keys)) or 'none'})")
        elif field is None:
            errors.append(f"{path}: {name!r} names no field of section {section_key!r}")
        elif field.get("required"):
            errors.append(f"{path}: {name!r} is already required by the field itself")
    declared = [name for name in READINESS_MINIMUMS if name in readiness]
    declared += readiness.get("required_for_approval", [])
    for index, name in enumerate(readiness.get("warn_only", [])):
        if name not in declared:
            errors.append(
                f"readiness.warn_only[{index}]: {name!r} is not a check this template declares; name one of "
                + (", ".join(map(repr, declared)) if declared else "its readiness checks (none are declared)")
                + " (what every plan needs cannot be made a warning)"
            )
    return errors


def _fields_rule_errors(fields: list[dict], *, prefix: str, in_table: bool = False) -> list[str]:
    errors: list[str] = []
    seen: dict[str, int] = {}
    for index, field in enumerate(fields):
        path = f"{prefix}[{index}]"
        kind = field["type"]
        if field["key"] in seen:
            errors.append(f"{path}.key: {field['key']!r} is already used by {prefix}[{seen[field['key']]}]")
        seen.setdefault(field["key"], index)
        for keyword in sorted(set(field) - {"key", "label", "type", "required", "help", "default"}):
            if keyword not in TYPE_KEYWORDS[kind]:
                errors.append(f"{path}.{keyword}: not allowed for a {kind!r} field")
        if "min" in field and "max" in field and field["min"] > field["max"]:
            errors.append(f"{path}.max: {field['max']!r} is less than min {field['min']!r}")
        if kind == "duration" and field.get("min", 0) < 0:
            errors.append(f"{path}.min: a duration cannot be negative")
        if kind == "duration" and field.get("max", 0) > DURATION_MAX_MINUTES:
            errors.append(f"{path}.max: a duration can be at most {DURATION_MAX_MINUTES:,} minutes")
        if "pattern" in field:
            problem = pattern_problem(field["pattern"])
            if problem:
                errors.append(f"{path}.pattern: {problem}")
        values = [value for value, _label in choice_pairs(field)]
        for value in sorted({v for v in values if values.count(v) > 1}):
            errors.append(f"{path}.choices: {value!r} is listed more than once")
        if kind == "table" and "columns" in field:
            errors += _fields_rule_errors(field["columns"], prefix=f"{path}.columns", in_table=True)
        if in_table and "default" in field:
            errors.append(f"{path}.default: table columns have no default")
        if field.get("default") is not None and not any(e.startswith(path + ".") for e in errors):
            if kind in {USER_REF, CONTACT_REF}:
                errors.append(f"{path}.default: a {kind} reference cannot have a default")
            else:
                problem = value_problem(field, field["default"])
                if problem:
                    errors.append(f"{path}.default: {problem}")
    return errors


# --- Administrators' patterns ---------------------------------------------------------
#
# A field's `pattern` is written by an administrator and run on what people type, so it is
# matched with the `regex` package, which can stop a match after PATTERN_TIMEOUT seconds.
# When a template is saved, a pattern is refused if it repeats a part that can itself
# repeat with nothing fixed between the repeats (`(a+)+`, `(\d*)*`, `(\w+\s?)+`: the match
# may try exponentially many ways), or if it takes too long on probe strings.

PATTERN_TIMEOUT = 0.05  # seconds, per value
PATTERN_MAX_LENGTH = 500
_PROBE_REPEAT = 30
_PROBE_CHARS = "aA1 _-.@"
_QUANTIFIER = re.compile(r"[*+?]|\{([0-9]*)(,?)([0-9]*)\}")


class PatternTimeout(Exception):
    """A field's pattern took longer than PATTERN_TIMEOUT on a value; the message is for people."""


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether the whole of `value` matches `pattern`; PatternTimeout if that takes too long."""
    try:
        return regex.fullmatch(pattern, value, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        raise PatternTimeout(
            "could not be checked against the field's format in time: shorten the value, "
            "or ask a BCP administrator to simplify the field's pattern"
        ) from None


def pattern_problem(pattern: str) -> str | None:
    """Why an administrator's pattern cannot be saved (invalid, or slow on some values), or None."""
    if len(pattern) > PATTERN_MAX_LENGTH:
        return f"a pattern can be at most {PATTERN_MAX_LENGTH} characters"
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return f"not a valid regular expression ({exc})"
    if _nests_repeats(pattern):
        return ("repeats a part that can itself repeat, such as (a+)+, which can take a very long time "
                "to match; write it without the nested repeat, e.g. a+ instead of (a+)+")
    for probe in _probe_strings(pattern):
        try:
            pattern_matches(pattern, probe)
        except PatternTimeout:
            shown = probe[:12] + "…" if len(probe) > 12 else probe
            return (f"takes too long to match some values (more than {PATTERN_TIMEOUT} s on {shown!r}); "
                    "simplify it")
    return None


def _probe_strings(pattern: str) -> list[str]:
    """Values that make a backtracking pattern slow: runs of one character (or word) and a mismatch."""
    chars = {c for c in pattern if c.isalnum() or c in " _-.@,:/"} | set(_PROBE_CHARS)
    words = set(re.findall(r"[A-Za-z0-9]{2,}", pattern))
    runs = [c * _PROBE_REPEAT for c in sorted(chars)[:60]]
    runs += [w * (_PROBE_REPEAT // len(w) + 1) for w in sorted(words)[:20]]
    return [run + end for run in runs for end in ("!", "\x00")]


def _pattern_tokens(pattern: str):
    """The pattern as ("atom", fixed) / ("open",) / ("close",) / ("alt",) / ("repeat", low, high) tokens."""
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        quantifier = _QUANTIFIER.match(pattern, i)
        if quantifier and (char != "{" or quantifier.group(1) or quantifier.group(3)):
            text = quantifier.group()
            if text in "*+?":
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[text]
            else:
                low = int(quantifier.group(1) or 0)
                high = (int(quantifier.group(3)) if quantifier.group(3) else None) if quantifier.group(2) else low
            i = quantifier.end()
            if i < n and pattern[i] in "?+":  # lazy or possessive
                i += 1
            yield ("repeat", low, high)
        elif char == "\\":
            end = i + 2
            if i + 2 < n and pattern[i + 1] in "pPNxgu" and pattern[i + 2] in "{<":
                end = pattern.find("}" if pattern[i + 2] == "{" else ">", i + 2) + 1 or n
            yield ("atom", pattern[i + 1: i + 2] not in ("b", "B", "A", "Z", "z", "G"))
            i = end
        elif char == "[":
            j = i + 1
            j += pattern[j: j + 1] == "^"
            j += pattern[j: j + 1] == "]"
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            yield ("atom", True)
            i = j + 1
        elif char == "(":
            i += 1
            if pattern[i: i + 1] == "?":
                rest = pattern[i + 1:]
                if rest.startswith("#"):
                    i = (pattern.find(")", i) + 1) or n
                    continue
                if rest.startswith("P<") or (rest.startswith("<") and rest[1:2] not in ("=", "!")):
                    i = (pattern.find(">", i) + 1) or n
                else:
                    i += 1
                    while i < n and pattern[i] not in ":=!<>|)":
                        i += 1  # inline flags such as (?i: or (?-x:
                    i += 2 if pattern[i: i + 2] in ("<=", "<!") else (pattern[i: i + 1] in ":=!>|")
            yield ("open",)
        elif char == ")":
            yield ("close",)
            i += 1
        elif char == "|":
            yield ("alt",)
            i += 1
        else:
            yield ("atom", char not in "^$")
            i += 1


def _nests_repeats(pattern: str) -> bool:
    """True when a group repeated without bound holds a variable repeat and nothing fixed: `(a+)+`.

    A scan of the pattern's tokens (escapes, character classes, groups, alternatives), not a
    full parser. `([a-z]+-)+` is allowed: the "-" each repeat must match keeps it linear.
    """
    # Per open group: [holds a variable repeat, this alternative has a fixed part, every earlier one had]
    frames = [[False, False, True]]
    previous = None  # (holds a variable repeat, is fixed) of the atom or group just read
    for token in _pattern_tokens(pattern):
        frame = frames[-1]
        if token[0] == "repeat":
            if previous is None:
                continue
            low, high = token[1], token[2]
            variable = high is None or high != low
            holds_repeat, fixed = previous
            if high is None and holds_repeat and not fixed:
                return True
            frame[0] = frame[0] or holds_repeat or variable
            frame[1] = frame[1] or (fixed and low >= 1 and not variable)
            previous = None
            continue
        if previous is not None:  # the previous atom or group stands without a repeat
            frame[0], frame[1] = frame[0] or previous[0], frame[1] or previous[1]
            previous = None
        if token[0] == "atom":
            previous = (False, token[1])
        elif token[0] == "open":
            frames.append([False, False, True])
        elif token[0] == "close" and len(frames) > 1:
            holds_repeat, fixed_here, all_fixed = frames.pop()
            previous = (holds_repeat, fixed_here and all_fixed)
        elif token[0] == "alt":
            frame[2], frame[1] = frame[2] and frame[1], False
    return False


# --- Checking content -----------------------------------------------------------------


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def value_problem(field: dict[str, Any], value) -> str | None:
    """Why `value` (JSON shape, not empty) does not fit `field`, or None when it fits."""
    kind = field.get("type")
    checker = _CHECKERS.get(kind)
    if checker is None:
        return f"unknown field type {kind!r}"
    if problem := json_problem(value):  # too deep, NaN, a number no database keeps (bcp_site.limits)
        return problem.removeprefix("(top level): ")
    return checker(field, value)


def _check_string(field, value, *, validator=None, what="text"):
    if not isinstance(value, str):
        return f"{value!r} is not {what}"
    if "max_length" in field and len(value) > field["max_length"]:
        return f"is longer than {field['max_length']} characters"
    pattern = field.get("pattern") or (PHONE_PATTERN if field.get("type") == "phone" else None)
    if pattern:
        try:
            if not pattern_matches(pattern, value):
                return f"{value!r} is not in the expected format"
        except PatternTimeout as exc:
            return str(exc)
    if validator is not None:
        try:
            validator(value)
        except ValidationError:
            return f"{value!r} is not {what}"
    return None


def _check_range(field, number, shown=None):
    shown = shown if shown is not None else number
    if "min" in field and number < field["min"]:
        return f"{shown} is less than the minimum {field['min']}"
    if "max" in field and number > field["max"]:
        return f"{shown} is more than the maximum {field['max']}"
    return None


def _check_integer(field, value):
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value!r} is not a whole number"
    return _check_range(field, value)


def _check_decimal(field, value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"{value!r} is not a decimal number"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return f"{value!r} is not a decimal number"
    if not number.is_finite():
        return f"{value!r} is not a decimal number"
    if problem := number_problem(number):
        return problem
    places = field.get("decimal_places")
    if places is not None and -number.as_tuple().exponent > places:
        return f"{value!r} has more than {places} decimal places"
    if -number.as_tuple().exponent > DECIMAL_MAX_PLACES:
        return f"{value!r} has more than {DECIMAL_MAX_PLACES} decimal places"
    return _check_range(field, number, shown=value)


def _check_date(field, value):
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a date (YYYY-MM-DD)"
    return None


def _check_datetime(field, value):
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)"
    if problem := datetime_problem(moment):
        return f"{value!r} {problem}"
    return None


def _check_boolean(field, value):
    return None if isinstance(value, bool) else f"{value!r} is not true or false"


def _check_select(field, value):
    values = [v for v, _label in choice_pairs(field)]
    return None if isinstance(value, str) and value in values else f"{value!r} is not one of the choices"


def _check_multiselect(field, value):
    if not isinstance(value, list):
        return f"{value!r} is not a list of choices"
    for item in value:
        problem = _check_select(field, item)
        if problem:
            return problem
    return None


def _check_duration(field, value):
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{value!r} is not a whole number of minutes"
    if value < 0:
        return "a duration cannot be negative"
    if value > DURATION_MAX_MINUTES:
        return f"a duration can be at most {DURATION_MAX_MINUTES:,} minutes"
    return _check_range(field, value)


def _check_reference(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        return f"{value!r} is not a {field.get('type')} id"
    return None


def _check_table(field, value):
    if not isinstance(value, list):
        return f"{value!r} is not a list of rows"
    if "max_rows" in field and len(value) > field["max_rows"]:
        return f"has more than {field['max_rows']} rows"
    for number, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            return f"row {number} is not an object"
        for column in field.get("columns", []):
            cell = row.get(column["key"])
            if is_empty(cell):
                if column.get("required"):
                    return f"row {number}, {column.get('label', column['key'])}: is required"
                continue
            problem = value_problem(column, cell)
            if problem:
                return f"row {number}, {column.get('label', column['key'])}: {problem}"
    return None


_CHECKERS = {
    "text": _check_string,
    "textarea": _check_string,
    "integer": _check_integer,
    "decimal": _check_decimal,
    "date": _check_date,
    "datetime": _check_datetime,
    "boolean": _check_boolean,
    "select": _check_select,
    "multiselect": _check_multiselect,
    "email": lambda f, v: _check_string(f, v, validator=EmailValidator(), what="an email address"),
    "phone": lambda f, v: _check_string(f, v, what="a telephone number"),
    "url": lambda f, v: _check_string(f, v, validator=URLValidator(), what="a web address"),
    "duration": _check_duration,
    "table": _check_table,
    "user": _check_reference,
    "contact": _check_reference,
}
assert set(_CHECKERS) == set(FIELD_TYPES)


def validate_content(template, content: dict, *, section_rows=None) -> list[str]:
    """Problems of a working copy / version content against the template ([] when it fits).

    Checks required fields, value types and choices of every template section; the
    reserved snapshot keys (contacts, processes, risks) and keys the template does not
    know are ignored. Messages read "Section title › Field label: problem".
    Runs one query for the section rows unless `section_rows` is given or was prefetched.
    """
    problems: list[str] = []
    content = content or {}
    for section in template_sections(template, section_rows=section_rows):
        values = content.get(section["key"]) or {}
        if not isinstance(values, dict):
            problems.append(f"{section['title']}: is not a set of field values")
            continue
        for field in section["fields"]:
            where = f"{section['title']} › {field['label']}"
            value = values.get(field["key"])
            if is_empty(value):
                if field.get("required"):
                    problems.append(f"{where}: is required")
                continue
            problem = value_problem(field, value)
            if problem:
                problems.append(f"{where}: {problem}")
    return problems
