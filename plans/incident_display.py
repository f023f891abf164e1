"""What a plan version says to do in a crisis, read from its snapshot alone (decision 8): the incident-response
section, the key contacts (with numbers to call), every contact, and the critical processes in RTO
order with their recovery strategies and dependencies.

The activation page (`plans.incident_views`) adds each process's recovery status; the break-glass pack
(`plans.exports.breakglass`) prints the same on paper and in an offline file. The template's roles
(decision 5) say which section is the incident response and which field holds the key contacts.

Nothing here queries except `people_named` (one query for every version shown together).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone

from bcp_site.text import display_name
from templates_app.schema import CONTACT_REF, USER_REF, template_roles, template_sections
from templates_app.values import display_value, is_empty, table_display

from .models import IncidentRecovery
from .plan_display import contact_labels, display_sections, referenced_user_ids
from .recovery import Outcome, int_or_none, minutes_between, minutes_text, recovery_outcome

EMPTY = "—"
_PROCESS_IMPACT = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


def tel_uri(phone: str) -> str:
    """A `tel:` link for a phone number as people write it ("+44 20 7946 0101" -> "tel:+442079460101");
    "" when there are no digits."""
    text = (phone or "").strip()
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        return ""
    return "tel:" + ("+" if text.startswith("+") else "") + digits


@dataclass(frozen=True)
class Person:
    """Someone to reach in a crisis: a contact of the version's snapshot, or a person of the organisation."""

    name: str
    role: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""

    @property
    def tel(self) -> str:
        return tel_uri(self.phone)


@dataclass(frozen=True)
class Process:
    """A critical process of the version: its objectives, how it recovers and what it depends on."""

    ref: int | None
    name: str
    description: str
    impact: str
    rto_minutes: int | None
    rpo_minutes: int | None
    mtpd_minutes: int | None
    dependencies: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()

    @property
    def rto(self) -> str:
        return minutes_text(self.rto_minutes)

    @property
    def rpo(self) -> str:
        return minutes_text(self.rpo_minutes)

    @property
    def mtpd(self) -> str:
        return minutes_text(self.mtpd_minutes)


@dataclass
class Response:
    """What one version says to do in a crisis (plain data for the page, the PDF and the offline file)."""

    section: dict | None  # the incident-response section as `display_sections` shows it
    key_contacts: list[Person]
    key_contacts_label: str
    contacts: list[Person]
    processes: list[Process]
    call_tree: dict | None = None  # {"label", "headers", "rows"} when the key contacts are a table
    notes: list[str] = field(default_factory=list)  # what the version's template does not say


def people_named(org_id, user_ids) -> dict[int, Person]:
    """id -> Person (name and email) of the given people of the organisation: one query, none for no ids.

    People outside the organisation stay unnamed: nothing shows them.
    """
    if not user_ids or org_id is None:
        return {}
    people = get_user_model().objects.filter(pk__in=user_ids, membership__organisation_id=org_id).only(
        "id", "username", "first_name", "last_name", "email")
    return {person.pk: Person(name=display_name(person), email=person.email or "") for person in people}


def version_user_ids(version, sections: list[dict]) -> set[int]:
    """The people a version's content refers to (no query: the content is read if it was deferred)."""
    return referenced_user_ids(sections, version.content_json or {})


def _contact_person(contact: dict) -> Person:
    return Person(name=str(contact.get("name") or ""), role=str(contact.get("role") or ""),
                  phone=str(contact.get("phone") or ""), email=str(contact.get("email") or ""),
                  notes=str(contact.get("notes") or ""))


def _find_field(sections: list[dict], path: str) -> tuple[dict | None, dict | None]:
    section_key, _dot, field_key = (path or "").partition(".")
    for section in sections:
        if section["key"] == section_key:
            for spec in section["fields"]:
                if spec["key"] == field_key:
                    return section, spec
    return None, None


def _key_people(spec: dict, value, contacts: dict, people: dict[int, Person]) -> list[Person]:
    """The contacts and people a key-contacts field names, in the order it names them, each once."""
    refs: list[tuple[str, int]] = []
    kind = spec.get("type")
    if kind in (CONTACT_REF, USER_REF) and isinstance(value, int):
        refs.append((kind, value))
    elif kind == "table" and isinstance(value, list):
        for row in value:
            for column in spec.get("columns") or []:
                cell = row.get(column["key"]) if isinstance(row, dict) else None
                if column.get("type") in (CONTACT_REF, USER_REF) and isinstance(cell, int):
                    refs.append((column["type"], cell))
    found, seen = [], set()
    for kind, ref in refs:
        if (kind, ref) in seen:
            continue
        seen.add((kind, ref))
        person = contacts.get(ref) if kind == CONTACT_REF else people.get(ref)
        if person is not None:
            found.append(person)
    return found


def _link(spec: dict, value) -> str:
    """A `tel:` or `mailto:` link for a phone or email field's value, else ""."""
    if not isinstance(value, str) or not value.strip():
        return ""
    if spec.get("type") == "phone":
        return tel_uri(value)
    if spec.get("type") == "email":
        return f"mailto:{value.strip()}"
    return ""


def _strategies(sections: list[dict], content: dict, name: str, *, contact_names, user_names,
                skip: str) -> tuple[str, ...]:
    """Rows of the version's tables whose first column names the process (the recovery strategies), in words."""
    wanted = name.strip().casefold()
    found = []
    for section in sections:
        values = content.get(section["key"]) or {}
        for spec in section["fields"]:
            columns = spec.get("columns") or []
            if spec.get("type") != "table" or not columns or columns[0].get("type") not in ("text", "textarea"):
                continue
            if f"{section['key']}.{spec['key']}" == skip:
                continue
            for row in values.get(spec["key"]) or []:
                if not isinstance(row, dict) or str(row.get(columns[0]["key"]) or "").strip().casefold() != wanted:
                    continue
                parts = [f"{column['label']}: "
                         + display_value(column, row.get(column["key"]), contacts=contact_names, users=user_names)
                         for column in columns[1:] if not is_empty(row.get(column["key"]))]
                if parts:
                    found.append("; ".join(parts))
    return tuple(found)


def _rto_order(process: Process) -> tuple:
    return (process.rto_minutes is None, process.rto_minutes or 0, process.name.casefold(), process.ref or 0)


def version_response(version, *, sections: list[dict] | None = None, people: dict[int, Person]) -> Response:
    """What `version` says to do in a crisis, from its snapshot and its template's roles.

    `sections`: the version's template sections (`template_sections`, read with the template's
    section rows unless given); `people`: `people_named` for the people the content refers to.
    """
    template = version.template
    sections = sections if sections is not None else template_sections(template)
    content = version.content_json or {}
    roles = template_roles(template)
    snapshot_contacts = [c for c in content.get("contacts") or [] if isinstance(c, dict)]
    contacts_by_id = {c.get("id"): _contact_person(c) for c in snapshot_contacts}
    contact_names = contact_labels(snapshot_contacts)
    user_names = {pk: person.name for pk, person in people.items()}
    notes = []

    section = None
    section_key = roles.get("incident_response", "")
    ir_sections = [s for s in sections if s["key"] == section_key]
    if ir_sections:
        section = display_sections(ir_sections, content, contacts=contact_names, users=user_names)[0]
        values = content.get(section_key) or {}
        for spec, item in zip(ir_sections[0]["fields"], section["items"], strict=True):
            item["link"] = _link(spec, values.get(spec["key"]))
    else:
        notes.append("The plan's template marks no incident-response section.")

    key_path = roles.get("key_contacts", "")
    key_section, spec = _find_field(sections, key_path)
    key_contacts: list[Person] = []
    call_tree = None
    label = "Key contacts"
    if spec is not None:
        value = (content.get(key_section["key"]) or {}).get(spec["key"])
        key_contacts = _key_people(spec, value, contacts_by_id, people)
        label = f"Key contacts: {str(spec.get('label') or spec['key']).lower()}"
        if spec.get("type") == "table":
            headers, rows = table_display(spec, value, contacts=contact_names, users=user_names)
            if rows:
                call_tree = {"label": spec.get("label") or "Call tree", "headers": headers, "rows": rows}
    else:
        notes.append("The plan's template marks no key-contacts field: every contact is listed.")

    processes = []
    for raw in content.get("processes") or []:
        if not isinstance(raw, dict):
            continue
        name = str(raw.get("name") or "")
        processes.append(Process(
            ref=int_or_none(raw.get("id")), name=name, description=str(raw.get("description") or ""),
            impact=_PROCESS_IMPACT.get(raw.get("impact_rating") or "", raw.get("impact_rating") or EMPTY),
            rto_minutes=int_or_none(raw.get("rto_minutes")), rpo_minutes=int_or_none(raw.get("rpo_minutes")),
            mtpd_minutes=int_or_none(raw.get("mtpd_minutes")),
            dependencies=tuple(str(d) for d in raw.get("dependencies") or [] if str(d).strip()),
            strategies=_strategies(sections, content, name, contact_names=contact_names, user_names=user_names,
                                   skip=key_path),
        ))
    processes.sort(key=_rto_order)
    return Response(
        section=section, key_contacts=key_contacts, key_contacts_label=label,
        contacts=sorted(contacts_by_id.values(), key=lambda p: p.name.casefold()),
        processes=processes, call_tree=call_tree, notes=notes,
    )


# --- recovery status on the activation page -----------------------------------------------------------


class State:
    UNAFFECTED = "unaffected"
    DISRUPTED = "disrupted"
    RECOVERED = "recovered"


@dataclass(frozen=True)
class ProcessStatus:
    """A critical process of an activated version and where its recovery stands at `now`."""

    process: Process
    recovery: IncidentRecovery | None
    now: dt.datetime

    @property
    def state(self) -> str:
        if self.recovery is None:
            return State.UNAFFECTED
        return State.DISRUPTED if self.recovery.recovered_at_utc is None else State.RECOVERED

    @property
    def minutes(self) -> int | None:
        """Recovered: the time achieved; disrupted: how long so far; unaffected: None."""
        if self.recovery is None:
            return None
        end = self.recovery.recovered_at_utc or self.now
        return minutes_between(self.recovery.disrupted_at_utc, max(end, self.recovery.disrupted_at_utc))

    @property
    def minutes_text(self) -> str:
        return minutes_text(self.minutes)

    @property
    def outcome(self) -> str | None:
        """The exercises' rule (`plans.recovery`): final once recovered, so far while disrupted."""
        if self.minutes is None:
            return None
        return recovery_outcome(self.minutes, rto=self.process.rto_minutes, mtpd=self.process.mtpd_minutes)

    @property
    def outcome_label(self) -> str:
        outcome = self.outcome
        if outcome is None:
            return "Not affected"
        if self.state == State.RECOVERED:
            return Outcome.LABELS[outcome]
        return {Outcome.MET: "Within RTO so far", Outcome.MISSED: "RTO passed", Outcome.BREACHED: "MTPD breached",
                Outcome.NO_OBJECTIVE: "No objective"}[outcome]

    @property
    def rto_due_at(self) -> dt.datetime | None:
        if self.recovery is None or self.process.rto_minutes is None:
            return None
        return self.recovery.disrupted_at_utc + dt.timedelta(minutes=self.process.rto_minutes)

    @property
    def mtpd_due_at(self) -> dt.datetime | None:
        if self.recovery is None or self.process.mtpd_minutes is None:
            return None
        return self.recovery.disrupted_at_utc + dt.timedelta(minutes=self.process.mtpd_minutes)


def process_statuses(processes: list[Process], recoveries, *, now: dt.datetime | None = None) -> list[ProcessStatus]:
    """Each process (RTO order kept) with its recovery row, if any (no query: `recoveries` is a list)."""
    now = now or timezone.now()
    by_ref = {row.process_ref: row for row in recoveries}
    return [ProcessStatus(process=process, recovery=by_ref.get(process.ref), now=now) for process in processes]

