"""Reading a template's sections: the one place that merges `schema_json` and section rows.

Everything that needs a template's structure (forms, plan pages, exports, diffs) calls
`template_sections()`; nothing else reads `schema_json["sections"]` directly.
"""

from __future__ import annotations

import copy
from typing import Any

# Top-level keys of a version's content_json that hold the snapshot of live rows; a
# template section may not use them as its key.
RESERVED_SECTION_KEYS = frozenset({"contacts", "processes", "risks"})


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
        field.setdefault("label", field.get("key", ""))
        field.setdefault("required", False)
        field.setdefault("help", "")
    return section


def default_content(template, *, section_rows=None) -> dict[str, dict[str, Any]]:
    """Section key -> field key -> the field's default value (None where there is none)."""
    return {
        section["key"]: {field["key"]: copy.deepcopy(field.get("default")) for field in section["fields"]}
        for section in template_sections(template, section_rows=section_rows)
    }
