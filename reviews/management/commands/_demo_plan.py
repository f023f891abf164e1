"""What the demo's sample plan holds: a head office plan with every section of the default template
filled, contacts, critical processes with RTO/RPO/MTPD, and risks spread across the heat map.

Plain data for `seed_demo`, which writes it through the services. People are fictional; phone
numbers are in Ofcom's drama range (020 7946 0xxx) and addresses in example.org.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

H = 60  # minutes in an hour
D = 24 * H  # minutes in a day

# ref (how sections refer to the contact), name, role, phone, email, notes
CONTACTS = [
    ("lead", "Priya Shah", "Incident lead (Head of Operations)", "+44 20 7946 0101", "priya.shah@example.org",
     "Activates the plan; chairs the incident team."),
    ("deputy", "Tom Becker", "Deputy incident lead (Facilities Manager)", "+44 20 7946 0102",
     "tom.becker@example.org", "Stands in for the incident lead; owns the building and the alternate site."),
    ("it", "Grace Okafor", "IT Service Manager", "+44 20 7946 0103", "grace.okafor@example.org",
     "Systems recovery, backups and the DR provider."),
    ("comms", "Daniel Reyes", "Head of Communications", "+44 20 7946 0104", "daniel.reyes@example.org",
     "Spokesperson; staff, customer and press messages."),
    ("hr", "Aisha Karimi", "HR Business Partner", "+44 20 7946 0105", "aisha.karimi@example.org",
     "Staff welfare, absence and next of kin."),
    ("finance", "Marcus Lindqvist", "Finance Controller", "+44 20 7946 0106", "marcus.lindqvist@example.org",
     "Emergency spending, payroll and supplier payments."),
    ("dr", "Northwind Recovery Services (24/7 desk)", "Disaster recovery provider", "+44 20 7946 0150",
     "dr-desk@northwind.example.org", "Contract NRS-2231: work-area recovery and hosted DR."),
]

# name, description, RTO, RPO, MTPD (minutes), impact, dependencies
PROCESSES = [
    ("Customer order processing", "Taking, confirming and fulfilling customer orders.", 4 * H, 1 * H, 1 * D,
     "critical", ["Order management system", "Payment gateway", "Warehouse team"]),
    ("Customer support line", "Answering customer calls and emails.", 2 * H, 0, 8 * H, "critical",
     ["Cloud telephony", "CRM", "Support team"]),
    ("Warehouse dispatch", "Picking, packing and shipping orders.", 8 * H, 4 * H, 2 * D, "high",
     ["Warehouse management system", "Courier contract"]),
    ("Supplier payments", "Paying suppliers on time.", 1 * D, 4 * H, 3 * D, "high", ["Finance system", "Bank portal"]),
    ("Payroll", "Paying staff on the monthly pay date.", 2 * D, 1 * D, 5 * D, "medium",
     ["Payroll bureau", "HR system"]),
    ("Marketing campaigns", "Scheduled campaigns and the newsletter.", 5 * D, 1 * D, 10 * D, "low",
     ["Email platform"]),
]

# The organisation's vendor register: name, service, committed recovery time (minutes), days since the last
# continuity evidence, criticality, contract reference, contacts, and the processes that depend on it.
# Skyline's 6 h is later than the support line's RTO of 2 h (flagged); Fastlane's evidence is stale (flagged).
VENDORS = [
    ("Northwind Recovery Services", "Work-area recovery centre and hosted disaster recovery", 4 * H, 90, "critical",
     "NRS-2231", "24/7 desk +44 20 7946 0150, dr-desk@northwind.example.org", ["Customer order processing"]),
    ("Skyline Cloud Telephony", "Cloud telephony and call routing for the support line", 6 * H, 120, "critical",
     "SKY-7781", "Service desk +44 20 7946 0160", ["Customer support line"]),
    ("Fastlane Couriers", "Parcel collection and next-day delivery", 1 * D, 420, "high", "FL-0932",
     "Account manager +44 20 7946 0170", ["Warehouse dispatch"]),
    ("PayWise Payroll Bureau", "Monthly payroll processing and payslips", 1 * D, 60, "medium", "PW-5510",
     "Client support +44 20 7946 0180", ["Payroll"]),
]

# kind, name, process it serves (or None: the plan as a whole), primary source, alternate source, notes,
# quantities needed ((minutes into the disruption, how many), ...)
RESOURCES = [
    ("people", "Customer support agents", "Customer support line", "Support team (22 agents)",
     "Agency staff through Northwind", "Agents can work from home with a laptop and a headset.",
     ((0, 6), (4 * H, 12), (1 * D, 18))),
    ("workspace", "Office seats", None, "Head office, 12 Harbour Street",
     "Northwind work-area recovery centre, Aztec West", "", ((4 * H, 20), (1 * D, 40))),
    ("it_system", "Order management system", "Customer order processing", "Cloud, primary region",
     "Cloud, second region (warm standby)", "", ((0, 1),)),
    ("equipment", "Laptops with VPN", None, "IT store room", "Rental partner, next-day delivery", "",
     ((0, 10), (1 * D, 30))),
    ("data", "Customer and order records", "Customer order processing", "Order database",
     "Immutable offsite backup (hourly)", "RPO 1 h: restore from the latest hourly backup.", ((0, 1),)),
]

# username, role, sections (section owners only)
COLLABORATORS = [
    ("admin", "co_author", []),
    ("reviewer2", "section_owner", ["recovery_strategies", "incident_response"]),
    ("reviewer", "default_reviewer", []),
]

# threat, likelihood, impact, mitigation, owner (username)
RISKS = [
    ("Ransomware encrypts file servers", "likely", "severe",
     "Immutable offsite backups, EDR on every endpoint, quarterly restore tests.", "editor"),
    ("Fire at head office", "rare", "severe", "Fire suppression, evacuation drills, alternate site contract.",
     "editor"),
    ("Cloud hosting provider outage", "unlikely", "major", "Second region on standby; status page monitored.",
     "admin"),
    ("Extended power cut", "possible", "major", "UPS for the server room; generator maintained monthly.", "editor"),
    ("Pandemic absence above 30%", "possible", "moderate", "Cross-training; work from home for all office roles.",
     "admin"),
    ("Severe weather stops travel", "likely", "moderate", "Remote working; warehouse skeleton rota.", "editor"),
    ("Key supplier insolvency", "unlikely", "moderate", "Second courier approved; supplier health reviewed.",
     "admin"),
    ("Telephone lines fail", "possible", "minor", "Calls divert to mobiles; cloud telephony failover.", "editor"),
    ("Key person unavailable", "almost_certain", "minor", "Deputies named for every role in this plan.", "admin"),
    ("Laptop lost or stolen", "almost_certain", "insignificant", "Full-disk encryption and remote wipe.", "editor"),
    ("Regulatory change to data retention", "rare", "minor", "Legal horizon scanning each quarter.", "admin"),
]

# The draft revision after the approved version: what the editor changed since.
DRAFT_RISK = ("Heatwave overheats the server room", "possible", "moderate",
              "Portable cooling on call-off contract; temperature alerts to the IT on-call phone.", "editor")
DRAFT_NOTE = "Heatwave risk added after the summer walkthrough; the alternate site has 40 seats now."
APPROVED_NOTE = "Full plan after the annual business impact analysis and the tabletop exercise."

# A tabletop exercise of the approved version, held HELD_DAYS_AGO days ago: objectives with their results,
# recovery times achieved (process name, minutes, notes) and one finding, which the draft revision addresses.
EXERCISE = {
    "title": "Ransomware tabletop",
    "type": "tabletop",
    "scenario": "Monday 07:30: the file servers are encrypted and a ransom note is on every shared drive. "
                "The order system still runs; nobody can open the call tree.",
    "held_days_ago": 20,
    "outsiders": "Northwind Recovery Services duty manager",
    "objectives": [
        ("Activate the plan within 30 minutes of the first report", "met", "Activated after 20 minutes."),
        ("Reach every call-tree contact within an hour", "partly_met",
         "Two mobile numbers were out of date; the call tree was only on the encrypted file server."),
        ("Bring customer orders back within their RTO from offline backups", "met", ""),
    ],
    "recoveries": [
        ("Customer order processing", 3 * H, "Restored from the immutable offsite backup."),
        ("Customer support line", 3 * H, "The telephony failover needed a manual step nobody had written down."),
    ],
    "summary": "The team activated the plan quickly and the order system came back within its RTO. The call tree "
               "let us down: it lived on the file server that was encrypted, and two numbers were stale.",
    "finding": ("Keep an offline copy of the call tree with the incident lead and the deputy, and check the "
                "numbers every month.", "high", 30),
}


# A closed incident that activated the approved version: the timeline (kind, who, text),
# the processes disrupted (name, disrupted minutes ago, recovered minutes ago, notes), the review and a finding.
INCIDENT = {
    "title": "Power cut at head office",
    "severity": "high",
    "description": "The street's substation failed at 07:40; the office and the server room are on UPS.",
    "events": [
        ("decision", "editor", "Invoke the plan: staff work from home, the order system fails over to region 2."),
        ("communication", "viewer", "All staff told by SMS to work from home today."),
        ("action", "admin", "Northwind DR desk called; failover of the order system confirmed."),
        ("update", "viewer", "Power back at 09:55; the UPS held the server room."),
    ],
    "recoveries": [
        ("Customer order processing", 160, 100, "Failed over to region 2."),
        ("Customer support line", 160, 10, "Calls re-routed to agents at home after a manual step."),
    ],
    "review": "The plan worked: the order system was back within its RTO. The support line took longer than its "
              "RTO because re-routing the calls needed a step nobody had written down.",
    "finding": ("Write down the call re-routing step and test it every quarter.", "medium", 45),
}


def section_values(*, today: dt.date, users: dict[str, int], contacts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Section key -> field key -> value for the default template (stored shapes: minutes, ISO dates, ids)."""
    def day(days: int) -> str:
        return (today + dt.timedelta(days=days)).isoformat()

    editor, admin, reviewer = users["editor"], users["admin"], users["reviewer"]
    return {
        "overview": {
            "purpose": ("Keep serving customers and paying staff and suppliers when the head office, its people "
                        "or its systems are disrupted, and return to normal within the recovery objectives."),
            "scope": ("Head office (12 Harbour Street, Bristol), the Avonmouth warehouse and the services run from "
                      "them: orders, customer support, dispatch, finance and payroll. Retail partners' own sites are "
                      "out of scope."),
            "objectives": [
                {"objective": "Take customer orders again", "measure": "First order confirmed",
                 "target_time": 4 * H, "owner": editor},
                {"objective": "Answer customer calls", "measure": "80% of calls answered", "target_time": 2 * H,
                 "owner": editor},
                {"objective": "Pay staff on the normal date", "measure": "Payroll run completed",
                 "target_time": 2 * D, "owner": admin},
            ],
            "assumptions": ("At least half of the staff can work; the cloud order system is available from a "
                            "second region; the DR provider can seat 40 people within 4 hours."),
            "plan_owner": editor,
            "effective_date": day(-30),
            "classification": "internal",
        },
        "governance": {
            "policy_statement": ("The board commits to protecting customers, staff and the business from "
                                 "disruption, following ISO 22301. The policy is reviewed every year."),
            "executive_sponsor": admin,
            "bc_manager": editor,
            "roles": [
                {"role": "Incident lead", "responsibilities": "Activates the plan, leads the incident team.",
                 "primary": contacts["lead"], "deputy": contacts["deputy"]},
                {"role": "IT recovery", "responsibilities": "Restores systems in RTO order.",
                 "primary": contacts["it"], "deputy": contacts["dr"]},
                {"role": "Communications", "responsibilities": "Staff, customer and press messages.",
                 "primary": contacts["comms"], "deputy": contacts["hr"]},
            ],
            "steering_meets": "quarterly",
        },
        "bia": {
            "analysis_date": day(-60),
            "method": "workshop",
            "impact_timeline": [
                {"after": 4 * H, "financial": "low", "operational": "medium", "reputational": "low", "legal": "low",
                 "notes": "Orders queue up; customers notice delays."},
                {"after": 1 * D, "financial": "medium", "operational": "high", "reputational": "medium",
                 "legal": "low", "notes": "Missed deliveries; complaints rise."},
                {"after": 3 * D, "financial": "high", "operational": "severe", "reputational": "high",
                 "legal": "medium", "notes": "Contract penalties with retail partners."},
            ],
            "minimum_service_level": "Orders taken and confirmed within a day; support line answered 9:00-17:00.",
            "key_dependencies": [
                {"dependency": "Order management system", "kind": "system", "contact": contacts["it"],
                 "tolerable_outage": 4 * H},
                {"dependency": "Northwind Recovery Services", "kind": "supplier", "contact": contacts["dr"],
                 "tolerable_outage": 1 * D},
                {"dependency": "Avonmouth warehouse", "kind": "site", "contact": contacts["deputy"],
                 "tolerable_outage": 2 * D},
            ],
        },
        "risk_assessment": {
            "assessment_date": day(-45),
            "method": "Likelihood × impact on a 5 × 5 matrix, scored in a workshop with each process owner.",
            "risk_appetite": "cautious",
            "single_points_of_failure": [
                {"item": "Payroll specialist", "kind": "person", "mitigation": "Second person trained by Q3",
                 "owner": admin},
                {"item": "Core network switch", "kind": "equipment", "mitigation": "Spare held on site",
                 "owner": editor},
            ],
            "reassess_every": "six_monthly",
        },
        "recovery_strategies": {
            "strategies": [
                {"activity": "Customer order processing", "strategy": "redundant_systems", "recovery_time": 4 * H,
                 "owner": editor, "notes": "Fail over to the second cloud region."},
                {"activity": "Customer support line", "strategy": "work_from_home", "recovery_time": 2 * H,
                 "owner": editor, "notes": "Agents log in from home; calls re-routed."},
                {"activity": "Warehouse dispatch", "strategy": "third_party", "recovery_time": 2 * D,
                 "owner": admin, "notes": "Overflow fulfilment partner."},
            ],
            "alternate_site": "Northwind work-area recovery centre, Aztec West, Bristol",
            "alternate_site_seats": 30,
            "remote_work_capable": True,
            "minimum_staff": 25,
        },
        "incident_response": {
            "activation_criteria": ["loss_of_premises", "loss_of_it", "cyber_incident", "utility_outage"],
            "activation_threshold": 2 * H,
            "activation_authority": editor,
            "activation_steps": ("1. Assess the incident and decide to activate.\n2. Start the call tree.\n"
                                 "3. Open the command centre.\n4. Recover processes in RTO order.\n"
                                 "5. Send the first staff and customer messages within an hour."),
            "call_tree": [
                {"step": 1, "caller": contacts["lead"], "calls": contacts["deputy"], "method": "phone",
                 "escalate_after": 15},
                {"step": 2, "caller": contacts["lead"], "calls": contacts["it"], "method": "phone",
                 "escalate_after": 15},
                {"step": 3, "caller": contacts["deputy"], "calls": contacts["hr"], "method": "sms",
                 "escalate_after": 30},
                {"step": 4, "caller": contacts["it"], "calls": contacts["dr"], "method": "phone",
                 "escalate_after": 30},
            ],
            "command_centre": "Board room, 3rd floor; fallback: Northwind recovery centre, room B",
            "assembly_point": "Harbour Street car park, by the north gate",
            "emergency_number": "+44 20 7946 0199",
        },
        "communications": {
            "internal_channels": ["phone", "sms", "email", "mass_notification"],
            "stakeholders": [
                {"stakeholder": "All staff", "contact": contacts["hr"], "channel": "mass_notification",
                 "notify_within": 1 * H, "message_owner": editor},
                {"stakeholder": "Customers", "contact": contacts["comms"], "channel": "email",
                 "notify_within": 2 * H, "message_owner": editor},
                {"stakeholder": "Retail partners", "contact": contacts["comms"], "channel": "phone",
                 "notify_within": 4 * H, "message_owner": admin},
            ],
            "spokesperson": reviewer,
            "holding_statement": ("We are dealing with a disruption at our head office. Orders are being taken "
                                  "and we will update customers by 5 pm today."),
            "status_page": "https://status.example.org",
            "update_every": 2 * H,
        },
        "it_recovery": {
            "systems": [
                {"system": "Order management system", "criticality": "critical", "rto": 4 * H, "rpo": 1 * H,
                 "recovery_site": "Cloud region 2", "owner": editor},
                {"system": "Cloud telephony", "criticality": "critical", "rto": 2 * H, "rpo": 0,
                 "recovery_site": "Provider failover", "owner": editor},
                {"system": "Finance system", "criticality": "high", "rto": 1 * D, "rpo": 4 * H,
                 "recovery_site": "Northwind hosted DR", "owner": admin},
            ],
            "backup_frequency": "hourly",
            "backup_retention_days": 35,
            "backups_offsite": True,
            "last_restore_test": day(-40),
            "dr_provider": contacts["dr"],
            "runbook_url": "https://wiki.example.org/it/dr-runbook",
        },
        "testing": {
            "exercise_frequency": "six_monthly",
            "next_exercise": day(160),
        },
        "maintenance": {
            "review_cadence": "annually",
            "next_review": day(335),
            "last_review": day(-30),
            "review_triggers": ["incident", "exercise", "org_change", "it_change"],
            "document_owner": editor,
        },
        "appendices": {
            "documents": [
                {"title": "IT disaster recovery runbook", "link": "https://wiki.example.org/it/dr-runbook",
                 "notes": "Step-by-step restore order"},
                {"title": "Northwind recovery contract", "link": "https://docs.example.org/contracts/nrs-2231",
                 "notes": "Invocation: call the 24/7 desk"},
            ],
            "glossary": [
                {"term": "RTO", "meaning": "Recovery time objective: back within this time"},
                {"term": "RPO", "meaning": "Recovery point objective: data lost at most"},
                {"term": "MTPD", "meaning": "Maximum tolerable period of disruption"},
            ],
            "notes": "Printed copies are kept in the incident lead's grab bag and at the alternate site.",
        },
    }
