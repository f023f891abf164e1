"""Load demo data: an organisation, one user per role, and a full sample plan. Safe to run again.

The sample plan is written through the services, as people would: every section, contacts,
critical processes (depending on vendors of the organisation's register, one of which recovers after
its process's RTO), resources, risks and collaborators (a co-author, a section owner, a default
reviewer); version 2 submitted and approved by a reviewer; a tabletop exercise
of it, held, with its results and a finding; a closed incident that activated it (timeline, recoveries,
review, finding); then a draft revision (version 3) after it, which
addresses the finding. A sample plan left empty by an earlier run is filled in place;
one that has content already is left as it is. The command lives in `reviews` because it
approves (reviews -> plans -> templates_app).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from plans import incidents
from plans.collaborators import collaborator_save
from plans.exercises import exercise_hold, exercise_plan, exercise_results_record
from plans.exports.issued import version_exports_store
from plans.findings import finding_raise, incident_finding_raise
from plans.models import Membership, Organisation, Plan, Vendor
from plans.resources import resource_save
from plans.services import (
    ServiceError,
    contact_save,
    plan_create,
    plan_section_update,
    process_save,
    revision_save,
    risk_save,
)
from plans.vendors import vendor_name_key, vendor_save
from reviews import services as workflow
from templates_app.models import Template
from templates_app.schema import template_sections, value_problem

from . import _demo_plan as demo
from ._demo_kpi import demo_kpi_history

ORGANISATION = "Demo Organisation"
PLAN_TITLE = "Head Office Business Continuity Plan"
# username, password, group, staff (can open the admin), superuser, full name
DEMO_USERS = [
    ("admin", "demo-admin-pass", "BCP Admin", True, True, "Ada Admin"),
    ("editor", "demo-editor-pass", "BCP Editor", False, False, "Eddie Editor"),
    ("reviewer", "demo-reviewer-pass", "BCP Reviewer", True, False, "Rita Reviewer"),
    ("reviewer2", "demo-reviewer2-pass", "BCP Reviewer", True, False, "Rob Reviewer"),
    ("viewer", "demo-viewer-pass", "BCP Viewer", False, False, "Vera Viewer"),
    ("auditor", "demo-auditor-pass", "BCP Auditor", True, False, "Aude Auditor"),
]


def plan_is_empty(plan: Plan) -> bool:
    """An untouched sample plan (what earlier versions of this command made): no rows, never approved."""
    return (
        plan.status == Plan.Status.DRAFT and plan.approved_version_id is None
        and not plan.contacts.exists() and not plan.processes.exists() and not plan.risks.exists()
    )


def fill_sample_plan(plan: Plan, *, users: dict) -> str:
    """Fill an empty sample plan through the services, approve the revision, then start a draft revision.

    Returns what happened, in words.
    """
    editor = users["editor"]
    contacts = {}
    for ref, name, role, phone, email, notes in demo.CONTACTS:
        contact = contact_save(plan=plan, actor=editor, expected_revision=None,
                               values={"name": name, "role": role, "phone": phone, "email": email, "notes": notes})
        contacts[ref] = contact.pk
    vendors = _vendor_register(plan.org, users=users)
    processes = {}
    for name, description, rto, rpo, mtpd, impact, dependencies in demo.PROCESSES:
        processes[name] = process_save(plan=plan, actor=editor, expected_revision=None, values={
            "name": name, "description": description, "rto_minutes": rto, "rpo_minutes": rpo,
            "mtpd_minutes": mtpd, "impact_rating": impact, "dependencies_json": dependencies,
            "vendors": vendors.get(name, []),
        })
    for kind, name, process, primary, alternate, notes, quantities in demo.RESOURCES:
        resource_save(plan=plan, actor=editor, expected_revision=None, values={
            "kind": kind, "name": name, "process": processes.get(process), "primary_source": primary,
            "alternate_source": alternate, "notes": notes, "quantities": list(quantities),
        })
    known = {section["key"] for section in template_sections(plan.template)}
    for username, role, sections in demo.COLLABORATORS:
        owned = [key for key in sections if key in known]  # another default template may lack a section
        if role != "section_owner" or owned:
            collaborator_save(plan=plan, actor=editor, user=users[username], role=role, section_keys=owned)
    for risk in demo.RISKS:
        _add_risk(plan, risk, users=users)
    values = demo.section_values(today=timezone.localdate(), users={k: u.pk for k, u in users.items()},
                                 contacts=contacts)
    for section in template_sections(plan.template):
        known = values.get(section["key"], {})
        # Keep the template's own defaults for fields the demo does not know (another default template).
        merged = dict((plan.draft_content_json or {}).get(section["key"]) or {})
        for field in section["fields"]:
            value = known.get(field["key"])
            if value is not None and value_problem(field, value) is None:
                merged[field["key"]] = value
        plan_section_update(plan=plan, section_key=section["key"], values=merged, actor=editor,
                            expected_revision=None)
    try:
        version = revision_save(plan=plan, actor=editor, note=demo.APPROVED_NOTE)
        reviews = workflow.plan_submit_for_review(plan=plan, actor=editor, reviewers=[users["reviewer"]])
        workflow.review_approve(review=reviews[0], actor=users["reviewer"])
    except ServiceError as exc:
        # A template this demo does not know may ask for more: the plan stays a draft, filled.
        return f"not approved ({exc.message})"
    plan.refresh_from_db()
    finding = _add_exercise(plan, users=users)
    _add_incident(plan, users=users)
    _add_risk(plan, demo.DRAFT_RISK, users=users)
    if "recovery_strategies" in (plan.draft_content_json or {}):
        section = dict(plan.draft_content_json["recovery_strategies"])
        section["alternate_site_seats"] = 40
        plan_section_update(plan=plan, section_key="recovery_strategies", values=section, actor=editor,
                            expected_revision=None)
    draft = revision_save(plan=plan, actor=editor, note=demo.DRAFT_NOTE, findings=[finding])
    return f"version {version.version_number} approved, version {draft.version_number} a draft revision"


def _vendor_register(org, *, users: dict) -> dict[str, list]:
    """The demo vendors in the organisation's register (added once; kept on a later run), by the process names
    that depend on them."""
    by_process: dict[str, list] = {}
    for name, service, recovery, evidence_days, criticality, contract, contacts, processes in demo.VENDORS:
        vendor = Vendor.objects.filter(org=org, name_key=vendor_name_key(name)).first() or vendor_save(
            org=org, actor=users["admin"], values={
                "name": name, "service": service, "recovery_minutes": recovery, "criticality": criticality,
                "evidence_on": timezone.localdate() - timedelta(days=evidence_days), "contract_reference": contract,
                "contacts": contacts,
            })
        for process in processes:
            by_process.setdefault(process, []).append(vendor)
    return by_process


def _add_risk(plan: Plan, risk: tuple, *, users: dict) -> None:
    threat, likelihood, impact, mitigation, owner = risk
    risk_save(plan=plan, actor=users["editor"], expected_revision=None, values={
        "threat": threat, "likelihood": likelihood, "impact": impact, "mitigation": mitigation,
        "owner_user": users[owner],
    })


def _add_exercise(plan: Plan, *, users: dict):
    """A tabletop exercise of the approved version, held, with its results and a finding; returns the finding."""
    spec, editor, today = demo.EXERCISE, users["editor"], timezone.localdate()
    held_on = today - timedelta(days=spec["held_days_ago"])
    exercise = exercise_plan(plan=plan, actor=editor, values={
        "title": spec["title"], "exercise_type": spec["type"], "scenario": spec["scenario"], "scheduled_on": held_on,
        "facilitator_user": editor, "external_participants": spec["outsiders"],
    }, objectives=[text for text, _result, _notes in spec["objectives"]],
        participants=[users["viewer"], users["admin"]])
    exercise = exercise_hold(exercise=exercise, actor=editor, held_on=held_on)
    results = dict(zip(exercise.objectives.order_by("position").values_list("pk", flat=True),
                       [(result, notes) for _text, result, notes in spec["objectives"]], strict=True))
    process_ids = {p["name"]: p["id"] for p in exercise.version.content_json.get("processes") or []}
    recoveries = {process_ids[name]: (minutes, notes) for name, minutes, notes in spec["recoveries"]
                  if name in process_ids}
    exercise_results_record(exercise=exercise, actor=editor, objectives=results, recoveries=recoveries,
                            summary=spec["summary"])
    description, severity, due_in_days = spec["finding"]
    return finding_raise(exercise=exercise, actor=editor, description=description, severity=severity,
                         owner=editor, due_on=today + timedelta(days=due_in_days))


def _add_incident(plan: Plan, *, users: dict) -> None:
    """A closed incident that activated the approved version: its timeline, two processes disrupted and recovered,
    the stand-down, the post-incident review and a finding (its report is rendered after the commit)."""
    spec, editor, now = demo.INCIDENT, users["editor"], timezone.now()
    incident = incidents.incident_declare(organisation=plan.org, actor=editor, title=spec["title"],
                                          severity=spec["severity"], description=spec["description"], plans=[plan])
    activation = incident.activations.get()
    process_ids = {p["name"]: p["id"] for p in activation.version.content_json.get("processes") or []}
    for name, disrupted, recovered, notes in spec["recoveries"]:
        if name not in process_ids:
            continue
        incidents.incident_process_disrupted(incident=incident, activation_id=activation.pk, actor=editor,
                                             process_ref=process_ids[name], at=now - timedelta(minutes=disrupted))
        incidents.incident_process_recovered(incident=incident, activation_id=activation.pk, actor=users["viewer"],
                                             process_ref=process_ids[name], at=now - timedelta(minutes=recovered),
                                             notes=notes)
    for kind, username, text in spec["events"]:
        incidents.incident_event_add(incident=incident, actor=users[username], kind=kind, text=text)
    incidents.incident_stand_down(incident=incident, actor=editor, note="Power restored; everyone back tomorrow.")
    incidents.incident_review_save(incident=incident, actor=editor, summary=spec["review"])
    description, severity, due_in_days = spec["finding"]
    incident_finding_raise(incident=incident, plan=plan, actor=editor, description=description, severity=severity,
                           owner=editor, due_on=timezone.localdate() + timedelta(days=due_in_days))
    incidents.incident_close(incident=incident, actor=editor)


class Command(BaseCommand):
    help = ("Create (or refresh) the demo organisation, one user per role, and a full sample plan "
            "(an approved version and a draft revision after it). Safe to run again.")

    def handle(self, *args, **options):
        User = get_user_model()
        with transaction.atomic():
            org, _ = Organisation.objects.get_or_create(name=ORGANISATION)
            users = {}
            for username, password, group_name, staff, superuser, full_name in DEMO_USERS:
                try:
                    group = Group.objects.get(name=group_name)
                except Group.DoesNotExist:
                    raise CommandError(f"Group {group_name!r} is missing: run 'manage.py migrate' first.") from None
                first, last = full_name.split(" ", 1)
                user, _ = User.objects.get_or_create(username=username)
                user.first_name, user.last_name = first, last
                user.email = f"{username}@example.org"
                user.is_staff, user.is_superuser, user.is_active = staff, superuser, True
                user.set_password(password)
                user.save()
                user.groups.add(group)
                Membership.objects.update_or_create(user=user, defaults={"organisation": org})
                users[username] = user
            template = Template.objects.filter(is_default=True).first() or Template.objects.first()
            plan_note, plan = "no template installed, so no sample plan", None
            if template is not None:
                plan = Plan.objects.filter(org=org, title=PLAN_TITLE).order_by("pk").first()
                if plan is None:
                    plan = plan_create(organisation=org, template=template, title=PLAN_TITLE,
                                       owner=users["editor"], actor=users["editor"])
                    plan_note = f"sample plan #{plan.pk} created: {fill_sample_plan(plan, users=users)}"
                elif plan_is_empty(plan):
                    plan_note = f"sample plan #{plan.pk} was empty, now filled: {fill_sample_plan(plan, users=users)}"
                else:
                    plan_note = f"sample plan #{plan.pk} already there"

        if template is not None and plan is not None:
            # The demo's files issued now, so a first download is the file, not "being prepared".
            for version_id in plan.versions.values_list("pk", flat=True):
                version_exports_store(version_id=version_id)
        self.stdout.write(demo_kpi_history(org))
        login = settings.SITE_URL + reverse("login")
        self.stdout.write(f"Demo users (log in at {login}):")
        for username, password, group_name, staff, _superuser, _name in DEMO_USERS:
            admin_note = ", can open the admin" if staff else ""
            self.stdout.write(f"  {username:<10} password: {password:<22} role: {group_name}{admin_note}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {org.name}, {len(DEMO_USERS)} users, {plan_note}."))
