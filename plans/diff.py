"""What changed between two versions of a plan, in words a non-technical reader follows.

`version_diff(template, old_content, new_content)` compares two `content_json` dicts (or a
version with the working copy + live-row snapshot) and returns one entry per template
section or row list that changed, in template order, then contacts, processes, resources, risks::

    [
      {
        "key": "overview",              # section key, or "contacts" / "processes" / "resources" / "risks"
        "title": "Plan overview",       # what the reader sees as the heading
        "kind": "section",              # "section" (template fields) or "list" (rows)
        "changes": [
          # kind "section": one per field whose value differs
          {"label": "Purpose", "key": "purpose", "change": "changed",   # "added" / "removed" / "changed"
           "old": "Keep payroll running", "new": "Keep payroll and HR running", "fields": []},
          # kind "list": one per row, matched by its id
          {"label": "Payroll run", "key": "12", "change": "changed", "old": "", "new": "",
           "fields": [{"label": "RTO", "old": "4 h", "new": "2 h"}]},
        ],
      },
    ]

Values are display strings (`templates_app.values.display_value`; minutes as "4 h",
likelihood as "3 Possible"). A field that was empty and now has a value is "added",
the reverse "removed". An added row lists its values in `fields` with `old` empty, a
removed row with `new` empty. An empty list means no differences. A version written before resources
were kept (no "resources" list) compares as having none.
The include `plans/includes/version_diff.html` renders it (context variable `diff`);
`written_diff_html` renders and caches it for two written versions (they never change).

People named by user-type fields are looked up only for the ids the two contents refer to
(`org_id=`: one query, none when no user field is filled), never for the whole organisation.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from templates_app.schema import template_sections
from templates_app.values import display_value, format_minutes

from .models import Process, Resource, Risk
from .plan_display import (
    FRAGMENT_SECONDS,
    fragment_key,
    referenced_user_ids,
    template_identity,
    user_labels,
    version_identity,
)
from .resources import quantities_display

LIST_TITLES = {"contacts": "Contacts", "processes": "Critical processes", "resources": "Resources", "risks": "Risks"}

# (key in the snapshot dict, label, how to show it)
_CONTACT_FIELDS = [("name", "Name", None), ("role", "Role", None), ("phone", "Phone", None),
                   ("email", "Email", None), ("notes", "Notes", None)]
_PROCESS_FIELDS = [("name", "Name", None), ("description", "Description", None),
                   ("rto_minutes", "RTO (recovery time objective)", "minutes"),
                   ("rpo_minutes", "RPO (recovery point objective)", "minutes"),
                   ("mtpd_minutes", "MTPD (maximum tolerable period of disruption)", "minutes"),
                   ("impact_rating", "Impact", dict(Process.Impact.choices)),
                   ("dependencies", "Dependencies", "list"), ("vendors", "Vendors", "vendors")]
_RESOURCE_FIELDS = [("name", "Name", None), ("kind", "Kind", dict(Resource.Kind.choices)),
                    ("process", "For process", None), ("primary_source", "Primary source", None),
                    ("alternate_source", "Alternate source", None), ("quantities", "Needed over time", "quantities"),
                    ("notes", "Notes", None)]
_RISK_FIELDS = [("threat", "Threat", None), ("likelihood", "Likelihood", dict(Risk.Likelihood.choices)),
                ("impact", "Impact", dict(Risk.Impact.choices)), ("rating", "Rating", dict(Risk.Rating.choices)),
                ("mitigation", "Mitigation", None), ("owner", "Owner", None)]
LIST_FIELDS = {"contacts": (_CONTACT_FIELDS, "name"), "processes": (_PROCESS_FIELDS, "name"),
               "resources": (_RESOURCE_FIELDS, "name"), "risks": (_RISK_FIELDS, "threat")}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _kind(old: Any, new: Any) -> str:
    if _empty(old):
        return "added"
    if _empty(new):
        return "removed"
    return "changed"


def row_value_display(value: Any, how) -> str:
    """A snapshot value as the reader sees it (minutes in hours, choices by label, lists joined)."""
    if _empty(value):
        return ""
    if how == "minutes":
        return format_minutes(value)
    if how == "list":
        return ", ".join(str(v) for v in value)
    if how == "vendors":  # the vendors a process depends on, with the recovery each committed to
        return ", ".join(
            f"{v.get('name', '')} ({format_minutes(v['recovery_minutes'])})"
            if isinstance(v.get("recovery_minutes"), int) else str(v.get("name", ""))
            for v in value if isinstance(v, dict))
    if how == "quantities":
        return quantities_display(value)
    if isinstance(how, dict):
        return str(how.get(value, value))
    return str(value)


def _section_changes(section: dict, old: dict, new: dict, contacts: dict, users: dict | None) -> list[dict]:
    changes = []
    for field in section["fields"]:
        before, after = old.get(field["key"]), new.get(field["key"])
        if before == after or (_empty(before) and _empty(after)):
            continue
        changes.append({
            "label": field["label"], "key": field["key"], "change": _kind(before, after),
            "old": "" if _empty(before) else display_value(field, before, contacts=contacts, users=users),
            "new": "" if _empty(after) else display_value(field, after, contacts=contacts, users=users),
            "fields": [],
        })
    return changes


def _list_changes(kind: str, old_rows: list[dict], new_rows: list[dict]) -> list[dict]:
    fields, label_key = LIST_FIELDS[kind]
    old_by_id = {row.get("id"): row for row in old_rows}
    new_by_id = {row.get("id"): row for row in new_rows}
    changes = []
    for row in old_rows:
        if row.get("id") not in new_by_id:
            changes.append({
                "label": str(row.get(label_key, "")), "key": str(row.get("id")), "change": "removed",
                "old": "", "new": "",
                "fields": [{"label": label, "old": row_value_display(row.get(k), how), "new": ""}
                           for k, label, how in fields if not _empty(row.get(k))],
            })
    for row in new_rows:
        before = old_by_id.get(row.get("id"))
        if before is None:
            changes.append({
                "label": str(row.get(label_key, "")), "key": str(row.get("id")), "change": "added",
                "old": "", "new": "",
                "fields": [{"label": label, "old": "", "new": row_value_display(row.get(k), how)}
                           for k, label, how in fields if not _empty(row.get(k))],
            })
            continue
        diffs = [
            {"label": label, "old": row_value_display(before.get(k), how), "new": row_value_display(row.get(k), how)}
            for k, label, how in fields
            if before.get(k) != row.get(k) and not (_empty(before.get(k)) and _empty(row.get(k)))
        ]
        if diffs:
            changes.append({"label": str(row.get(label_key, "")), "key": str(row.get("id")), "change": "changed",
                            "old": "", "new": "", "fields": diffs})
    return changes


def version_diff(template, old_content: dict, new_content: dict, *, sections=None,
                 users: dict | None = None, org_id=None) -> list[dict]:
    """Differences from `old_content` to `new_content`, section by section (shape: module docstring).

    Runs one query for the template's section rows unless `sections`
    (`templates_app.schema.template_sections(template)`) is given. `users` (id -> name)
    names user-reference fields; without it, `org_id` looks up the people the two contents
    name (one query, none when they name nobody). Contacts are named from the two contents'
    snapshots.
    """
    old_content, new_content = old_content or {}, new_content or {}
    if sections is None:
        sections = template_sections(template)
    if users is None and org_id is not None:
        users = user_labels(org_id, referenced_user_ids(sections, old_content, new_content))
    contacts = {c.get("id"): c.get("name", "") for c in old_content.get("contacts") or []}
    contacts.update({c.get("id"): c.get("name", "") for c in new_content.get("contacts") or []})
    diff = []
    for section in sections:
        changes = _section_changes(section, old_content.get(section["key"]) or {},
                                   new_content.get(section["key"]) or {}, contacts, users)
        if changes:
            diff.append({"key": section["key"], "title": section["title"], "kind": "section", "changes": changes})
    for kind, title in LIST_TITLES.items():
        changes = _list_changes(kind, list(old_content.get(kind) or []), list(new_content.get(kind) or []))
        if changes:
            diff.append({"key": kind, "title": title, "kind": "list", "changes": changes})
    return diff


def written_diff_html(*, old, new, org_id) -> SafeString:
    """The rendered differences from written version `old` (None: from nothing) to written version
    `new`, laid out with `new`'s template: cached, keyed by both versions and the template's
    version, because written versions never change. A cache hit runs no query; a miss reads the
    two contents (if deferred), the template's section rows and the names of people referred to.
    """
    template = new.template
    key = fragment_key("diff", version_identity(old) if old is not None else "none", version_identity(new),
                       template_identity(template))
    html = cache.get(key)
    if html is None:
        diff = version_diff(template, old.content_json if old is not None else {}, new.content_json, org_id=org_id)
        html = render_to_string("plans/includes/version_diff.html", {"diff": diff})
        cache.set(key, html, FRAGMENT_SECONDS)
    return mark_safe(html)  # rendered by our template, escaped there
