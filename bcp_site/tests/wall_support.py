"""The organisation-wall matrix (bcp_site/tests/test_org_walls.py): data, URL enumeration, sweeps.

Two organisations are built through the real services: "Alpha" (the person's own) and
"Zulu" (the other one). Every name of Zulu's rows contains "zulu", so any page that shows
one of them to an Alpha user is caught by looking for that word.

Every URL pattern (site and admin, found through the resolver) and every registered admin
(its views, simple-history's revert view, its actions, the autocomplete endpoint for every
relation) becomes a list of requests filled with one organisation's rows. A URL parameter
that `_param_values` cannot fill is a failure naming the pattern: a page added tomorrow is
either covered or makes the matrix fail until it is.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import ForeignKey, ManyToManyField, OneToOneField, OneToOneRel
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.generic import RedirectView

from bcp_site.testing import make_org, make_plan, make_template, make_user
from plans.models import Contact, Notification, Organisation, Plan, Process, Risk
from plans.risk import risk_rating

MARKER = "zulu"  # every name of the other organisation's rows contains it
# Case-insensitive, but only as a word on its own or a name's start ("Zulu plan", "zulu_admin",
# "zulu@..."): random tokens on the page (CSRF, signed links) contain "ZuLu" by chance.
MARKER_RE = re.compile(r"(?<![A-Za-z0-9])" + MARKER, re.IGNORECASE)
HACKED = "HACKED"

# Models that belong to no organisation: the product's roles (groups, permissions) and
# Django's own bookkeeping. They have no "other organisation's row" to try. Every other
# model an admin is registered for must lead to an organisation (see `org_path`); rows whose
# organisation is empty (global templates) are nobody's and are not tried.
SHARED_MODELS = {
    "auth.Group", "auth.Permission", "contenttypes.ContentType", "sessions.Session", "admin.LogEntry",
    # Failed sign-ins (django-axes) name people of every organisation: superusers only, so nobody
    # else may see any row (build_world records one naming a Zulu person).
    "axes.AccessAttempt",
    # The background-task queue holds every organisation's work: superusers only (bcp_site.tasks_admin).
    "django_tasks_database.DBTaskResult",
}

# Tables not compared before and after a sweep: logging in and messages write sessions, and every
# rate-limited request counts a hit (bc_rate_counter holds hashed addresses, no organisation's data).
IGNORED_TABLES = {"django_session", "bc_rate_counter"}
# Reads the product records in the audit trail (a break-glass pack carries personal phone numbers; a report or
# an evidence pack names people and holds the audit trail): inside the person's own organisation such a row
# is the read itself, not a change (never across organisations).
LOGGED_READS = {"breakglass_downloaded", "report_downloaded"}

# Fields whose value a plausible POST replaces with "HACKED" (a visible change if it is saved).
LABEL_FIELDS = {
    "title", "name", "threat", "summary", "notes", "note", "mitigation", "role", "description",
    "file_name", "summary_change_note", "first_name", "last_name",
}

# URL names never requested: they end the session the sweep runs in and touch no data.
SKIPPED_URLS = {
    "logout": "ends the session; touches no organisation data",
    "admin:logout": "ends the session; touches no organisation data",
}


# --- the two organisations -----------------------------------------------------------------


@dataclass
class Side:
    """One organisation and its rows (Alpha: the user's own; Zulu: the other one)."""

    label: str
    prefix: str
    org: Organisation
    template: Any
    owner: Any
    viewer: Any
    editor: Any
    reviewer: Any
    reviewer2: Any
    admin: Any
    plan: Plan  # approved version 2, then a saved draft version 3
    review_plan: Plan  # in review: reviewer2's review is pending
    decided_review: Any
    pending_review: Any
    contact: Any
    process: Any
    risk: Any
    attachment: Any
    change_record: Any
    approved_number: int
    section_key: str
    section: Any = None  # a section definition of an unused template of the organisation
    source: Any = None  # the user whose pages provide plausible POST data for this organisation
    auditor: Any = None  # a BCP Auditor with staff status: reads everything of the organisation, changes nothing
    exercise: Any = None  # a held exercise of the approved version, with results
    finding: Any = None  # an open finding raised from it
    incident: Any = None  # a closed incident that activated the plan: timeline, recovery, review, finding, report
    vendor: Any = None  # a vendor of the register the process depends on
    resource: Any = None  # a resource of the plan, with quantities
    collaborator: Any = None  # the editor, section owner of the plan
    kpi_report: Any = None  # a built KPI report request (reviews.ReportRequest)
    evidence_pack: Any = None  # a built evidence pack request of the approved version
    forms: dict = field(default_factory=dict)  # url -> parsed POST data (filled before any sweep)

    def objects_of(self, model):
        """This organisation's rows of `model` (a queryset), through `org_path`."""
        path = org_path(model)
        manager = model._default_manager
        if path is None:
            raise Unfillable(f"{model._meta.label} has no path to an organisation")
        if path == "pk":
            return manager.filter(pk=self.org.pk)
        return manager.filter(**{path: self.org.pk}).distinct()

    def pick(self, model):
        """The row of `model` the matrix tries (the most sensitive one where it matters)."""
        if is_shared(model):
            shared = {"auth.Group": lambda: Group.objects.get(name="BCP Viewer")}.get(model._meta.label)
            obj = shared() if shared else model._default_manager.order_by("pk").first()
            if obj is None:
                raise Unfillable(f"there is no {model._meta.label} row to try: extend build_world()")
            return obj
        preferred = {
            "plans.Organisation": lambda: self.org,
            "plans.Plan": lambda: self.plan,
            "plans.Exercise": lambda: self.exercise,
            "plans.Finding": lambda: self.finding,
            "plans.Incident": lambda: self.incident,
            "plans.Vendor": lambda: self.vendor,
            "plans.Resource": lambda: self.resource,
            "plans.PlanCollaborator": lambda: self.collaborator,
            "plans.Membership": lambda: self.admin.membership,
            get_user_model()._meta.label: lambda: self.admin,
            "reviews.Review": lambda: self.pending_review,
        }.get(model._meta.label)
        if preferred is not None:
            return preferred()
        obj = self.objects_of(model).order_by("pk").first()
        if obj is None:
            raise Unfillable(f"organisation {self.label} has no {model._meta.label} row to try: extend build_side()")
        return obj


@dataclass
class World:
    alpha: Side
    zulu: Side
    orgless_staff: Any
    superuser: Any
    clients: dict = field(default_factory=dict)  # user pk -> signed-in Client (see _source_client)

    def roles(self) -> dict[str, Any]:
        return {
            "viewer": self.alpha.viewer,
            "editor": self.alpha.editor,
            "reviewer": self.alpha.reviewer,
            "bcp_admin": self.alpha.admin,
            "auditor": self.alpha.auditor,
            "orgless_staff": self.orgless_staff,
            "superuser": self.superuser,
            "anonymous": None,
        }


def _change_file(label: str, plan: Plan) -> tuple[str, bytes]:
    occurred = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    summary = f"{label} network change"
    stamp = occurred.isoformat(timespec="minutes")
    digest = hashlib.sha256(f"{stamp}|change|{summary}".encode()).hexdigest()
    guid = str(uuid.uuid4())
    data = {
        "guid": guid, "occurred_at": "2026-01-05T09:30Z", "change_type": "Change", "summary": summary,
        "content_hash": digest, "plans": [plan.pk], "affects": [f"{label} payroll process"],
    }
    return f"{guid}.json", json.dumps(data).encode()


def build_side(label: str, prefix: str) -> Side:
    """An organisation with people in every role and a plan in every state, built with the services."""
    from plans.attachments import attachment_upload
    from plans.changes import changes_import
    from plans.exports import version_export_store
    from plans.models import ChangeRecord
    from plans.services import plan_prepare_edit, version_create
    from reviews.ack_records import ack_record
    from reviews.distribution import distribution_set
    from reviews.kpi_snapshots import kpi_snapshot_take
    from reviews.services import plan_submit_for_review, review_approve
    from templates_app.models import SectionDefinition
    from templates_app.schema import template_sections

    org = make_org(f"{label} Holdings")
    template = make_template(name=f"{label} template", org=org)
    owner = make_user(org, username=f"{prefix}_owner", groups=["BCP Editor"])
    viewer = make_user(org, username=f"{prefix}_viewer", groups=["BCP Viewer"])
    editor = make_user(org, username=f"{prefix}_editor", groups=["BCP Editor"])
    reviewer = make_user(org, username=f"{prefix}_reviewer", groups=["BCP Reviewer"], is_staff=True)
    reviewer2 = make_user(org, username=f"{prefix}_reviewer2", groups=["BCP Reviewer"], is_staff=True)
    admin_user = make_user(org, username=f"{prefix}_admin", groups=["BCP Admin"], is_staff=True)
    auditor = make_user(org, username=f"{prefix}_auditor", groups=["BCP Auditor"], is_staff=True)

    plan = make_plan(org, owner, template=template, title=f"{label} continuity plan")
    contact = Contact.objects.create(
        plan=plan, name=f"{label} incident contact", role="Incident lead", phone="+44 20 7946 0000",
        email=f"{prefix}.contact@example.org",
    )
    process = Process.objects.create(
        plan=plan, name=f"{label} payroll process", rto_minutes=60, rpo_minutes=30, mtpd_minutes=240,
        impact_rating=Process.Impact.HIGH,
    )
    risk = Risk.objects.create(
        plan=plan, threat=f"{label} flood threat", likelihood=Risk.Likelihood.POSSIBLE, impact=Risk.Impact.MAJOR,
        rating=risk_rating(Risk.Likelihood.POSSIBLE, Risk.Impact.MAJOR), mitigation="Move servers upstairs",
        owner_user=owner,
    )
    vendor, resource, collaborator = _vendor_resource_collaborator(label, plan, process, owner, editor, admin_user)
    version_create(plan=plan, actor=owner, note=f"{label} second version")
    [decided] = plan_submit_for_review(plan=plan, actor=owner, reviewers=[reviewer])
    review_approve(review=decided, actor=reviewer)
    plan.refresh_from_db()
    approved = plan.approved_version
    for kind in ("pdf", "docx"):  # stored now, so a download never renders (slow) nor writes
        version_export_store(version=approved, kind=kind, actor=owner, data=f"{kind} of {label}".encode())
    for person in (viewer, reviewer):  # acknowledged already: a second acknowledgement changes nothing
        ack_record(plan=plan, user=person, version_number=approved.version_number, via="page")
    distribution_set(plan=plan, actor=admin_user, users=[viewer, reviewer], groups=[])
    now = timezone.now()
    Notification.objects.create(
        recipient_user=viewer, to_address=viewer.email, kind=Notification.Kind.ACK_LINK, org=org, plan=plan,
        version_number=approved.version_number, status=Notification.Status.FAILED, attempts=1,
        last_error="mailbox unavailable — 550 no such user", next_attempt_at_utc=now, created_at_utc=now,
    )
    attachment = attachment_upload(
        plan=plan, actor=owner,
        uploaded_file=SimpleUploadedFile(f"{prefix}-call-tree.txt", b"Call the incident line first.\n",
                                         content_type="text/plain"),
    )
    report = changes_import(files=[_change_file(label, plan)], actor=admin_user)
    assert report.ok, report.summary()
    change_record = ChangeRecord.objects.get(summary=f"{label} network change")
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        plan_prepare_edit(plan=locked, actor=owner)
    version_create(plan=plan, actor=owner, note=f"{label} third version")
    plan.refresh_from_db()
    exercise, finding = _exercise_with_finding(label, plan, owner, viewer)
    incident = _closed_incident(label, plan, owner, viewer, admin_user)

    kpi_snapshot_take(day=timezone.localdate(), org_ids=[org.pk])  # the organisation's KPI rows of today
    kpi_report, evidence_pack = _built_requests(label, plan, admin_user)

    review_plan = make_plan(org, owner, template=template, title=f"{label} review plan")
    [pending] = plan_submit_for_review(plan=review_plan, actor=owner, reviewers=[reviewer2])
    review_plan.refresh_from_db()

    # A template no plan uses, with a section row edited once (so there is history to revert to).
    spare = make_template(name=f"{label} spare template", org=org)
    section = SectionDefinition.objects.create(
        template=spare, key="annex", title="Annex", order_index=5,
        schema_json={"help": "", "fields": [{"key": "extra", "label": "Extra", "type": "text", "required": False}]},
    )
    section.title = f"{label} annex"
    section.save()

    return Side(
        label=label, prefix=prefix, org=org, template=template, owner=owner, viewer=viewer, editor=editor,
        reviewer=reviewer, reviewer2=reviewer2, admin=admin_user, plan=plan, review_plan=review_plan,
        decided_review=decided, pending_review=pending, contact=contact, process=process, risk=risk,
        attachment=attachment, change_record=change_record, approved_number=approved.version_number,
        section_key=template_sections(template)[0]["key"], source=admin_user, section=section, auditor=auditor,
        exercise=exercise, finding=finding, incident=incident, vendor=vendor, resource=resource,
        collaborator=collaborator, kpi_report=kpi_report, evidence_pack=evidence_pack,
    )


def _built_requests(label: str, plan: Plan, person):
    """A KPI report and an evidence pack of the organisation, built (stored bytes and issued files, no render)."""
    from plans.exports.issued import _store_new, sha256_bytes
    from plans.models import IssuedFile
    from reviews.models import ReportRequest

    now, today = timezone.now(), timezone.localdate()
    built = []
    for kind, file_kind, extra in (
        (ReportRequest.Kind.KPI_REPORT, IssuedFile.Kind.KPI_REPORT, {"period_from": today, "period_to": today}),
        (ReportRequest.Kind.EVIDENCE_PACK, IssuedFile.Kind.EVIDENCE_PACK,
         {"plan": plan, "version": plan.approved_version}),
    ):
        data = f"{label} {kind}".encode()
        path, _ = _store_new(f"wall/{label}-{kind}.bin", data)
        issued = IssuedFile.objects.create(
            kind=file_kind, org=plan.org, plan=extra.get("plan"), version=extra.get("version"),
            marking=IssuedFile.Marking.FINAL if kind == ReportRequest.Kind.KPI_REPORT else IssuedFile.Marking.APPROVED,
            sha256=sha256_bytes(data), storage_path=path, size_bytes=len(data), issued_at_utc=now)
        built.append(ReportRequest.objects.create(
            kind=kind, org=plan.org, as_of_utc=now, requested_by_user=person, requested_at_utc=now,
            issued_file=issued, **extra))
    return built


def _vendor_resource_collaborator(label: str, plan: Plan, process, owner, editor, admin_user):
    """A vendor the process depends on (recovering after its RTO, evidence stale), a resource of the plan
    with quantities, and the editor as a section owner: through the services."""
    from datetime import timedelta

    from plans.collaborators import collaborator_save
    from plans.resources import resource_save
    from plans.services import process_save
    from plans.vendors import vendor_save
    from templates_app.schema import template_sections

    vendor = vendor_save(org=plan.org, actor=admin_user, values={
        "name": f"{label} cloud vendor", "service": f"{label} hosting", "contacts": f"{label} vendor desk",
        "contract_reference": f"{label}-C1", "recovery_minutes": 120,
        "evidence_on": timezone.localdate() - timedelta(days=400), "criticality": "high",
    })
    process_save(plan=plan, actor=owner, expected_revision=None, values={"vendors": [vendor]}, process_id=process.pk)
    resource = resource_save(plan=plan, actor=owner, expected_revision=None, values={
        "kind": "it_system", "name": f"{label} payroll server", "process": process,
        "primary_source": f"{label} data centre", "alternate_source": f"{label} standby site", "notes": "",
        "quantities": [(0, 1), (240, 2)],
    })
    collaborator = collaborator_save(plan=plan, actor=owner, user=editor, role="section_owner",
                                     section_keys=[template_sections(plan.template)[0]["key"]])
    return vendor, resource, collaborator


def _exercise_with_finding(label: str, plan: Plan, owner, participant):
    """A held exercise of the plan with its results and participants, and an open finding raised from it."""
    from plans.exercises import exercise_hold, exercise_plan, exercise_results_record
    from plans.findings import finding_raise

    today = timezone.localdate()
    exercise = exercise_plan(plan=plan, actor=owner, values={
        "title": f"{label} ransomware tabletop", "exercise_type": "tabletop", "scenario": f"{label} files encrypted",
        "scheduled_on": today, "facilitator_user": owner, "external_participants": f"{label} supplier liaison",
    }, objectives=[f"{label} call tree works"], participants=[participant])
    exercise = exercise_hold(exercise=exercise, actor=owner, held_on=today)
    processes = exercise.version.content_json.get("processes") or []
    exercise = exercise_results_record(
        exercise=exercise, actor=owner, summary=f"{label} lessons",
        objectives={o.pk: ("partly_met", f"{label} notes") for o in exercise.objectives.all()},
        recoveries={p["id"]: (90, f"{label} restore") for p in processes},
    )
    finding = finding_raise(exercise=exercise, actor=owner, description=f"{label} call tree is stale",
                            severity="high", owner=owner, due_on=today)
    return exercise, finding


def _closed_incident(label: str, plan: Plan, owner, member, admin_user):
    """The approved version's break-glass packs (stored, not rendered), and an incident that activated the plan,
    with a timeline, a process disrupted and recovered, a review, a finding and its report: closed, so nobody's
    request may change it any more."""
    from datetime import timedelta

    from plans.exports.breakglass import FORMATS, breakglass_issue
    from plans.exports.incident_report import incident_report_store
    from plans.findings import incident_finding_raise
    from plans.incidents import (
        incident_close,
        incident_declare,
        incident_event_add,
        incident_process_disrupted,
        incident_process_recovered,
        incident_review_save,
        incident_stand_down,
    )

    for fmt in FORMATS:
        breakglass_issue(version=plan.approved_version, fmt=fmt, data=f"{label} break-glass {fmt}".encode())
    incident = incident_declare(organisation=plan.org, actor=owner, title=f"{label} server room fire",
                                severity="high", description=f"{label} smoke in the server room", plans=[plan])
    activation = incident.activations.get()
    ref = activation.version.content_json["processes"][0]["id"]
    start = timezone.now() - timedelta(hours=2)
    incident_process_disrupted(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member, at=start)
    incident_process_recovered(incident=incident, activation_id=activation.pk, process_ref=ref, actor=member,
                               at=start + timedelta(minutes=50), notes=f"{label} restored")
    incident_event_add(incident=incident, actor=member, kind="decision", text=f"{label} move to the recovery site")
    incident_stand_down(incident=incident, actor=owner)
    incident_review_save(incident=incident, actor=owner, summary=f"{label} review: the call tree worked")
    incident_finding_raise(incident=incident, plan=plan, actor=owner, description=f"{label} spare server needed",
                           severity="medium", owner=owner, due_on=timezone.localdate())
    incident = incident_close(incident=incident, actor=admin_user)
    incident_report_store(incident=incident)  # the close's task runs after a commit, which never comes here
    return incident


def build_world() -> World:
    alpha = build_side("Alpha", "alpha")
    zulu = build_side("Zulu", "zulu")
    orgless = make_user(None, username="nomad_staff", groups=["BCP Admin"], is_staff=True)
    root = make_user(alpha.org, username="alpha_root", is_staff=True, is_superuser=True)
    AccessAttempt.objects.create(
        username=zulu.owner.username, ip_address="192.0.2.1", user_agent="zulu browser", http_accept="*/*",
        path_info="/accounts/login/", get_data="", post_data="", failures_since_start=1,
    )
    _queued_task(zulu)
    world = World(alpha=alpha, zulu=zulu, orgless_staff=orgless, superuser=root)
    for person in (root, alpha.source, zulu.source):
        _source_client(world, person)
    return world


def _queued_task(side: Side) -> None:
    """A failed render task of Zulu's approved version in the database queue (superusers only see it)."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    DBTaskResult.objects.create(
        task_path="plans.exports.tasks.issue_version_file", backend_name="default", status="FAILED",
        args_kwargs={"args": [], "kwargs": {"version_id": side.plan.approved_version_id, "kind": "pdf"}},
        run_after=get_date_max(), exception_class_path="builtins.OSError",
        traceback=f"OSError: {side.plan.title} could not be written",
    )



class Unfillable(Exception):
    """The matrix cannot fill a URL parameter or find a row to try: the message names the pattern."""


_ORG_PATHS: dict[Any, str | None] = {}
# Where two equally short paths lead to an organisation and one of them may be empty: the one that never is.
ORG_PATH_CHOSEN = {
    "plans.Finding": "plan__org",  # its source (an exercise or an incident) is one of two optional columns
}


def is_shared(model) -> bool:
    return model._meta.label in SHARED_MODELS


def org_path(model) -> str | None:
    """The lookup from `model` to its Organisation (`"pk"` for Organisation itself), or None.

    The shortest path over foreign keys and one-to-one links (both directions; never
    many-to-many), preferring forward links: `plan__org`, `membership__organisation`
    for users, `plan_links__plan__org` for change records.
    """
    if model in _ORG_PATHS:
        return _ORG_PATHS[model]
    if model is Organisation:
        return "pk"
    if model._meta.label in ORG_PATH_CHOSEN:
        return ORG_PATH_CHOSEN[model._meta.label]
    best = None
    frontier = [(model, (), 0)]
    for _depth in range(3):
        following = []
        for current, path, reverse_hops in frontier:
            for f in current._meta.get_fields():
                if isinstance(f, ManyToManyField) or getattr(f, "many_to_many", False):
                    continue
                if isinstance(f, (ForeignKey, OneToOneField)):
                    name, target, cost = f.name, f.related_model, 0
                elif isinstance(f, OneToOneRel) or getattr(f, "one_to_many", False):
                    if f.related_model is None:
                        continue
                    name = f.name  # a reverse relation's lookup name (its related query name)
                    target, cost = f.related_model, (0 if isinstance(f, OneToOneRel) else 1)
                else:
                    continue
                if target is None or target is current:
                    continue
                step = (*path, name)
                if target is Organisation:
                    candidate = (len(step), reverse_hops + cost, "__".join(step))
                    best = min(best, candidate) if best else candidate
                following.append((target, step, reverse_hops + cost))
        if best:
            break
        frontier = following
    _ORG_PATHS[model] = best[2] if best else None
    return _ORG_PATHS[model]


# --- URL enumeration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str | None
    parts: tuple
    callback: Any
    default_args: tuple
    namespaces: tuple

    @property
    def route(self) -> str:
        return "".join(str(p) for p in self.parts)

    @property
    def label(self) -> str:
        return self.name or f"<unnamed {self.route}>"

    @property
    def is_admin(self) -> bool:
        return "admin" in self.namespaces

    @property
    def model_admin(self):
        return admin_of(self.callback)

    @property
    def suffix(self) -> str:
        """changelist, add, change, delete, history, simple_history... for ModelAdmin URLs."""
        ma = self.model_admin
        if ma is None or self.name is None:
            return ""
        opts = ma.model._meta
        short = self.name.split(":")[-1]
        head = f"{opts.app_label}_{opts.model_name}_"
        return short[len(head):] if short.startswith(head) else short


def admin_of(callback):
    """The ModelAdmin behind an admin URL's view (Django sets `model_admin`; wrapped views keep `__self__`)."""
    seen = 0
    current = callback
    while current is not None and seen < 10:
        found = getattr(current, "model_admin", None)
        if isinstance(found, BaseModelAdmin):
            return found
        owner = getattr(current, "__self__", None)
        if isinstance(owner, BaseModelAdmin):
            return owner
        current = getattr(current, "__wrapped__", None)
        seen += 1
    return None


def endpoints() -> list[Endpoint]:
    """Every URL pattern of the project, recursively (site pages and the admin)."""
    found = []

    def walk(resolver, parts, namespaces):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, (*parts, p.pattern), (*namespaces, p.namespace) if p.namespace else namespaces)
            else:
                name = ":".join((*namespaces, p.name)) if p.name else None
                found.append(Endpoint(name, (*parts, p.pattern), p.callback,
                                      tuple(sorted(p.default_args.items())), tuple(namespaces)))

    walk(get_resolver(), (), ())
    return found


def is_redirect_view(endpoint: Endpoint) -> bool:
    """Views that redirect from the URL alone, whatever exists (Django's old change URL, slash appending)."""
    current, depth = endpoint.callback, 0
    while current is not None and depth < 10:
        if getattr(current, "view_class", None) is not None and issubclass(current.view_class, RedirectView):
            return True
        if getattr(current, "__name__", "") == "catch_all_view":
            return True
        current = getattr(current, "__wrapped__", None)
        depth += 1
    return False


# Names for the unnamed groups of regex patterns, by URL name suffix.
POSITIONAL = {"_simple_history": ("object_id", "history_id")}
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


def _regex_segments(regex: str, endpoint: Endpoint) -> list:
    positional = next((names for suffix, names in POSITIONAL.items() if (endpoint.name or "").endswith(suffix)), ())
    positional = list(positional)
    out: list = []
    s = regex[1:] if regex.startswith("^") else regex
    s = s[:-1] if s.endswith("$") and not s.endswith("\\$") else s
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
        elif c == "(":
            depth, j, in_class = 0, i, False
            while j < len(s):
                ch = s[j]
                if ch == "\\":
                    j += 2
                    continue
                if in_class:
                    in_class = ch != "]"
                elif ch == "[":
                    in_class = True
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            group = s[i:j + 1]
            named = re.match(r"\(\?P<(\w+)>", group)
            if named:
                out.append(("param", named.group(1)))
            elif group.startswith("(?"):
                raise Unfillable(f"{endpoint.label}: regex {regex!r} has a group the matrix cannot fill")
            elif positional:
                out.append(("param", positional.pop(0)))
            else:
                raise Unfillable(
                    f"{endpoint.label}: regex {regex!r} has an unnamed group; name it in POSITIONAL "
                    "(bcp_site/tests/wall_support.py)"
                )
            i = j + 1
        elif c in ".*+?[]|{}^$":
            raise Unfillable(f"{endpoint.label}: regex {regex!r} has a construct the matrix cannot fill")
        else:
            out.append(c)
            i += 1
    return out


def url_segments(endpoint: Endpoint) -> list:
    segments: list = []
    for part in endpoint.parts:
        text = str(part)
        if isinstance(part, RegexPattern):
            segments.extend(_regex_segments(text, endpoint))
            continue
        pos = 0
        for m in ROUTE_PARAM.finditer(text):
            segments.append(text[pos:m.start()])
            segments.append(("param", m.group("parameter")))
            pos = m.end()
        segments.append(text[pos:])
    return segments


def url_params(endpoint: Endpoint) -> list[str]:
    return [s[1] for s in url_segments(endpoint) if isinstance(s, tuple)]


def build_url(endpoint: Endpoint, values: dict[str, Any]) -> str:
    path = "/" + "".join(s if isinstance(s, str) else str(values[s[1]]) for s in url_segments(endpoint))
    try:
        match = resolve(path)
    except Resolver404:
        raise Unfillable(f"{endpoint.label}: the URL built for it, {path}, resolves to nothing") from None
    if match.func is not endpoint.callback:
        raise Unfillable(f"{endpoint.label}: the URL built for it, {path}, resolves to {match.view_name}")
    return path


# --- filling parameters with one organisation's rows -----------------------------------------


@dataclass
class Target:
    """One URL of one pattern, filled with one organisation's rows."""

    endpoint: Endpoint
    url: str
    names_row: bool  # the URL names a row of the organisation (so the other one must get 403/404)
    model: Any = None  # the admin model of a ModelAdmin URL
    obj: Any = None  # the row named, when there is one

    @property
    def is_token(self) -> bool:
        return "token" in url_params(self.endpoint)


# `pk` means a plan or a review depending on the page; routes tell which.
PK_KINDS = [(re.compile(r"(^|/)plans/<(?:int|id):pk>"), "plan"), (re.compile(r"^reviews/<(?:int|id):pk>"), "review")]
ROW_KINDS = {"contact": "contact", "process": "process", "risk": "risk", "resource": "resource"}


def _pk_kind(endpoint: Endpoint) -> str:
    for pattern, kind in PK_KINDS:
        if pattern.search(endpoint.route):
            return kind
    raise Unfillable(f"{endpoint.label} ({endpoint.route}): which row `pk` names is unknown; add it to PK_KINDS")


def _param_values(endpoint: Endpoint, name: str, side: Side, user, other_params: list[str]):
    """[(value, names_a_row, row)] for one URL parameter; Unfillable if the name is unknown."""
    from reviews.ack_links import ack_token_make

    model_admin = endpoint.model_admin
    if name == "pk":
        if _pk_kind(endpoint) == "review":
            return [(side.pending_review.pk, True, side.pending_review),
                    (side.decided_review.pk, True, side.decided_review)]
        plans = [side.plan] if set(other_params) - {"pk"} else [side.plan, side.review_plan]
        return [(p.pk, True, p) for p in plans]
    if name == "row_id":
        kind = dict(endpoint.default_args).get("kind")
        if kind not in ROW_KINDS:
            raise Unfillable(f"{endpoint.label}: `row_id` of kind {kind!r} is unknown; add it to ROW_KINDS")
        row = getattr(side, ROW_KINDS[kind])
        return [(row.pk, True, row)]
    if name == "number":
        return [(side.approved_number, True, side.plan)]
    if name == "section_key":
        return [(side.section_key, True, side.plan)]
    if name == "kind" and "kind" not in dict(endpoint.default_args):
        return [("pdf", False, None), ("docx", False, None)]
    if name == "exercise_id":
        return [(side.exercise.pk, True, side.exercise)]
    if name == "finding_id":
        return [(side.finding.pk, True, side.finding)]
    if name == "incident_id":
        return [(side.incident.pk, True, side.incident)]
    if name == "attachment_id":
        return [(side.attachment.pk, True, side.attachment)]
    if name == "plan_id":
        return [(side.plan.pk, True, side.plan)]
    if name == "vendor_id":
        return [(side.vendor.pk, True, side.vendor)]
    if name == "collaborator_id":
        return [(side.collaborator.pk, True, side.collaborator)]
    if name == "request_id":
        report = side.kpi_report if "kpi" in endpoint.namespaces else side.evidence_pack
        return [(report.pk, True, report)]
    if name == "uidb64":
        # The person part of a password-reset link (Django's): with the link's `token` below, a
        # link that is not valid for it, which the reset page refuses like a bad email link (400).
        return [(urlsafe_base64_encode(force_bytes(user.pk)), True, None)]
    if name == "token":
        # A genuine signed link naming the person and this organisation's approved plan version:
        # a person outside the plan's organisation must be refused (invariant 6, email links).
        return [(ack_token_make(user=user, plan=side.plan, version_number=side.approved_number), True, side.plan)]
    if name in ("object_id", "id") and model_admin is not None:
        obj = side.pick(model_admin.model)
        return [(obj.pk, True, obj)]
    if name == "history_id" and model_admin is not None:
        obj = side.pick(model_admin.model)
        record = first_history(obj)
        if record is None:
            raise Unfillable(f"{endpoint.label}: {obj!r} has no history row")
        return [(record.history_id, True, obj)]
    if name == "app_label":
        return [(label, False, None) for label in sorted({m._meta.app_label for m in admin.site._registry})]
    if name == "url" and endpoint.is_admin:
        plan = side.plan
        return [(f"plans/plan/{plan.pk}/change", True, plan)]
    raise Unfillable(
        f"{endpoint.label} ({endpoint.route}): URL parameter `{name}` has no value in the wall matrix; "
        "add it to _param_values() in bcp_site/tests/wall_support.py"
    )


def first_history(obj):
    """The oldest history row of `obj` (reverting to it is a real change), or None without history."""
    manager = getattr(type(obj), "history", None)
    if manager is None or not hasattr(manager, "model"):
        return None
    return manager.model.objects.filter(**{type(obj)._meta.pk.attname: obj.pk}).order_by("history_id").first()


def targets_for(endpoint: Endpoint, side: Side, user, *, cross: bool = True) -> list[Target]:
    """The URLs of one pattern filled with `side`'s rows (several when a parameter has several values)."""
    params = url_params(endpoint)
    model = endpoint.model_admin.model if endpoint.model_admin is not None else None
    if endpoint.name == "admin:view_on_site":
        out = []
        for registered in admin.site._registry:
            if (cross and is_shared(registered)) or not hasattr(registered, "get_absolute_url"):
                continue
            obj = side.pick(registered)
            ct = ContentType.objects.get_for_model(registered)
            out.append(Target(endpoint, build_url(endpoint, {"content_type_id": ct.pk, "object_id": obj.pk}),
                              True, registered, obj))
        return out
    combos: list[tuple[dict, bool, Any]] = [({}, False, None)]
    for name in params:
        values = _param_values(endpoint, name, side, user, params)
        combos = [({**c, name: v}, named or flag, row if row is not None else r)
                  for c, named, r in combos for v, flag, row in values]
    return [Target(endpoint, build_url(endpoint, values), named, model, row) for values, named, row in combos]


# --- plausible POST data -----------------------------------------------------------------------


class FormParser(HTMLParser):
    """The fields of the POST forms of a page, as a browser would submit them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "",
                          "fields": [], "submit": None, "enctype": a.get("enctype") or ""}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value") or "on"))
            elif kind == "submit":
                if self._form["submit"] is None:
                    self._form["submit"] = (name, a.get("value") or "")
            elif kind not in ("file", "image", "reset", "button"):
                self._form["fields"].append((name, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "options": [], "selected": []}
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "", "selected" in a]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, text, selected = self._option
            value = text.strip() if value is None else value
            self._select["options"].append(value)
            if selected:
                self._select["selected"].append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["selected"]
            if not chosen and not self._select["multiple"]:
                chosen = [self._select["options"][0]] if self._select["options"] else []
            for value in chosen:
                if self._form is not None:
                    self._form["fields"].append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form["fields"].append((self._textarea[0], self._textarea[1].lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse_post_forms(html: str, url: str) -> dict[str, list[str]]:
    """The fields of the page's POST forms (forms posting to the page itself first)."""
    parser = FormParser()
    try:
        parser.feed(html)
    except Exception:  # noqa: BLE001 - a page we cannot parse gives no fields
        return {}
    forms = [f for f in parser.forms if f["method"] == "post"]
    forms.sort(key=lambda f: 0 if f["action"] in ("", url) or urlsplit(f["action"]).path == url else 1)
    data: dict[str, list[str]] = {}
    for form in forms:
        names_here: dict[str, list[str]] = defaultdict(list)
        for name, value in form["fields"]:
            names_here[name].append(value)
        if form["submit"] and form["submit"][0] not in names_here:
            names_here[form["submit"][0]].append(form["submit"][1])
        for name, values in names_here.items():
            data.setdefault(name, values)
    data.pop("csrfmiddlewaretoken", None)
    return data


def _hack_labels(data: dict[str, list[str]]) -> dict[str, list[str]]:
    out = dict(data)
    for name in list(out):
        base = name.rsplit("-", 1)[-1]
        if base in LABEL_FIELDS and "-" not in name:  # the main form's labels, not inline rows
            out[name] = [HACKED]
        elif base.endswith("email") and out[name] == [""]:
            out[name] = ["hacked@example.org"]
        elif base in ("password1", "password2") and out[name] == [""]:
            out[name] = ["Hacked-Passw0rd-2026!"]
    return out


def generic_site_data(side: Side) -> dict[str, list]:
    """Fields a site POST might need, with this organisation's values (page forms override them)."""
    viewers = Group.objects.get(name="BCP Viewer")
    return {
        "title": [HACKED], "name": [HACKED], "threat": [HACKED], "notes": [HACKED], "note": [HACKED],
        "version_number": [str(side.approved_number)], "edit_revision": [str(side.plan.edit_revision)],
        "reviewers": [str(side.reviewer2.pk)], "users": [str(side.viewer.pk)], "groups": [str(viewers.pk)],
        "owner": [str(side.owner.pk)], "template": [str(side.template.pk)], "email": [side.viewer.email],
        "likelihood": [Risk.Likelihood.LIKELY], "impact": [Risk.Impact.SEVERE], "post": ["yes"],
    }


SITE_ROW_FIELDS = {"owner", "owner_user", "reviewers", "users", "user", "plan", "plan_id", "actor"}


def row_values(side: Side) -> dict[str, int]:
    """Form fields that name a row, with `side`'s row (used where a form names no row by itself)."""
    return {"plan": side.plan.pk, "plan_id": side.plan.pk, "owner": side.owner.pk, "owner_user": side.owner.pk,
            "user": side.viewer.pk, "users": side.viewer.pk, "reviewers": side.reviewer2.pk}


def relation_fields(model) -> dict[str, Any]:
    """Form field name -> related model, for the model's editable relations."""
    out = {}
    for f in model._meta.get_fields():
        if isinstance(f, (ForeignKey, OneToOneField, ManyToManyField)) and getattr(f, "editable", True):
            out[f.name] = f.related_model
    return out


def relation_targets() -> set:
    """Models that a relation of a registered admin's model (or inline) points at."""
    models = set(admin.site._registry)
    for ma in admin.site._registry.values():
        models |= {inline.model for inline in ma.inlines}
    return {related for model in models for related in relation_fields(model).values()}


def admin_add_rows(model, side: Side) -> dict[str, list[str]]:
    """For an add form: each relation to organisation data names `side`'s row."""
    out = {}
    for name, related in relation_fields(model).items():
        if related is None or is_shared(related) or org_path(related) is None:
            continue
        try:
            out[name] = [str(side.pick(related).pk)]
        except Unfillable:
            continue
    return out


def change_file_upload(side: Side) -> SimpleUploadedFile:
    name, data = _change_file(HACKED, side.plan)  # names the plan in its `plans` list too
    return SimpleUploadedFile(name, data, content_type="application/json")


def text_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("hacked.txt", b"HACKED\n", content_type="text/plain")


def superuser_request(world: World):
    request = RequestFactory().get("/admin/")
    request.user = world.superuser
    return request


def action_names(model_admin, world: World) -> list[str]:
    """Every action of the admin: its declared `.actions`, the site's, and `get_actions()` for a superuser."""
    names = {name for _func, name, _desc in model_admin._get_base_actions()}
    names |= {a if isinstance(a, str) else a.__name__ for a in (model_admin.actions or [])}
    try:
        request = superuser_request(world)
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.cache import SessionStore

        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        names |= set(model_admin.get_actions(request))
    except Exception:  # noqa: BLE001 - the declared actions are enough to try
        pass
    return sorted(names)


# --- requests -----------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    url: str
    target: Target | None
    endpoint: Endpoint
    data: dict | None = None
    upload: str = ""  # "", "change" or "text": a file field named `file`
    what: str = ""  # a short description for failure messages
    names_row: bool = False
    row_fields: frozenset = frozenset()  # POST fields that name the organisation's rows
    add_form_check: str = ""  # URL of a form whose fields decide whether a general POST names a row
    is_action: bool = False
    probe_data: dict | None = None  # the same action on an id that does not exist (what "not found" looks like)
    probe_signature: tuple | None = None  # filled when run


def _source_client(world: World, user) -> Client:
    """A signed-in client of a person whose pages provide POST data, signed in with the world
    (outside every test's savepoint, so the session outlives the test)."""
    if user.pk not in world.clients:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        world.clients[user.pk] = client
    return world.clients[user.pk]


def form_data(world: World, side: Side, url: str, *, admin_page: bool) -> dict[str, list[str]]:
    """Plausible POST data for a page: its own form as someone allowed to see it would get it."""
    key = (admin_page, url)
    if admin_page and url.endswith("/add/"):
        side = world.alpha  # an empty add form is the same for both organisations: parse it once
    if key not in side.forms:
        user = world.superuser if admin_page else side.source
        client = _source_client(world, user)
        response = client.get(url)
        html = response.content.decode(errors="replace") if response.status_code == 200 and not getattr(
            response, "streaming", False) else ""
        side.forms[key] = parse_post_forms(html, url) if html else {}
    return side.forms[key]


MISSING_PK = 987654321


def admin_calls(endpoint: Endpoint, target: Target, side: Side, world: World, *, probe: bool = False) -> list[Call]:
    """GET and POST requests for one admin URL (actions, forms, revert, delete...)."""
    ma = endpoint.model_admin
    suffix = endpoint.suffix if ma is not None else ""
    url = target.url
    calls = []
    if suffix == "changelist":
        calls.append(Call("GET", url, target, endpoint, what="changelist"))
        if ma.model in relation_targets():  # the changelist is also the raw-id lookup popup
            calls.append(Call("GET", url + "?" + urlencode({"_popup": "1", "_to_field": "id"}), target, endpoint,
                              what="raw-id popup"))
        path = org_path(ma.model) if not is_shared(ma.model) else None
        if path and path != "pk":
            calls.append(Call("GET", url + "?" + urlencode({path: side.org.pk}), target, endpoint,
                              what="filtered by the organisation"))
        row = side.pick(ma.model)
        if row is not None:
            for name in action_names(ma, world):
                base = {"action": name, "_selected_action": [str(row.pk)], "index": "0", "select_across": "0"}
                missing = {**base, "_selected_action": [str(MISSING_PK)]}
                # As chosen from the list, then as if confirmed on an intermediate page at once
                # (delete_selected reads `post`, the request-changes actions `apply` and `notes`).
                for extra, label in (({}, ""), ({"post": "yes", "apply": "yes", "notes": HACKED}, " confirmed")):
                    calls.append(Call("POST", url, target, endpoint, data={**base, **extra},
                                      what=f"action {name}{label} on {row._meta.label} {row.pk}", names_row=True,
                                      is_action=True, probe_data=missing if probe and not extra else None))
            if ma.list_editable:
                data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(row.pk), "_save": "Save",
                        **{f"form-0-{f}": HACKED for f in ma.list_editable}}
                calls.append(Call("POST", url, target, endpoint, data=data, what="list_editable save", names_row=True))
        return calls
    if suffix == "add":
        calls.append(Call("GET", url, target, endpoint, what="add form"))
        rows = admin_add_rows(ma.model, side)
        if rows:
            query = urlencode({k: v[0] for k, v in rows.items()})
            calls.append(Call("GET", f"{url}?{query}", target, endpoint, what="add form with initial rows"))
        data = _hack_labels(form_data(world, side, url, admin_page=True))
        data.update(rows)
        calls.append(Call("POST", url, target, endpoint, data=data, what="add", row_fields=frozenset(rows),
                          add_form_check=url))
        return calls
    # pages naming a row (change, delete, history, revert, custom views, old change URL)
    calls.append(Call("GET", url, target, endpoint, what=suffix or "page", names_row=target.names_row))
    if endpoint.name is None and is_redirect_view(endpoint):
        return calls  # Django's old change URL redirects whatever the method; the GET follows it
    if suffix == "delete":
        data = {"post": "yes"}
    elif suffix in ("change", "simple_history") and target.obj is not None:
        data = form_data(world, side, url, admin_page=True)
        if not data:
            opts = ma.model._meta
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target.obj.pk])
            data = form_data(world, side, change, admin_page=True)
        data = _hack_labels(data)
    elif suffix == "history" or endpoint.name is None:  # history pages and the old change URL hold no form
        data = {}
    else:  # custom views (uploads, coverage, password...)
        data = _hack_labels(form_data(world, side, url, admin_page=True))
        for name, value in row_values(side).items():
            if name in data:
                data[name] = [str(value)]
    upload = "change" if ma is not None and ma.model._meta.model_name == "changerecord" else ""
    calls.append(Call("POST", url, target, endpoint, data=data, upload=upload, what=f"{suffix or 'page'} POST",
                      names_row=target.names_row))
    return calls


def site_calls(endpoint: Endpoint, target: Target, side: Side, world: World) -> list[Call]:
    url = target.url
    data = generic_site_data(side)
    if target.obj is side.review_plan:
        # The plan in review is tried with POSTs only (workflow transitions); its pages are the
        # same pages as the other plan's, requested for that one.
        calls = []
        data["edit_revision"] = [str(side.review_plan.edit_revision)]
    else:
        calls = [Call("GET", url, target, endpoint, what="page", names_row=target.names_row)]
        if not target.is_token:
            data.update(form_data(world, side, url, admin_page=False))
            # Person search fields (plans.person_search) show "Name (username)": name the person by
            # id instead (as a hidden input would), so a refusal echoes no name the sweep could mistake.
            for name, value in row_values(side).items():
                if name in data and data[name] and not data[name][0].isdigit():
                    data[name] = [str(value)]
    data = _hack_labels(data)
    upload = "change" if "change" in (endpoint.name or "") and "upload" in (endpoint.name or "") else "text"
    rows = frozenset(SITE_ROW_FIELDS & set(data))
    calls.append(Call("POST", url, target, endpoint, data=data, upload=upload, what="POST",
                      names_row=target.names_row, row_fields=rows, add_form_check="" if target.names_row else url))
    return calls


def autocomplete_calls(side: Side) -> list[Call]:
    """The autocomplete endpoint for every relation of every admin's model (and inline models)."""
    endpoint = next(e for e in endpoints() if e.name == "admin:autocomplete")
    url = reverse("admin:autocomplete")
    models = set(admin.site._registry)
    for ma in admin.site._registry.values():
        models |= {inline.model for inline in ma.inlines}
    calls = []
    for model in sorted(models, key=lambda m: m._meta.label):
        for name, related in sorted(relation_fields(model).items()):
            if related not in admin.site._registry:
                continue
            # An empty term lists every choice (the test data stays under one page of 20).
            query = urlencode({"app_label": model._meta.app_label, "model_name": model._meta.model_name,
                               "field_name": name, "term": ""})
            calls.append(Call("GET", f"{url}?{query}", Target(endpoint, url, False), endpoint,
                              what=f"autocomplete {model._meta.label}.{name}"))
    return calls


def plan_calls(side: Side, world: World, user, problems: list[str], *, cross: bool) -> list[Call]:
    """Every request of a sweep against `side`'s rows, made by `user`.

    With `cross`, URLs of shared (organisation-less) models are left out: they name no row
    of the other organisation.
    """
    calls: list[Call] = []
    for endpoint in endpoints():
        if endpoint.name in SKIPPED_URLS:
            continue
        if endpoint.name == "admin:autocomplete":
            calls.extend(autocomplete_calls(side))
            continue
        ma = endpoint.model_admin
        if ma is not None and not is_shared(ma.model) and org_path(ma.model) is None:
            problems.append(f"{endpoint.label}: cannot tell which organisation a {ma.model._meta.label} row "
                            "belongs to; add it to SHARED_MODELS or give it a path to Organisation")
            continue
        shared_only_lists = cross and ma is not None and is_shared(ma.model)
        if shared_only_lists and url_params(endpoint):
            continue  # a shared row is nobody's: nothing of the other organisation to try
        try:
            targets = targets_for(endpoint, side, user, cross=cross)
        except Unfillable as exc:
            problems.append(f"UNFILLABLE {exc}")
            continue
        for target in targets:
            if endpoint.is_admin and ma is not None:
                made = admin_calls(endpoint, target, side, world, probe=cross)
            elif endpoint.is_admin:
                made = _admin_site_calls(endpoint, target, side, world)
            else:
                made = site_calls(endpoint, target, side, world)
            if shared_only_lists:
                made = [c for c in made if c.method == "GET"]
            calls.extend(made)
    return calls


def _admin_site_calls(endpoint: Endpoint, target: Target, side: Side, world: World) -> list[Call]:
    """AdminSite pages (index, app index, login, password change, view on site, catch-all)."""
    calls = [Call("GET", target.url, target, endpoint, what="admin page", names_row=target.names_row)]
    if endpoint.name == "admin:view_on_site":
        return calls  # Django's shortcut view answers every method alike
    # Their forms (sign-in, own password) name nobody's rows: an empty POST is enough.
    data = {"post": "yes"}
    calls.append(Call("POST", target.url, target, endpoint, data=data, what="admin page POST",
                      names_row=target.names_row, add_form_check="" if target.names_row else target.url))
    return calls


# --- running a sweep ----------------------------------------------------------------------------

WRITE_SQL = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+["`]?(\w+)',
                       re.IGNORECASE)


class WriteLog:
    """Whether the request being sent wrote to a table (then the database is compared)."""

    def __init__(self):
        self.active = False
        self.tables: set[str] = set()

    def __call__(self, execute, sql, params, many, context):
        m = WRITE_SQL.match(sql or "")
        if self.active and m and m.group(1) not in IGNORED_TABLES:
            self.tables.add(m.group(1))
        return execute(sql, params, many, context)


def snapshot() -> dict[str, dict]:
    """Every row of every table (models, auto-created many-to-many tables, history tables), by pk."""
    tables = {}
    existing = set(connection.introspection.table_names())  # a model without a migration yet: not ours to judge
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in IGNORED_TABLES or table not in existing or model._meta.proxy or not model._meta.managed:
            continue
        tables[table] = {row["pk_"]: row for row in (
            dict(values, pk_=values[model._meta.pk.attname])
            for values in model._base_manager.order_by("pk").values()
        )}
    return tables


def diff(before: dict, after: dict) -> dict[str, str]:
    """table -> what changed (rows added, removed, changed with the fields)."""
    out = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        if old == new:
            continue
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = []
        for pk in sorted(set(old) & set(new)):
            if old[pk] != new[pk]:
                fields = sorted(k for k in new[pk] if old[pk].get(k) != new[pk].get(k))
                changed.append(f"{pk}: " + ", ".join(f"{f} {old[pk].get(f)!r}->{new[pk].get(f)!r}"[:160]
                                                    for f in fields))
        parts = []
        if added:
            parts.append(f"added {added}: " + "; ".join(
                ", ".join(f"{k}={v!r}"[:60] for k, v in new[pk].items() if k != "pk_")[:300] for pk in added[:3]))
        if removed:
            parts.append(f"removed {removed}")
        if changed:
            parts.append("changed " + "; ".join(changed[:5]))
        out[table] = " | ".join(parts)
    return out


def login_urls() -> tuple[str, ...]:
    from django.conf import settings
    from django.shortcuts import resolve_url

    return (reverse("admin:login"), resolve_url(settings.LOGIN_URL))


def signature(response) -> tuple:
    """What a person sees of an answer: status, where it redirects, the messages (numbers blanked)."""
    from django.contrib.messages import get_messages

    request = getattr(response, "wsgi_request", None)
    # Only the messages this request added (earlier ones wait in the session for the next page).
    queued = getattr(get_messages(request), "_queued_messages", []) if request is not None else []
    messages = tuple(re.sub(r"\d+", "N", str(m)) for m in queued)
    location = urlsplit(response["Location"]).path if response.status_code in (301, 302, 303, 307, 308) else ""
    return response.status_code, location, messages


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def marker_context(text: str) -> str | None:
    m = MARKER_RE.search(text)
    if not m:
        return None
    snippet = text[max(0, m.start() - 60): m.end() + 60]
    return re.sub(r"\s+", " ", snippet)


@dataclass
class Sweep:
    role: str
    problems: list[str] = field(default_factory=list)
    count: int = 0
    skipped: list[str] = field(default_factory=list)


def _upload(kind: str, side: Side):
    if kind == "change":
        return change_file_upload(side)
    if kind == "text":
        return text_upload()
    return None


class _Undo(Exception):
    """Raised to roll a request's savepoint back once its answer and its writes are recorded."""


def _send(client: Client, call: Call, data, *, cross: bool):
    response = client.get(call.url) if call.method == "GET" else client.post(call.url, data)
    final, hops = response, 0
    # Redirects made from the URL alone (Django's old change URL, slash appending) are followed
    # to the page they name, which must be the refusal.
    while (cross and final.status_code in (301, 302) and is_redirect_view(call.endpoint) and hops < 3
           and not final["Location"].startswith(login_urls())):
        final = client.get(final["Location"])
        hops += 1
    return final


def run_calls(client: Client, calls: list[Call], sweep: Sweep, side: Side, *, judge, cross: bool,
              baseline: dict) -> None:
    """Send every call, each in a savepoint rolled back afterwards, so each one meets the same data.

    A request that wrote to any table (sessions aside) is followed by a comparison of the whole
    database with `baseline`; every difference is a problem naming the request and the table.
    """
    log = WriteLog()
    previous = ""
    with connection.execute_wrapper(log):
        for call in calls:
            describe = f"{call.method} {call.url} [{call.endpoint.label}; {call.what}]"
            if cross and call.method == "POST" and call.add_form_check:
                # A general POST (no row in the URL) is a cross-organisation attempt only if the
                # person's own form lets them name the other organisation's rows.
                own = client.get(call.add_form_check)
                if own.status_code == 200:
                    names = set(parse_post_forms(body_of(own), call.add_form_check))
                    if not (names & set(call.row_fields)):
                        sweep.skipped.append(f"{describe}: the form offers no field naming a row")
                        continue
            data = dict(call.data or {})
            upload = _upload(call.upload, side) if call.method == "POST" else None
            if upload is not None:
                data.setdefault("file", upload)
            try:
                with transaction.atomic():
                    if call.probe_data is not None:
                        call.probe_signature = signature(client.post(call.url, call.probe_data))
                    raise _Undo
            except _Undo:
                pass
            try:
                with transaction.atomic():
                    log.active, log.tables = True, set()
                    final = _send(client, call, data, cross=cross)
                    log.active = False
                    text = body_of(final)
                    if log.tables:
                        current = snapshot() if cross else _without_logged_reads(baseline, snapshot(), side)
                        for table, what in diff(baseline, current).items():
                            sweep.problems.append(f"{describe}: DATABASE CHANGED, table {table}: {what}")
                    raise _Undo
            except _Undo:
                pass
            finally:
                log.active = False
            sweep.count += 1
            judge(call, final, text, sweep, describe, previous)
            previous = describe


def _without_logged_reads(baseline: dict, current: dict, side: Side) -> dict:
    """`current` without the audit rows added by a logged read of `side`'s own organisation (LOGGED_READS)."""
    table = apps.get_model("plans", "Audit")._meta.db_table
    old, new = baseline.get(table, {}), current.get(table)
    if new is not None:
        current[table] = {pk: row for pk, row in new.items()
                          if pk in old or not (row["action"] in LOGGED_READS and row["org_id"] == side.org.pk)}
    return current


def _one_per_admin_url(calls: list[Call]) -> list[Call]:
    """For people who are not staff the admin answers at its door (`admin_view`), before any
    admin code: one GET and one POST per admin URL show that; actions and pickers add nothing."""
    seen, kept = set(), []
    for call in calls:
        if call.endpoint.is_admin:
            key = (call.method, call.endpoint.label, urlsplit(call.url).path)
            if key in seen:
                continue
            seen.add(key)
            call.probe_data = None
        kept.append(call)
    return kept


def sweep_requests(world: World, side: Side, role: str, user, *, cross: bool, judge, keep=None) -> Sweep:
    """Every request of the matrix against `side`'s rows, made by `user` (None: anonymous)."""
    from django.core.cache import cache

    sweep = Sweep(role)
    # The signed links name the person sweeping (an anonymous visitor holds a link of Alpha's viewer).
    calls = plan_calls(side, world, user or world.alpha.viewer, sweep.problems, cross=cross)
    if keep is not None:
        calls = [c for c in calls if keep(c)]
    if user is None or not user.is_staff:
        calls = _one_per_admin_url(calls)
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    cache.clear()  # rate limits of the link pages count per client address
    baseline = snapshot()
    run_calls(client, calls, sweep, side, judge=judge, cross=cross, baseline=baseline)
    for table, what in diff(baseline, snapshot()).items():  # nothing may survive the rollbacks
        sweep.problems.append(f"DATABASE CHANGED outside the requests' savepoints: table {table}: {what}")
    return sweep


def is_member_staff(user) -> bool:
    return user is not None and user.is_staff and getattr(user, "membership", None) is not None


def report(sweep: Sweep) -> str:
    lines = [f"{len(sweep.problems)} problem(s) for role {sweep.role} ({sweep.count} requests):"]
    lines += [f"  - {p}" for p in sweep.problems]
    return "\n".join(lines)
