"""Is a plan ready for review? The checklist of a version (its snapshot) or of the working copy.

Every plan, whatever its template, needs before it is submitted or approved (blockers):
the template's required fields filled, at least one contact, at least one critical process
(a process with an RTO and an MTPD) and at least one risk. A template may declare more
(`schema_json["readiness"]`, docs/template-schema.md): minimum numbers of contacts,
critical processes and risks, fields required for approval, and which of those checks
only warn. Warnings are shown and never block; the vendors the processes depend on add warnings of
their own (`plans.vendors`: a vendor recovering after a process's RTO, stale continuity evidence).

A version is judged by its `content_json` snapshot alone, never by live rows (decision 8):
`version_readiness()`, and `version_readiness_refusal()` for the workflow services. The plan
page's checklist judges the working copy: `plan_readiness()`. Each item names where it is
fixed (a section's edit page, the add or edit page of a contact, process or risk).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from bcp_site.errors import ServiceError
from templates_app.schema import is_empty, template_readiness, template_sections, value_problem

from .models import Contact, Plan, PlanVersion, Process, Risk
from .vendors import content_vendor_flags, snapshot_vendor_ids, vendor_evidence


@dataclass(frozen=True)
class ReadinessItem:
    """One thing to fix: what, in plain words, and where (`url_name` + `url_kwargs`, or `url`)."""

    check: str  # "required_fields", "contacts", "critical_processes", "risks", "min_contacts", ... or "section.field"
    message: str
    action: str  # the link's words, e.g. "Add a contact"
    url_name: str
    url_kwargs: dict[str, Any]
    anchor: str = ""

    @property
    def url(self) -> str:
        return reverse(self.url_name, kwargs=self.url_kwargs) + (f"#{self.anchor}" if self.anchor else "")


@dataclass
class Readiness:
    """Blockers refuse submission and approval; warnings are shown only; `passed` says what holds."""

    blockers: list[ReadinessItem] = field(default_factory=list)
    warnings: list[ReadinessItem] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class RowFacts:
    """What readiness needs to know about a plan's contacts, processes and risks."""

    contacts: int
    processes: int
    critical_processes: int
    risks: int
    incomplete_process_id: int | None = None  # a process without an RTO or an MTPD, to link to
    incomplete_process_name: str = ""


def is_critical(process: dict[str, Any]) -> bool:
    """A critical process has both a recovery time objective and a maximum tolerable period of disruption."""
    return process.get("rto_minutes") is not None and process.get("mtpd_minutes") is not None


def snapshot_facts(content: dict[str, Any]) -> RowFacts:
    """The row facts of a version's content_json (or of the working copy shaped like it)."""
    def rows(key: str) -> list[dict[str, Any]]:
        value = (content or {}).get(key)
        return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []

    processes = rows("processes")
    incomplete = next((p for p in processes if not is_critical(p)), None)
    return RowFacts(
        contacts=len(rows("contacts")),
        processes=len(processes),
        critical_processes=sum(1 for p in processes if is_critical(p)),
        risks=len(rows("risks")),
        incomplete_process_id=incomplete.get("id") if incomplete else None,
        incomplete_process_name=str(incomplete.get("name") or "") if incomplete else "",
    )


def _count(model, **filters) -> Coalesce:
    rows = model.objects.filter(plan=OuterRef("pk"), **filters).order_by().values("plan")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0))


def live_facts(plan: Plan) -> RowFacts:
    """The row facts of the plan's live contacts, processes and risks: one query."""
    incomplete = (Process.objects.filter(plan=OuterRef("pk"))
                  .filter(Q(rto_minutes__isnull=True) | Q(mtpd_minutes__isnull=True)).order_by("name", "id"))
    values = Plan.objects.filter(pk=plan.pk).annotate(
        n_contacts=_count(Contact),
        n_processes=_count(Process),
        n_critical=_count(Process, rto_minutes__isnull=False, mtpd_minutes__isnull=False),
        n_risks=_count(Risk),
        incomplete_id=Subquery(incomplete.values("pk")[:1]),
        incomplete_name=Subquery(incomplete.values("name")[:1]),
    ).values("n_contacts", "n_processes", "n_critical", "n_risks", "incomplete_id", "incomplete_name").first()
    if values is None:
        return RowFacts(0, 0, 0, 0)
    return RowFacts(
        contacts=values["n_contacts"], processes=values["n_processes"], critical_processes=values["n_critical"],
        risks=values["n_risks"], incomplete_process_id=values["incomplete_id"],
        incomplete_process_name=values["incomplete_name"] or "",
    )


def readiness_of(*, plan_pk: int, template, content: dict[str, Any], facts: RowFacts | None = None,
                 sections: list[dict[str, Any]] | None = None, evidence: dict | None = None,
                 today: dt.date | None = None) -> Readiness:
    """The checklist of `content` (section values, and the row snapshot unless `facts` is given) laid
    out by `template`. Runs one query for the template's section rows unless `sections` is given.

    Vendor warnings: a vendor recovering later than a process's RTO (from the snapshot), and stale
    continuity evidence from `evidence` (vendor id -> day of the last evidence; None: not checked).
    """
    if sections is None:
        sections = template_sections(template)
    if facts is None:
        facts = snapshot_facts(content)
    declared = template_readiness(template)
    warn_only = declared["warn_only"]
    result = Readiness()

    def add(item: ReadinessItem, *, blocks: bool = True) -> None:
        (result.blockers if blocks else result.warnings).append(item)

    def section_item(check: str, section: dict, message: str) -> ReadinessItem:
        return ReadinessItem(check, message, f"Edit {section['title']}", "plans:section_edit",
                             {"pk": plan_pk, "section_key": section["key"]})

    # The template's required fields, filled and valid.
    fields: dict[str, tuple[dict, dict]] = {}
    missing_before = len(result.blockers)
    for section in sections:
        values = (content or {}).get(section["key"])
        values = values if isinstance(values, dict) else {}
        for field_def in section["fields"]:
            fields[f"{section['key']}.{field_def['key']}"] = (section, field_def)
            value = values.get(field_def["key"])
            where = f"“{field_def['label']}” in {section['title']}"
            if is_empty(value):
                if field_def.get("required"):
                    add(section_item("required_fields", section, f"{where} is required and empty"))
                continue
            problem = value_problem(field_def, value)
            if problem:
                add(section_item("required_fields", section, f"{where}: {problem}"))
    if len(result.blockers) == missing_before:
        result.passed.append("The template's required fields are filled")

    # Contacts, critical processes and risks: one at least for every plan, more if the template says so.
    links = {
        "contacts": ("Add a contact", "plans:contact_add", {"pk": plan_pk}),
        "risks": ("Add a risk", "plans:risk_add", {"pk": plan_pk}),
        "critical_processes": ("Add a process", "plans:process_add", {"pk": plan_pk}),
    }
    if facts.incomplete_process_id:
        links["critical_processes_set"] = ("Set its RTO and MTPD", "plans:process_edit",
                                           {"pk": plan_pk, "row_id": facts.incomplete_process_id})
    minimums = [
        ("contacts", "min_contacts", facts.contacts, "contact", "contacts"),
        ("critical_processes", "min_critical_processes", facts.critical_processes,
         "critical process", "critical processes"),
        ("risks", "min_risks", facts.risks, "risk", "risks"),
    ]
    for check, template_check, count, one, many in minimums:
        wanted = declared[template_check] or 1
        action, url_name, kwargs = links[check]
        if check == "critical_processes" and count == 0 and facts.incomplete_process_id:
            action, url_name, kwargs = links["critical_processes_set"]
        if count == 0:
            add(ReadinessItem(check, _none_message(check, facts, wanted), action, url_name, kwargs))
        elif count < wanted:
            add(ReadinessItem(template_check, f"The template asks for at least {wanted} {many}; the plan has {count}",
                              action, url_name, kwargs), blocks=template_check not in warn_only)
        else:
            result.passed.append(f"{count} {one if count == 1 else many}")

    # Fields the template requires before approval.
    for name in declared["required_for_approval"]:
        if name not in fields:
            continue  # a field no longer in the template (the schema check refuses naming an unknown one)
        section, field_def = fields[name]
        value = ((content or {}).get(section["key"]) or {})
        value = value.get(field_def["key"]) if isinstance(value, dict) else None
        where = f"“{field_def['label']}” in {section['title']}"
        if is_empty(value):
            blocks = name not in warn_only
            message = f"{where} is empty" + (": it must be filled before approval" if blocks else
                                              ": the template recommends filling it before approval")
            add(section_item(name, section, message), blocks=blocks)
        else:
            result.passed.append(f"{where} is filled")
    _vendor_warnings(result, plan_pk=plan_pk, content=content, evidence=evidence, today=today)
    return result


def _vendor_warnings(result: Readiness, *, plan_pk: int, content: dict[str, Any], evidence: dict | None,
                     today: dt.date | None) -> None:
    """Warnings (never blockers) about the vendors the content's processes depend on (no query)."""
    flags = content_vendor_flags(content, evidence=evidence, today=today or timezone.localdate())
    for flag in flags:
        if flag.kind == "recovery_gap" and flag.process_id is not None:
            result.warnings.append(ReadinessItem(
                "vendor_recovery", flag.message, "Edit the process", "plans:process_edit",
                {"pk": plan_pk, "row_id": flag.process_id}))
        elif flag.kind == "stale_evidence":
            result.warnings.append(ReadinessItem(
                "vendor_evidence", flag.message, f"Open {flag.vendor_name}", "vendors:vendor_detail",
                {"vendor_id": flag.vendor_id}))
    if snapshot_vendor_ids(content) and not any(f.kind == "recovery_gap" for f in flags):
        result.passed.append("Every vendor commits to recover within the RTO of the processes that depend on it")


def _none_message(check: str, facts: RowFacts, wanted: int) -> str:
    more = f" (the template asks for at least {wanted})" if wanted > 1 else ""
    if check == "contacts":
        return "There is no contact: add the people to call in an incident" + more
    if check == "risks":
        return "The risk register is empty: add the risks this plan answers" + more
    if facts.processes:
        name = f"“{facts.incomplete_process_name}”" if facts.incomplete_process_name else "a process"
        return (f"No process is critical yet: a critical process has a recovery time objective (RTO) and a "
                f"maximum tolerable period of disruption (MTPD); set them on {name}, or add one" + more)
    return ("There is no critical process: add one with its recovery time objective (RTO) and maximum "
            "tolerable period of disruption (MTPD)" + more)


def version_readiness(version: PlanVersion, *, sections: list[dict[str, Any]] | None = None) -> Readiness:
    """The checklist of a written version, from its snapshot and its own template (decision 8).

    Queries: the version's template unless loaded, its section rows unless `sections` is given, and
    the evidence days of the vendors the snapshot names, if it names any (evidence ages with time: it
    is about today, not about the version).
    """
    content = version.content_json or {}
    evidence = vendor_evidence(_plan_org_id(version), snapshot_vendor_ids(content))
    return readiness_of(plan_pk=version.plan_id, template=version.template, content=content,
                        sections=sections, evidence=evidence)


def _plan_org_id(version: PlanVersion):
    """The organisation of the version's plan (no query when the plan is loaded; one otherwise)."""
    cached = version._state.fields_cache.get("plan")
    if cached is not None:
        return cached.org_id
    return Plan.objects.filter(pk=version.plan_id).values_list("org_id", flat=True).first()


def plan_readiness(plan: Plan, *, content: dict[str, Any] | None = None,
                   sections: list[dict[str, Any]] | None = None, evidence: dict | None = None,
                   today: dt.date | None = None) -> Readiness:
    """The checklist of the plan's working copy, for the plan page.

    `content` is the working copy with the live rows as `content_json` holds them (the plan
    page has it); without it the rows are counted in one query. `sections` are the template's
    sections (one query for its section rows otherwise). The template must be loaded or costs
    one more query. `evidence`: the evidence days of the vendors the processes depend on
    (`plans.vendors.vendor_evidence`; None: not checked).
    """
    if content is None:
        return readiness_of(plan_pk=plan.pk, template=plan.template, content=plan.draft_content_json or {},
                            facts=live_facts(plan), sections=sections)
    return readiness_of(plan_pk=plan.pk, template=plan.template, content=content, sections=sections,
                        evidence=evidence, today=today)


class NotReadyError(ServiceError):
    """A version was refused for review or approval: its blockers are the problems, listed in the message.

    `summary` is the sentence to show above the listed problems; `readiness` holds the items
    with their links.
    """

    def __init__(self, readiness: Readiness, *, summary: str):
        problems = [item.message for item in readiness.blockers]
        super().__init__(f"{summary} {'; '.join(problems)}.", code="not_ready", problems=problems)
        self.summary = summary
        self.readiness = readiness


ACTIONS = {
    "review": "cannot be submitted for review",
    "reconfirmation": "cannot be re-confirmed",
    "approval": "cannot be approved",
}


def version_readiness_refusal(version: PlanVersion, *, action: str) -> NotReadyError | None:
    """Why `version` cannot go through `action` ("review", "reconfirmation", "approval"), or None.

    The workflow services raise what this returns. Queries: see `version_readiness`.
    """
    readiness = version_readiness(version)
    if readiness.ready:
        return None
    return NotReadyError(
        readiness, summary=f"Version {version.version_number} {ACTIONS[action]} until these are fixed:",
    )
