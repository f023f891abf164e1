"""Helpers shared by the incident tests (plans/tests/test_incidents*.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bcp_site.testing import add_children, make_plan
from plans.incidents import incident_declare, incident_plan_activate
from plans.models import Contact, Incident, Plan, Process
from plans.services import plan_section_update, revision_save
from templates_app.models import Template

from .exercise_support import approve


def default_template() -> Template:
    """The shipped default template: it marks the incident-response section and the call tree (key contacts)."""
    return Template.objects.get(is_default=True)


def crisis_plan(org, owner, *, title: str = "Head office plan", extra: int = 0, save: bool = True) -> Plan:
    """A plan of the default template with people to call, a call tree, critical processes and recovery strategies.

    Contacts: "Priya Shah" (incident lead) and "Tom Becker" (deputy) on the call tree, "Grace Okafor" (IT)
    not on it. Processes: "Payroll" (RTO 1 h, MTPD 4 h), "Customer orders" (RTO 30 min, MTPD 2 h),
    "Marketing" (no objectives). `extra` adds that many contacts, processes and risks. `save`: saved as
    the next version (the snapshot holds it all).
    """
    plan = make_plan(org, owner, template=default_template(), title=title)
    lead = Contact.objects.create(plan=plan, name="Priya Shah", role="Incident lead", phone="+44 20 7946 0101",
                                  email="priya.shah@example.org")
    deputy = Contact.objects.create(plan=plan, name="Tom Becker", role="Deputy", phone="020 7946 0102",
                                    email="tom.becker@example.org")
    Contact.objects.create(plan=plan, name="Grace Okafor", role="IT", phone="+44 20 7946 0103",
                           email="grace@example.org")
    Process.objects.create(plan=plan, name="Payroll", rto_minutes=60, rpo_minutes=30, mtpd_minutes=240,
                           impact_rating=Process.Impact.HIGH, dependencies_json=["Payroll bureau", "HR system"])
    Process.objects.create(plan=plan, name="Customer orders", rto_minutes=30, rpo_minutes=0, mtpd_minutes=120,
                           impact_rating=Process.Impact.CRITICAL, dependencies_json=["Order system"])
    Process.objects.create(plan=plan, name="Marketing", impact_rating=Process.Impact.LOW)
    if extra:
        add_children(plan, extra)
    plan.refresh_from_db()
    response = dict((plan.draft_content_json or {}).get("incident_response") or {})
    response.update({
        "activation_steps": "1. Assess.\n2. Start the call tree.",
        "call_tree": [{"step": 1, "caller": lead.pk, "calls": deputy.pk, "method": "phone", "escalate_after": 15}],
        "command_centre": "Board room, 3rd floor",
        "emergency_number": "+44 20 7946 0199",
    })
    plan_section_update(plan=plan, section_key="incident_response", values=response, actor=owner,
                        expected_revision=None)
    plan.refresh_from_db()
    strategies = dict((plan.draft_content_json or {}).get("recovery_strategies") or {})
    strategies["strategies"] = [
        {"activity": "Payroll", "strategy": "third_party", "recovery_time": 60, "notes": "Bureau runs it."},
        {"activity": "Customer orders", "strategy": "redundant_systems", "notes": "Fail over to region 2."},
    ]
    plan_section_update(plan=plan, section_key="recovery_strategies", values=strategies, actor=owner,
                        expected_revision=None)
    plan.refresh_from_db()
    if save:
        revision_save(plan=plan, actor=owner, note="Ready for a crisis")
        plan.refresh_from_db()
    return plan


def approved_crisis_plan(org, owner, reviewer, **kwargs) -> Plan:
    return approve(crisis_plan(org, owner, **kwargs), submitter=owner, approver=reviewer)


def declared(org, actor, *, plans=(), title: str = "Head office flooded",
             severity: str = Incident.Severity.HIGH) -> Incident:
    return incident_declare(organisation=org, actor=actor, title=title, severity=severity,
                            description="Water in the basement.", plans=plans)


def activate(incident: Incident, plan: Plan, actor):
    return incident_plan_activate(incident=incident, plan=plan, actor=actor)


def ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


def snapshot_ref(version, name: str) -> int:
    """The snapshot id of the process called `name` in a version."""
    return next(p["id"] for p in version.content_json["processes"] if p["name"] == name)
