"""The audit trail's vocabulary: every action code the product writes, in words.

Audit pages offer these as the action filter (a fixed list: reading the distinct actions of
an organisation's trail would scan every row of it) and show each row's action in words.
Apps above `plans` add their own actions with `register_audit_actions` (reviews does, at
import of its services), so `plans` never imports them.
"""

from __future__ import annotations

_ACTIONS: dict[str, str] = {
    # plans and their content
    "plan_created": "Plan created",
    "plan_changed": "Plan details changed",
    "plan_updated": "Plan details changed",
    "plan_deleted": "Plan deleted",
    "template_changed": "Plan moved to another template version",
    "section_updated": "Section updated",
    "contact_added": "Contact added",
    "contact_changed": "Contact changed",
    "contact_removed": "Contact removed",
    "process_added": "Process added",
    "process_changed": "Process changed",
    "process_removed": "Process removed",
    "risk_added": "Risk added",
    "risk_changed": "Risk changed",
    "risk_removed": "Risk removed",
    "version_created": "Version saved",
    "revision_started": "New revision started",
    "change_linked": "Change record linked",
    # files
    "attachment_uploaded": "Attachment uploaded",
    "attachment_deleted": "Attachment deleted",
    "attachment_integrity_failure": "Attachment failed its integrity check",
    "export_created": "Export issued",
    "export_restored": "Export restored",
    "export_missing": "Export missing from the file store",
    "export_integrity_failure": "Export failed its integrity check",
    # organisation
    "template_global_changed": "Global template changed",
    "membership_added": "Person added to the organisation",
    "person_created": "Person created",
    "person_changed": "Person changed",
    "person_moved": "Person moved to another organisation",
    "person_deactivated": "Person deactivated",
    "person_password_set": "Password set by an administrator",
    "login_locked_out": "Sign-in locked after failed attempts",
    "login_unlocked": "Sign-in unlocked",
    "notifications_retried": "Failed emails queued again",
}


def register_audit_actions(actions: dict[str, str]) -> None:
    """Add action codes and their words (an app above plans registers its own at import)."""
    _ACTIONS.update(actions)


def audit_action_label(code: str) -> str:
    """The action in words; an unknown code (written by an older release) in readable form."""
    return _ACTIONS.get(code) or str(code).replace("_", " ").capitalize()


def audit_action_choices() -> list[tuple[str, str]]:
    """Every known action, by its words (the audit filter's choices)."""
    return sorted(_ACTIONS.items(), key=lambda item: item[1].lower())


# --- details in words ------------------------------------------------------------------------

# Field names in change details, as people call them.
FIELD_WORDS = {
    "rto_minutes": "RTO", "rpo_minutes": "RPO", "mtpd_minutes": "MTPD", "dependencies_json": "dependencies",
    "owner_user": "owner", "owner": "owner", "title": "title", "name": "name", "role": "role",
    "phone": "phone", "email": "email", "notes": "notes", "impact": "impact", "threat": "threat",
    "likelihood": "likelihood", "rating": "rating", "mitigation": "mitigation", "description": "description",
}
_MINUTES = {"rto_minutes", "rpo_minutes", "mtpd_minutes"}
_ROW_KINDS = ("contact", "process", "risk")


def _value_words(field: str, value) -> str:
    from templates_app.values import format_minutes

    if value in (None, "", []):
        return "nothing"
    if field in _MINUTES:
        return format_minutes(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    text = str(value)
    return f"“{text}”" if not text.isdigit() else text


def _changes_words(changes, *, of: str = "") -> list[str]:
    """'RTO of Payroll changed from 4 h to 2 h' for each [old, new] pair; field names alone for a list."""
    if isinstance(changes, dict):
        out = []
        for field, pair in changes.items():
            name = FIELD_WORDS.get(field, field.replace("_", " "))
            subject = f"{name} of {of}" if of else name
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                out.append(f"{subject[0].upper()}{subject[1:]} changed from {_value_words(field, pair[0])} "
                           f"to {_value_words(field, pair[1])}")
            else:
                out.append(f"{subject[0].upper()}{subject[1:]} changed")
        return out
    if isinstance(changes, (list, tuple)):
        return [f"Changed: {', '.join(FIELD_WORDS.get(str(f), str(f)) for f in changes)}"]
    return []


def audit_sentence(action: str, details) -> str:
    """An audit row's details as sentences a person reads (the raw details stay in the CSV).

    Row changes name the row and each field with its old and new value ("RTO of Payroll changed
    from 4 h to 2 h"); other details are listed as "label: value" in words.
    """
    if not isinstance(details, dict) or not details:
        return ""
    details = dict(details)
    parts: list[str] = []
    row = next((kind for kind in _ROW_KINDS if kind in details), None)
    label = str(details.pop(row)) if row else ""
    details.pop("id", None)
    changes = details.pop("changes", None)
    if changes:
        parts.extend(_changes_words(changes, of=label))
    elif row:
        parts.append(f"{row.capitalize()} “{label}”")
    if "section" in details:
        fields = details.pop("fields", None) or []
        section = details.pop("section")
        parts.append(f"Section “{section}”" + (f": {', '.join(map(str, fields))}" if fields else ""))
    if "from" in details and "to" in details:
        parts.append(f"From {_value_words('', details.pop('from'))} to {_value_words('', details.pop('to'))}")
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        parts.append(f"{FIELD_WORDS.get(key, key.replace('_', ' ')).capitalize()}: {_value_words(key, value)}")
    return ". ".join(parts) + "."
