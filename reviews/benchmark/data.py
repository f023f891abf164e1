"""The benchmark's data: three organisations, their people and plans, and one large plan.

- "small": 25 people and 1,000 plans (the reference every "flat in size" check compares with);
- "big": 25 people and 100,000 plans, plus the large plan (100 contacts, 200 processes,
  200 risks, 10 versions);
- "crowd": 10,000 people and 2 plans.

Plans are valid for every page: the default template, a working copy shaped by it, 1 or 2
versions (about 1.5 a plan) whose `content_json` is the working copy plus the snapshot of the
live contacts, processes and risks, and for half of them an approved version with its
approving review (acknowledgement links need one). Rows are written by `bulk.insert_rows`
with ids chosen up front; `build_bench_data` returns what the measurements need (ids).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from plans.models import Audit, Contact, Membership, Organisation, Plan, PlanVersion, Process, Risk
from plans.risk import risk_rating
from plans.search import search_reindex
from plans.services import contact_snapshot, process_snapshot, risk_snapshot
from reviews.coverage_counts import coverage_recount
from reviews.models import Ack, Review
from templates_app.models import Template
from templates_app.schema import default_content, template_sections

from .bulk import insert_rows, loading, next_id
from .large_plan import build_large_plan

PASSWORD = "bench-password-not-secret"
FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam",
               "Maria", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Sami", "Tariq", "Uma", "Viktor", "Wen", "Yusuf"]
LAST_NAMES = ["Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
              "Khan", "Lopez", "Müller", "Nowak", "Okafor", "Petrov", "Rossi", "Santos", "Tanaka", "Virtanen"]
SITES = ["Head office", "Leeds depot", "Dublin site", "Data centre", "Call centre", "Warehouse", "Lab", "Plant"]
FUNCTIONS = ["payroll", "logistics", "customer service", "IT services", "finance", "procurement", "sales", "HR"]
LIKELIHOODS, IMPACTS = Risk.Likelihood.values, Risk.Impact.values


@dataclass(frozen=True)
class Scale:
    """How much data to build (`FULL` is the full data set; `QUICK` a smoke run; `TINY` the tests')."""

    name: str
    small_plans: int
    small_people: int
    big_plans: int
    big_people: int
    crowd_people: int
    crowd_plans: int
    large_contacts: int
    large_processes: int
    large_risks: int
    large_versions: int


FULL = Scale("full", 1_000, 25, 100_000, 25, 10_000, 2, 100, 200, 200, 10)
QUICK = Scale("quick", 1_000, 25, 10_000, 25, 2_000, 2, 100, 200, 200, 10)
TINY = Scale("tiny", 8, 5, 12, 5, 12, 2, 4, 6, 6, 3)
ORG_NAMES = {"small": "Bench small", "big": "Bench big", "crowd": "Bench crowd"}


@dataclass
class Person:
    id: int
    username: str
    first_name: str
    last_name: str
    role: str  # "admin", "reviewer", "editor" or "viewer"

    def user(self):
        """An unsaved user object with this person's id and names (snapshots read the name; no query)."""
        return get_user_model()(id=self.id, username=self.username, first_name=self.first_name,
                                last_name=self.last_name)


class Ids:
    """The next free id of each table, handed out as rows are generated."""

    def __init__(self, *models):
        self._next = {model: next_id(model) for model in models}

    def take(self, model) -> int:
        value = self._next[model]
        self._next[model] = value + 1
        return value


def _roles(count: int) -> list[str]:
    reviewers, editors = max(1, count // 10), max(1, count // 5)
    return (["admin"] + ["reviewer"] * reviewers + ["editor"] * editors + ["viewer"] * count)[:count]


def build_people(org: Organisation, count: int, *, prefix: str, ids: Ids, now) -> list[Person]:
    """`count` people of `org` (the first a BCP Admin with staff status), in groups by role."""
    User = get_user_model()
    password = make_password(PASSWORD)  # one hash for everyone: hashing 10,000 times would take minutes
    groups = {role: Group.objects.get(name=f"BCP {role.capitalize()}").pk
              for role in ("admin", "reviewer", "editor", "viewer")}
    people = [
        Person(ids.take(User), f"{prefix}-{n:05d}", FIRST_NAMES[n % len(FIRST_NAMES)],
               f"{LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}-{n}", role)
        for n, role in enumerate(_roles(count))
    ]
    joined = now - timedelta(days=1000)
    insert_rows(User, ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
                       "email", "is_staff", "is_active", "date_joined"],
                ((p.id, password, None, False, p.username, p.first_name, p.last_name, f"{p.username}@example.org",
                  p.role in ("admin", "reviewer"), True, joined) for p in people))
    insert_rows(Membership, ["user", "organisation", "created_at"], ((p.id, org.pk, joined) for p in people))
    insert_rows(User.groups.through, ["user", "group"], ((p.id, groups[p.role]) for p in people))
    return people


def _plan_text(content: dict, sections: list[dict], *, purpose: str, owner_id: int) -> dict:
    """A working copy: the template's defaults, a purpose, and the owner in every person field."""
    filled = {key: dict(values) for key, values in content.items()}
    for section in sections:
        for field in section["fields"]:
            if field["key"] == "purpose" or (field.get("required") and field["type"] in ("text", "textarea")):
                filled[section["key"]][field["key"]] = purpose
            elif field["type"] == "user":
                filled[section["key"]][field["key"]] = owner_id
    return filled


class PlanWriter:
    """Generates the rows of ordinary plans and writes them table by table."""

    def __init__(self, *, template: Template, ids: Ids, now, rng: random.Random):
        self.template, self.ids, self.now, self.rng = template, ids, now, rng
        self.sections = template_sections(template)
        self.defaults = default_content(template, section_rows=[])
        self.rows: dict = {m: [] for m in (Plan, PlanVersion, Contact, Process, Risk, Review, Audit)}

    def plan(self, org: Organisation, n: int, count: int, *, owner: Person, reviewer: Person) -> dict:
        """Plan number `n` of `count` in `org`: its rows, queued. The kind (n % 4) decides versions and
        approval: 0 approved (v1); 1 approved v1 and draft v2; 2 draft v1; 3 draft v2 never approved."""
        ids, rng, kind = self.ids, self.rng, n % 4
        plan_id = ids.take(Plan)
        age = timedelta(days=1095) * (count - n) / count  # oldest first, spread over three years
        created = self.now - age - timedelta(minutes=rng.randint(0, 600))
        updated = min(created + timedelta(days=rng.uniform(0, 60)), self.now - timedelta(minutes=1))
        title = f"{SITES[n % len(SITES)]} {FUNCTIONS[(n // len(SITES)) % len(FUNCTIONS)]} plan {n + 1}"
        contacts = [Contact(pk=ids.take(Contact), plan_id=plan_id, name=f"Duty manager {n}", role="Duty manager",
                            phone="+44 20 7946 0000", email=f"duty{n}@example.org")]
        processes = [
            Process(pk=ids.take(Process), plan_id=plan_id, name=f"Process {n}-{k}", description="Critical process.",
                    rto_minutes=60 * (1 + k), rpo_minutes=30, mtpd_minutes=60 * (24 + k),
                    impact_rating=Process.Impact.values[(n + k) % 4], dependencies_json=["Network"])
            for k in range(1 + n % 2)
        ]
        user = owner.user()
        levels = [(LIKELIHOODS[(n + k) % 5], IMPACTS[(n + 2 * k) % 5]) for k in range(1 + (n // 2) % 2)]
        risks = [
            Risk(pk=ids.take(Risk), plan_id=plan_id, threat=f"Threat {n}-{k}", likelihood=likelihood, impact=impact,
                 rating=risk_rating(likelihood, impact), mitigation="Documented mitigation.", owner_user=user)
            for k, (likelihood, impact) in enumerate(levels)
        ]
        draft = _plan_text(self.defaults, self.sections, purpose=f"Keep {title.lower()} running.", owner_id=owner.id)
        snapshot = {"contacts": [contact_snapshot(c) for c in contacts],
                    "processes": [process_snapshot(p) for p in processes],
                    "risks": [risk_snapshot(r) for r in risks]}
        numbers = [1, 2] if kind in (1, 3) else [1]
        versions = []
        for number in numbers:
            last = number == numbers[-1]
            content = {**(draft if last else _plan_text(self.defaults, self.sections, purpose="First draft.",
                                                        owner_id=owner.id)), **snapshot}
            authored = created if number == 1 else updated
            approved = kind in (0, 1) and number == 1
            approved_at = authored + (updated - authored) / 2 if approved else None
            versions.append([ids.take(PlanVersion), plan_id, number, "active" if last else "superseded",
                             self.template.pk, owner.id, authored, f"Revision {number}", content,
                             approved_at, 1 if approved else None])
        approved_version = versions[0] if kind in (0, 1) else None
        status = Plan.Status.APPROVED if kind == 0 else Plan.Status.DRAFT
        self.rows[Plan].append((plan_id, org.pk, title, status, self.template.pk, versions[-1][0],
                                approved_version[0] if approved_version else None, owner.id,
                                approved_version[9] if approved_version else None, draft, len(numbers), created,
                                updated))
        self.rows[PlanVersion].extend(tuple(v) for v in versions)
        self.rows[Contact].extend((c.pk, c.plan_id, c.name, c.role, c.phone, c.email, "") for c in contacts)
        self.rows[Process].extend((p.pk, p.plan_id, p.name, p.description, p.rto_minutes, p.rpo_minutes,
                                   p.mtpd_minutes, p.impact_rating, p.dependencies_json) for p in processes)
        self.rows[Risk].extend((r.pk, r.plan_id, r.threat, r.likelihood, r.impact, r.rating, r.mitigation,
                                owner.id) for r in risks)
        self.rows[Audit].append((org.pk, plan_id, "plan_created", owner.id, {"title": title}, created))
        for v in versions:
            self.rows[Audit].append((org.pk, plan_id, "version_created", owner.id, {"version": v[2]}, v[6]))
        if approved_version:
            at = approved_version[9]
            self.rows[Review].append((plan_id, approved_version[0], 1, owner.id, reviewer.id, "approved",
                                      at - timedelta(hours=2), at, ""))
            self.rows[Audit].append((org.pk, plan_id, "plan_approved", reviewer.id, {"version": 1}, at))
        return {"id": plan_id, "approved_version": approved_version[2] if approved_version else None}

    def flush(self) -> None:
        """Write the queued rows (plans first: nothing is checked before the end of the load)."""
        columns = {
            Plan: ["id", "org", "title", "status", "template", "current_version", "approved_version", "owner_user",
                   "approved_at_utc", "draft_content_json", "edit_revision", "created_at", "updated_at"],
            PlanVersion: ["id", "plan", "version_number", "status", "template", "authored_by_user",
                          "authored_at_utc", "summary_change_note", "content_json", "approved_at_utc",
                          "approval_round"],
            Contact: ["id", "plan", "name", "role", "phone", "email", "notes"],
            Process: ["id", "plan", "name", "description", "rto_minutes", "rpo_minutes", "mtpd_minutes",
                      "impact_rating", "dependencies_json"],
            Risk: ["id", "plan", "threat", "likelihood", "impact", "rating", "mitigation", "owner_user"],
            Review: ["plan", "version", "round_number", "requested_by_user", "reviewer_user", "status",
                     "requested_at_utc", "decided_at_utc", "notes"],
            Audit: ["org", "plan", "action", "actor_user", "details_json", "at_utc"],
        }
        for model, fields in columns.items():
            insert_rows(model, fields, self.rows[model])
            self.rows[model] = []


def _plans(writer: PlanWriter, org, people: list[Person], count: int, *, say) -> list[dict]:
    owners = [p for p in people if p.role in ("admin", "editor")]
    reviewers = [p for p in people if p.role == "reviewer"]
    made = []
    for n in range(count):
        made.append(writer.plan(org, n, count, owner=owners[n % len(owners)], reviewer=reviewers[n % len(reviewers)]))
        if (n + 1) % 10_000 == 0:
            writer.flush()
            say(f"  {org.name}: {n + 1:,} of {count:,} plans")
    writer.flush()
    return made


def _acks(plan: dict, people: list[Person], now) -> None:
    """Half the organisation acknowledged the plan's approved version."""
    insert_rows(Ack, ["plan", "user", "ack_at_utc", "ack_version_number"],
                ((plan["id"], p.id, now - timedelta(days=1), plan["approved_version"]) for p in people[::2]))


def build_bench_data(scale: Scale, *, say=lambda line: None) -> dict:
    """Build the benchmark data in the default database; returns the ids the measurements use.

    Needs a migrated database (the default template and the BCP groups come from migrations).
    """
    now = timezone.now().replace(microsecond=0)
    template = Template.objects.get(is_default=True)
    ids = Ids(get_user_model(), Plan, PlanVersion, Contact, Process, Risk)
    rng = random.Random(13)
    with loading():
        orgs = {key: Organisation.objects.create(name=name) for key, name in ORG_NAMES.items()}
        people = {
            "small": build_people(orgs["small"], scale.small_people, prefix="small", ids=ids, now=now),
            "big": build_people(orgs["big"], scale.big_people, prefix="big", ids=ids, now=now),
        }
        say(f"  people: {scale.small_people} + {scale.big_people}; the crowd of {scale.crowd_people:,} next")
        people["crowd"] = build_people(orgs["crowd"], scale.crowd_people, prefix="crowd", ids=ids, now=now)
        writer = PlanWriter(template=template, ids=ids, now=now, rng=rng)
        plans = {
            "small": _plans(writer, orgs["small"], people["small"], scale.small_plans, say=say),
            "crowd": _plans(writer, orgs["crowd"], people["crowd"], scale.crowd_plans, say=say),
            "big": _plans(writer, orgs["big"], people["big"], scale.big_plans, say=say),
        }
        large = build_large_plan(
            org=orgs["big"], owner=people["big"][0], people=people["big"], template=template, ids=ids, now=now,
            contacts=scale.large_contacts, processes=scale.large_processes, risks=scale.large_risks,
            versions=scale.large_versions,
        )
        for key in ("small", "crowd"):
            _acks(plans[key][0], people[key], now)
    say("  search index (plans.search), coverage counts (reviews.coverage_counts)")
    search_reindex()
    coverage_recount()  # bulk inserts send no signals
    return {
        "scale": scale.name,
        "orgs": {key: org.pk for key, org in orgs.items()},
        "admins": {key: group[0].id for key, group in people.items()},
        "ack_user": people["small"][-1].id,
        "plans": {"small": plans["small"][0]["id"], "crowd": plans["crowd"][0]["id"], "large": large["id"]},
        "small_approved_version": plans["small"][0]["approved_version"],
        "large_versions": scale.large_versions,
    }


def data_counts() -> dict[str, int]:
    """How many rows the pages read from (for the report's first line)."""
    return {
        "plans": Plan.objects.count(), "versions": PlanVersion.objects.count(),
        "processes": Process.objects.count(), "risks": Risk.objects.count(), "contacts": Contact.objects.count(),
        "users": get_user_model().objects.count(), "audit rows": Audit.objects.count(),
    }
