"""The large plan: 100 contacts, 200 processes, 200 risks, every section filled, 10 versions.

Each version is the plan as it was then: a few contacts fewer, other recovery times and
mitigations, another purpose, so comparing version 1 with version 10 shows a long diff.
The last version is the approved, active one, identical to the working copy.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from plans.models import Audit, Contact, Plan, PlanVersion, Process, Risk
from plans.risk import risk_rating
from plans.services import contact_snapshot, process_snapshot, risk_snapshot
from reviews.models import Review
from templates_app.schema import choice_pairs, template_sections

from .bulk import insert_rows

TABLE_ROWS = 20  # rows in every table field of the template


def _value(field: dict, i: int, *, contact_id: int | None, user_id: int):
    """A plausible value of any field type."""
    kind = field.get("type")
    choices = [value for value, _label in choice_pairs(field)] if field.get("choices") else []
    if kind == "select":
        return choices[i % len(choices)] if choices else None
    if kind == "multiselect":
        return choices[:2]
    return {
        "text": f"{field.get('label', 'Value')} {i}", "textarea": (f"{field.get('label', 'Text')} paragraph {i}. " * 6),
        "integer": 10 + i, "decimal": "12.5", "date": "2025-03-31", "datetime": "2025-03-31T14:30:00+00:00",
        "boolean": i % 2 == 0, "email": f"person{i}@example.org", "phone": "+44 20 7946 0000",
        "url": f"https://example.org/doc/{i}", "duration": 60 * (1 + i % 48), "user": user_id, "contact": contact_id,
    }.get(kind, f"value {i}")


def fill_content(template, *, table_rows: int, contact_id: int | None, user_id: int) -> dict:
    """Every field of every section filled; every table field with `table_rows` rows."""
    content = {}
    for section in template_sections(template):
        values = {}
        for n, field in enumerate(section["fields"]):
            if field.get("type") == "table":
                values[field["key"]] = [
                    {column["key"]: _value(column, r, contact_id=contact_id, user_id=user_id)
                     for column in field.get("columns", [])}
                    for r in range(table_rows)
                ]
            else:
                values[field["key"]] = _value(field, n, contact_id=contact_id, user_id=user_id)
        content[section["key"]] = values
    return content


def _rows(plan_id: int, *, ids, owners, contacts: int, processes: int, risks: int):
    likelihoods, impacts = Risk.Likelihood.values, Risk.Impact.values
    contact_rows = [
        Contact(pk=ids.take(Contact), plan_id=plan_id, name=f"Contact {i:03}", role="Responder",
                phone="+44 20 7946 0000", email=f"contact{i}@example.org", notes="Out of hours on mobile")
        for i in range(contacts)
    ]
    process_rows = [
        Process(pk=ids.take(Process), plan_id=plan_id, name=f"Process {i:03}",
                description="A critical process with a longer description.", rto_minutes=60 * (1 + i % 24),
                rpo_minutes=30, mtpd_minutes=60 * (24 + i % 24), impact_rating=Process.Impact.values[i % 4],
                dependencies_json=[f"System {i}", "Network"])
        for i in range(processes)
    ]
    risk_rows = [
        Risk(pk=ids.take(Risk), plan_id=plan_id, threat=f"Threat {i:03}", likelihood=likelihoods[i % 5],
             impact=impacts[(i * 3) % 5], rating=risk_rating(likelihoods[i % 5], impacts[(i * 3) % 5]),
             mitigation="Documented mitigation.", owner_user=owners[i % len(owners)].user())
        for i in range(risks)
    ]
    return contact_rows, process_rows, risk_rows


def _version_content(sections: dict, k: int, versions: int, contacts, processes, risks) -> dict:
    """The content of version k (1..versions): older versions lack the last contacts and had
    other recovery times and mitigations."""
    content = copy.deepcopy(sections)
    if "overview" in content:
        content["overview"]["purpose"] = f"Keep the group's critical services running (revision {k})."
    shown = contacts[: max(len(contacts) - (versions - k), 0)]
    changed_processes = []
    for i, process in enumerate(processes):
        snap = process_snapshot(process)
        if i % versions >= k:
            snap["rto_minutes"] = process.rto_minutes + 30
        changed_processes.append(snap)
    changed_risks = []
    for i, risk in enumerate(risks):
        snap = risk_snapshot(risk)
        if i % versions >= k:
            snap["mitigation"] = "Earlier mitigation."
        changed_risks.append(snap)
    return {**content, "contacts": [contact_snapshot(c) for c in shown], "processes": changed_processes,
            "risks": changed_risks}


def build_large_plan(*, org, owner, people, template, ids, now, contacts: int, processes: int, risks: int,
                     versions: int) -> dict:
    """Write the large plan of `org` (owned by `owner`); returns its id."""
    plan_id = ids.take(Plan)
    reviewer = next(p for p in people if p.role == "reviewer")
    contact_rows, process_rows, risk_rows = _rows(plan_id, ids=ids, owners=people, contacts=contacts,
                                                  processes=processes, risks=risks)
    sections = fill_content(template, table_rows=TABLE_ROWS, contact_id=contact_rows[0].pk if contact_rows else None,
                            user_id=owner.id)
    created = now - timedelta(days=30 * versions + 30)
    version_rows = []
    for k in range(1, versions + 1):
        authored = created + timedelta(days=30 * (k - 1))
        content = _version_content(sections, k, versions, contact_rows, process_rows, risk_rows)
        last = k == versions
        version_rows.append((ids.take(PlanVersion), plan_id, k, "active" if last else "superseded", template.pk,
                             owner.id, authored, f"Revision {k}", content,
                             authored + timedelta(days=1) if last else None, 1 if last else None))
    final = version_rows[-1]
    approved_at = final[9]
    draft = {key: value for key, value in final[8].items() if key not in ("contacts", "processes", "risks")}
    insert_rows(Plan, ["id", "org", "title", "status", "template", "current_version", "approved_version",
                       "owner_user", "approved_at_utc", "draft_content_json", "edit_revision", "created_at",
                       "updated_at"],
                [(plan_id, org.pk, "Group-wide business continuity plan", Plan.Status.APPROVED, template.pk,
                  final[0], final[0], owner.id, approved_at, draft, versions + 1, created,
                  now - timedelta(minutes=1))])
    insert_rows(PlanVersion, ["id", "plan", "version_number", "status", "template", "authored_by_user",
                              "authored_at_utc", "summary_change_note", "content_json", "approved_at_utc",
                              "approval_round"], version_rows)
    insert_rows(Contact, ["id", "plan", "name", "role", "phone", "email", "notes"],
                [(c.pk, plan_id, c.name, c.role, c.phone, c.email, c.notes) for c in contact_rows])
    insert_rows(Process, ["id", "plan", "name", "description", "rto_minutes", "rpo_minutes", "mtpd_minutes",
                          "impact_rating", "dependencies_json"],
                [(p.pk, plan_id, p.name, p.description, p.rto_minutes, p.rpo_minutes, p.mtpd_minutes,
                  p.impact_rating, p.dependencies_json) for p in process_rows])
    insert_rows(Risk, ["id", "plan", "threat", "likelihood", "impact", "rating", "mitigation", "owner_user"],
                [(r.pk, plan_id, r.threat, r.likelihood, r.impact, r.rating, r.mitigation, r.owner_user_id)
                 for r in risk_rows])
    insert_rows(Review, ["plan", "version", "round_number", "requested_by_user", "reviewer_user", "status",
                         "requested_at_utc", "decided_at_utc", "notes"],
                [(plan_id, final[0], 1, owner.id, reviewer.id, "approved", final[6], approved_at, "")])
    audit = [(org.pk, plan_id, "plan_created", owner.id, {"title": "Group-wide business continuity plan"}, created)]
    audit += [(org.pk, plan_id, "version_created", owner.id, {"version": v[2]}, v[6]) for v in version_rows]
    audit.append((org.pk, plan_id, "plan_approved", reviewer.id, {"version": versions}, approved_at))
    insert_rows(Audit, ["org", "plan", "action", "actor_user", "details_json", "at_utc"], audit)
    return {"id": plan_id}
