"""The audit trail's vocabulary: every action code the product writes, in words.

Audit pages offer these as the action filter (a fixed list: reading the distinct actions of
an organisation's trail would scan every row of it) and show each row's action in words.
Apps above `plans` add their own actions with `register_audit_actions` (reviews does, at
import of its services), so `plans` never imports them.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    "resource_added": "Resource added",
    "resource_changed": "Resource changed",
    "resource_removed": "Resource removed",
    "collaborator_added": "Collaborator added",
    "collaborator_changed": "Collaborator changed",
    "collaborator_removed": "Collaborator removed",
    "version_created": "Version saved",
    "revision_started": "New revision started",
    "change_linked": "Change record linked",
    # exercises and findings
    "exercise_planned": "Exercise planned",
    "exercise_changed": "Exercise changed",
    "exercise_held": "Exercise held",
    "exercise_results_recorded": "Exercise results recorded",
    "exercise_reported": "Exercise reported: after-action report issued",
    "exercise_closed": "Exercise closed",
    "finding_raised": "Finding raised",
    "finding_changed": "Finding changed",
    "finding_risk_accepted": "Finding's risk accepted",
    "finding_closed": "Finding closed by an approved version",
    "finding_reminders_sent": "Overdue findings: owners reminded by email",
    # incidents
    "incident_declared": "Incident declared",
    "incident_plan_activated": "Plan activated for an incident",
    "incident_event_added": "Incident timeline entry added",
    "incident_process_disrupted": "Incident: process disrupted",
    "incident_process_recovered": "Incident: process recovered",
    "incident_stood_down": "Incident stood down",
    "incident_review_saved": "Post-incident review written",
    "incident_closed": "Incident closed: post-incident report issued",
    "breakglass_downloaded": "Break-glass pack downloaded",
    # vendors (the organisation's register) and what collaborators are told
    "vendor_added": "Vendor added to the register",
    "vendor_changed": "Vendor changed",
    "vendor_removed": "Vendor removed from the register",
    "review_date_notices_sent": "Review date approaching: section owners told by email",
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
    "password_reset_requested": "Password reset link requested by email",
    "password_reset_throttled": "Password reset refused: too many requests",
    "password_reset_completed": "Password changed with a reset link",
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
    "ip": "client address",
    "exercise_type": "type", "scenario": "scenario", "scheduled_on": "scheduled for", "held_on": "held on",
    "facilitator_user": "facilitator", "external_participants": "participants from outside",
    "participants": "participants", "objectives": "objectives", "severity": "severity", "due_on": "due on",
    "status": "status", "reason": "reason", "findings": "findings addressed",
    "vendors": "vendors", "vendor": "vendor", "kind": "kind", "process": "process",
    "primary_source": "primary source", "alternate_source": "alternate source", "quantities": "quantities needed",
    "service": "service", "contacts": "contacts", "contract_reference": "contract reference",
    "recovery_minutes": "committed recovery time", "evidence_on": "last continuity evidence",
    "criticality": "criticality", "sections": "sections", "resource": "resource",
}
_MINUTES = {"rto_minutes", "rpo_minutes", "mtpd_minutes", "recovery_minutes"}
_ROW_KINDS = ("contact", "process", "risk", "resource", "vendor", "finding", "exercise")


def _value_words(field: str, value) -> str:
    from templates_app.values import format_minutes

    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in (None, "", []):
        return "nothing"
    if field in PERSON_KEYS:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if field == "status" and isinstance(value, str):
        return _status_word(value)
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


# Detail keys whose values are usernames (one or a list): shown as the person's name.
PERSON_KEYS = frozenset({
    "reviewer", "reviewers", "cancelled_reviewers", "user", "users", "added_users", "removed_users", "person",
    "username", "owner", "participants", "facilitator", "reminded",
})


def audit_usernames(rows: Iterable) -> set[str]:
    """The usernames the details of these audit rows name (see PERSON_KEYS)."""
    found: set[str] = set()
    for details in rows:
        if not isinstance(details, dict):
            continue
        for key in PERSON_KEYS & details.keys():
            value = details[key]
            found.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v)
    return found


def audit_names(rows: Iterable) -> dict[str, str]:
    """username -> name for the people these audit rows' details name: one query (none when they name nobody)."""
    from django.contrib.auth import get_user_model

    from bcp_site.text import display_name

    usernames = audit_usernames(rows)
    if not usernames:
        return {}
    people = get_user_model().objects.filter(username__in=usernames).only("username", "first_name", "last_name")
    return {person.get_username(): display_name(person) for person in people}


def _status_word(code: str) -> str:
    """A plan status as people say it ("in review"); anything else quoted as recorded."""
    from .models import PlanStatus

    labels = dict(PlanStatus.choices)
    return labels[code].lower() if code in labels else f"“{code}”"


def audit_in_words(entries) -> None:
    """Give each audit entry `details_words`: its details as sentences, people by name (one query at most)."""
    names = audit_names(entry.details_json for entry in entries)
    for entry in entries:
        entry.details_words = audit_sentence(entry.action, entry.details_json, names)


def _named(details: dict, names: dict[str, str]) -> dict:
    named = dict(details)
    for key in PERSON_KEYS & named.keys():
        value = named[key]
        if isinstance(value, list):
            named[key] = [names.get(v, v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, str):
            named[key] = names.get(value, value)
    return named


def audit_sentence(action: str, details, names: dict[str, str] | None = None) -> str:
    """An audit row's details as sentences a person reads (the raw details stay in the CSV).

    Row changes name the row and each field with its old and new value ("RTO of Payroll changed
    from 4 h to 2 h"); other details are listed as "label: value" in words. People recorded by
    username are named from `names` (`audit_names` of the rows shown).
    """
    if not isinstance(details, dict) or not details:
        return ""
    details = _named(details, names or {})
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
        before, after = details.pop("from"), details.pop("to")
        parts.append(f"From {_value_words('status', before)} to {_value_words('status', after)}")
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        parts.append(f"{FIELD_WORDS.get(key, key.replace('_', ' ')).capitalize()}: {_value_words(key, value)}")
    return ". ".join(parts) + "."
