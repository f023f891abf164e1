"""Writes that touch plans and their children. Each is atomic and leaves an audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bcp_site.errors import ServiceError
from bcp_site.text import display_name
from templates_app.models import Template
from templates_app.schema import content_carry_over, default_content, template_sections, validate_content

from .models import Audit, Contact, Membership, Organisation, Plan, PlanVersion, Process, Risk
from .resources import plan_resources
from .risk import risk_rating
from .search import search_plan_index, search_row_index, search_row_unindex, search_sections_index, search_title_index
from .vendors import plan_vendor_links, process_vendors_set, vendors_by_process


def audit_record(
    *,
    plan: Plan | None = None,
    org: Organisation | None = None,
    actor,
    action: str,
    details: dict[str, Any] | None = None,
) -> Audit:
    """Write one audit row. `actor` may be None for system actions (imports, scheduled mail).

    A plan event passes `plan` (its organisation is recorded with it); an organisation event
    (memberships, people, templates, lockouts) passes `org` only. Passing neither records a
    system-wide event that only superusers see (say, a global template edited by a superuser).
    """
    if plan is not None and org is not None and org.pk != plan.org_id:
        raise ValueError("audit_record: the plan belongs to another organisation than `org`.")
    return Audit.objects.create(
        plan=plan,
        org_id=plan.org_id if plan is not None else (org.pk if org is not None else None),
        actor_user=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        details_json=details or {},
        at_utc=timezone.now(),
    )


def member_check(*, plan: Plan, actor) -> None:
    """Refuse anyone who is not an active member of the plan's organisation (superusers too: decision 6)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ServiceError("You need to be logged in to do this.", code="anonymous")
    if not Membership.objects.filter(user_id=actor.pk, organisation_id=plan.org_id).exists():
        raise ServiceError("This plan belongs to another organisation.", code="other_organisation")


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "name": contact.name,
        "role": contact.role,
        "phone": contact.phone,
        "email": contact.email,
        "notes": contact.notes,
    }


def process_snapshot(process: Process, *, vendors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A process as a version keeps it; `vendors`: snapshots of the vendors it depends on
    (`plans.vendors.vendors_by_process`; none given: none)."""
    return {
        "id": process.pk,
        "name": process.name,
        "description": process.description,
        "rto_minutes": process.rto_minutes,
        "rpo_minutes": process.rpo_minutes,
        "mtpd_minutes": process.mtpd_minutes,
        "impact_rating": process.impact_rating,
        "dependencies": list(process.dependencies_json or []),
        "vendors": list(vendors or []),
    }


def risk_snapshot(risk: Risk) -> dict[str, Any]:
    owner = risk.owner_user
    return {
        "id": risk.pk,
        "threat": risk.threat,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "rating": risk.rating,
        "mitigation": risk.mitigation,
        "owner": display_name(owner),
        "owner_user_id": risk.owner_user_id,
    }


def plan_snapshot(plan: Plan, *, vendor_links=None) -> dict[str, list[dict[str, Any]]]:
    """The live contacts, processes (with the vendors each depends on), risks and resources of a plan as
    plain data (six queries; five with `vendor_links`, `plans.vendors.plan_vendor_links(plan)`)."""
    links = vendor_links if vendor_links is not None else plan_vendor_links(plan)
    vendors = vendors_by_process(links)
    return {
        "contacts": [contact_snapshot(c) for c in plan.contacts.order_by("name", "id")],
        "processes": [process_snapshot(p, vendors=vendors.get(p.pk)) for p in plan.processes.order_by("name", "id")],
        "risks": [risk_snapshot(r) for r in plan.risks.select_related("owner_user").order_by("threat", "id")],
        "resources": plan_resources(plan),
    }


def working_copy_content(plan: Plan, *, vendor_links=None) -> dict[str, Any]:
    """The working copy and the live contacts, processes, risks and resources, shaped as the `content_json`
    `version_create` stores (see `plan_snapshot` for the queries)."""
    content = dict(plan.draft_content_json or {})
    content.update(plan_snapshot(plan, vendor_links=vendor_links))
    return content


def comparable_content(content: dict[str, Any] | None) -> dict[str, Any]:
    """`content` without what versions written before resources and vendors were kept could not hold: an
    empty resource list and empty vendor lists of processes. So a plan unchanged since such a version is
    still unchanged (no query)."""
    content = dict(content or {})
    if content.get("resources") == []:
        del content["resources"]
    processes = content.get("processes")
    if isinstance(processes, list):
        content["processes"] = [
            {k: v for k, v in p.items() if not (k == "vendors" and v == [])} if isinstance(p, dict) else p
            for p in processes
        ]
    return content


def working_copy_differs(plan: Plan, *, active: PlanVersion | None = None,
                         content: dict[str, Any] | None = None) -> bool:
    """Whether the working copy and live rows differ from `active` (default: the plan's active
    version): the one home of "unsaved changes". True when there is no version.

    Same content and same template version means saving a revision now would store `active`
    again. Queries: the active version unless passed or loaded, and three for the live rows
    unless `content` (as `working_copy_content` shapes it) is passed.
    """
    version = active if active is not None else plan.current_version
    if version is None:
        return True
    if content is None:
        content = working_copy_content(plan)
    return version.template_id != plan.template_id or comparable_content(version.content_json) != \
        comparable_content(content)


def version_create(*, plan: Plan, actor, note: str = "", findings=None) -> PlanVersion:
    """Freeze the plan's working copy and live rows into version N+1, the new active version.

    The plan row is locked first, so concurrent calls get sequential numbers and the
    database's unique keys guarantee one active version per plan. `findings` (or their ids):
    the open findings this revision addresses (`plans.findings.findings_tick`); None keeps
    those ticked on the version it supersedes.
    """
    from .collaborators import section_owners_notify  # plans.collaborators imports this module
    from .findings import findings_tick  # plans.findings imports this module

    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        previous_id = locked.current_version_id
        last = locked.versions.aggregate(n=Max("version_number"))["n"] or 0
        for previous in locked.versions.filter(status=PlanVersion.Status.ACTIVE):
            previous.status = PlanVersion.Status.SUPERSEDED
            previous.save(update_fields=["status"])  # save(), not update(): history records it
        content = working_copy_content(locked)
        version = PlanVersion.objects.create(
            plan=locked,
            template_id=locked.template_id,
            version_number=last + 1,
            status=PlanVersion.Status.ACTIVE,
            authored_by_user=actor,
            authored_at_utc=timezone.now(),
            summary_change_note=note,
            content_json=content,
        )
        locked.current_version = version
        locked.save(update_fields=["current_version", "updated_at"])
        ticked = findings_tick(plan=locked, version=version, previous_id=previous_id, chosen=findings)
        section_owners_notify(plan=locked, version=version, previous_id=previous_id, actor=actor)
        details = {"version": version.version_number, "note": note}
        if ticked:
            details["findings"] = [str(finding) for finding in ticked]
        audit_record(plan=locked, actor=actor, action="version_created", details=details)
    plan.current_version = version
    return version


def plan_create(*, organisation: Organisation, template, title: str, owner, actor) -> Plan:
    """Create a plan from a template with version 1 holding the template's default values.

    The actor and the owner must be members of `organisation` (superusers too: decision 6).
    """
    members = set(Membership.objects.filter(organisation=organisation, user__in=[owner, actor])
                  .values_list("user_id", flat=True))
    if getattr(actor, "pk", None) not in members:
        raise ServiceError("Only members of an organisation create plans in it.", code="other_organisation")
    if owner.pk not in members:
        raise ServiceError(f"{owner} is not a member of {organisation}.", code="other_organisation")
    if template.org_id not in (None, organisation.pk):
        raise ServiceError("That template belongs to another organisation.", code="other_organisation")
    with transaction.atomic():
        plan = Plan.objects.create(
            org=organisation,
            title=title,
            template=template,
            owner_user=owner,
            draft_content_json=default_content(template),
        )
        audit_record(plan=plan, actor=actor, action="plan_created", details={"title": title, "template": str(template)})
        search_plan_index(plan=plan)
        version_create(plan=plan, actor=actor, note="Created from template")
    return plan


def plan_edit_refusal(plan: Plan, *, attachments: bool = False) -> ServiceError | None:
    """Why the plan's working copy, rows and files cannot change now, or None (the one home of the edit lock).

    In review: the submitted version must not move under the reviewers, and nothing is added
    beside it (files included) while they read it. Archived: restore it first. Pages, admin and
    services all ask this function; each message says who can unlock the plan. `attachments`
    only words the message for files.
    """
    what = "files cannot be added to it" if attachments else "it cannot be changed"
    if plan.status == Plan.Status.IN_REVIEW:
        return ServiceError(
            f"This plan is in review, so {what}. The person who submitted it, or its owner, can "
            "withdraw it from review; a reviewer can request changes, which returns it to draft.",
            code="locked_in_review",
        )
    if plan.status == Plan.Status.ARCHIVED:
        return ServiceError(
            f"This plan is archived, so {what}. A BCP Admin can restore it.", code="archived",
        )
    return None


def plan_prepare_edit(*, plan: Plan, actor) -> Plan:
    """Check the plan's working copy may change now; an approved plan starts a new revision.

    Call inside the caller's transaction with a locked plan row. In review or archived:
    refused (the approved version and the submitted version must not move under the
    reviewers). Approved: the plan goes back to draft and the approved version stays
    recorded in `approved_version`, readable and exportable.
    """
    refusal = plan_edit_refusal(plan)
    if refusal is not None:
        raise refusal
    if plan.status == Plan.Status.APPROVED:
        plan.status = Plan.Status.DRAFT
        plan.save(update_fields=["status", "updated_at"])
        audit_record(
            plan=plan, actor=actor, action="revision_started",
            details={"from": Plan.Status.APPROVED, "to": Plan.Status.DRAFT,
                     "approved_version": plan.approved_version.version_number if plan.approved_version else None},
        )
    return plan


# ---------------------------------------------------------------------------
# Editing the working copy and the live rows (plan pages).
#
# Every function below locks the plan row, refuses a stale form (the form's
# `expected_revision` differs from `Plan.edit_revision`: someone saved since the
# form was opened), checks the plan may change now (`plan_prepare_edit`), writes,
# bumps `edit_revision` and leaves an audit row saying what changed.
# ---------------------------------------------------------------------------

CONTACT_FIELDS = ("name", "role", "phone", "email", "notes")
PROCESS_FIELDS = ("name", "description", "rto_minutes", "rpo_minutes", "mtpd_minutes", "impact_rating",
                  "dependencies_json")
RISK_FIELDS = ("threat", "likelihood", "impact", "mitigation", "owner_user")


def _lock_for_edit(*, plan: Plan, actor, expected_revision: int | None) -> Plan:
    """Lock the plan row, refuse a stale form, check the plan may change. Call inside atomic()."""
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    member_check(plan=locked, actor=actor)
    if expected_revision is not None and int(expected_revision) != locked.edit_revision:
        last = locked.audit_entries.select_related("actor_user").order_by("-at_utc", "-id").first()
        who = ""
        if last is not None and last.actor_user is not None:
            who = display_name(last.actor_user)
        raise ServiceError(
            f"{who or 'Someone else'} saved this plan after you opened this form, so your changes were "
            "not saved and nothing was overwritten. Your input is still below: open the plan in another "
            "tab to see what changed, then press Save again to replace it with your input.",
            code="conflict",
        )
    plan_prepare_edit(plan=locked, actor=actor)
    return locked


def _bump(locked: Plan, plan: Plan) -> None:
    locked.edit_revision += 1
    locked.save(update_fields=["edit_revision", "draft_content_json", "status", "updated_at"])
    plan.edit_revision = locked.edit_revision
    plan.status = locked.status
    plan.draft_content_json = locked.draft_content_json


def _audit_value(value: Any) -> Any:
    """A JSON-friendly form of a field value for audit details."""
    if hasattr(value, "pk"):
        return str(value)
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


def plan_section_update(*, plan: Plan, section_key: str, values: dict[str, Any], actor,
                        expected_revision: int | None) -> Plan:
    """Store one section's values in the working copy; audit `section_updated` with the changed fields."""
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        content = dict(locked.draft_content_json or {})
        before = dict(content.get(section_key) or {})
        content[section_key] = dict(values)
        changed = sorted(key for key in set(before) | set(values) if before.get(key) != values.get(key))
        locked.draft_content_json = content
        _bump(locked, plan)
        search_sections_index(plan=locked, keys=[section_key])
        audit_record(
            plan=locked, actor=actor, action="section_updated",
            details={"section": section_key, "fields": changed},
        )
    return plan


def plan_details_update(*, plan: Plan, actor, expected_revision: int | None, title: str, owner) -> Plan:
    """Rename the plan or hand it to another owner (a member of its organisation); audit `plan_changed`."""
    title = (title or "").strip()
    if not title:
        raise ServiceError("Give the plan a title.", code="title_required")
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        if not Membership.objects.filter(user=owner, organisation_id=locked.org_id).exists():
            raise ServiceError(f"{owner} is not a member of this plan's organisation.", code="other_organisation")
        changes = {}
        if locked.title != title:
            changes["title"] = [locked.title, title]
        if locked.owner_user_id != owner.pk:
            changes["owner"] = [str(locked.owner_user), str(owner)]
        locked.title, locked.owner_user = title, owner
        locked.edit_revision += 1
        locked.save(update_fields=["title", "owner_user", "edit_revision", "status", "updated_at"])
        search_title_index(plan=locked)
        audit_record(plan=locked, actor=actor, action="plan_changed", details={"changes": changes})
    plan.title, plan.owner_user, plan.edit_revision, plan.status = title, owner, locked.edit_revision, locked.status
    return plan


def plan_template_change(*, plan: Plan, actor, template, expected_revision: int | None) -> list[dict]:
    """Move the plan to another version of its template, in the working copy (decision 7).

    Values are carried over by section and field key; the values of fields the new version
    lacks are dropped (and returned, as `content_carry_over` reports them: the page shows them
    before the editor confirms). The next saved revision is written with the new version;
    older versions keep their own. Audits `template_changed`.
    """
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        current = locked.template
        if not template_versions_for(locked).filter(pk=template.pk).exists():
            raise ServiceError("Choose another version of this plan's template.", code="invalid_template")
        template = Template.objects.get(pk=template.pk)
        content, dropped = content_carry_over(template_sections(current), template_sections(template),
                                              locked.draft_content_json or {})
        locked.template = template
        locked.draft_content_json = content
        locked.save(update_fields=["template"])
        _bump(locked, plan)
        search_sections_index(plan=locked)  # sections the new version lacks lose their entries
        plan.template = template
        audit_record(plan=locked, actor=actor, action="template_changed", details={
            "from": str(current), "to": str(template),
            "dropped": [f"{d['section']} / {d['field']}" for d in dropped],
        })
    return dropped


def template_versions_for(plan: Plan):
    """Other versions of the plan's template it may move to: same name, global or its organisation's."""
    return (Template.objects.offered_to(plan.org_id).filter(name=plan.template.name)
            .exclude(pk=plan.template_id).order_by("-created_at", "-id"))


def _row_save(*, plan: Plan, actor, expected_revision, model, instance_id, values: dict[str, Any],
              fields: tuple[str, ...], kind: str, label_field: str, extra=None, after=None):
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        if instance_id is None:
            row = model(plan=locked)
            changes = None
        else:
            row = model.objects.filter(plan=locked, pk=instance_id).first()
            if row is None:
                raise ServiceError(f"This {kind} no longer exists: someone removed it.", code="not_found")
            changes = {}
        for field in fields:
            new = values.get(field, getattr(row, field) if instance_id is not None else None)
            if new is None and field not in {"rto_minutes", "rpo_minutes", "mtpd_minutes", "owner_user"}:
                new = [] if field == "dependencies_json" else ""
            old = getattr(row, field) if instance_id is not None else None
            if changes is not None and old != new:
                changes[field] = [_audit_value(old), _audit_value(new)]
            setattr(row, field, new)
        if extra is not None:
            for field, (old, new) in extra(row).items():
                if changes is not None and old != new:
                    changes[field] = [_audit_value(old), _audit_value(new)]
        row.save()
        if after is not None:  # rows that hang off the saved row (a process's vendors)
            for field, (old, new) in (after(locked, row) or {}).items():
                if changes is not None:
                    changes[field] = [_audit_value(old), _audit_value(new)]
        _bump(locked, plan)
        search_row_index(plan=locked, row=row)
        if changes is None:
            audit_record(plan=locked, actor=actor, action=f"{kind}_added",
                         details={kind: getattr(row, label_field), "id": row.pk})
        else:
            audit_record(plan=locked, actor=actor, action=f"{kind}_changed",
                         details={kind: getattr(row, label_field), "id": row.pk, "changes": changes})
    return row


def _row_delete(*, plan: Plan, actor, expected_revision, model, instance_id, kind: str, label_field: str) -> None:
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        row = model.objects.filter(plan=locked, pk=instance_id).first()
        if row is None:
            raise ServiceError(f"This {kind} no longer exists: someone removed it.", code="not_found")
        label = getattr(row, label_field)
        row.delete()
        _bump(locked, plan)
        search_row_unindex(plan=locked, kind=kind, row_id=instance_id)
        audit_record(plan=locked, actor=actor, action=f"{kind}_removed", details={kind: label, "id": instance_id})


def contact_save(*, plan: Plan, actor, expected_revision: int | None, values: dict[str, Any],
                 contact_id: int | None = None) -> Contact:
    """Add a contact (`contact_id` None) or change one; audit `contact_added` / `contact_changed`."""
    return _row_save(plan=plan, actor=actor, expected_revision=expected_revision, model=Contact,
                     instance_id=contact_id, values=values, fields=CONTACT_FIELDS, kind="contact",
                     label_field="name")


def contact_delete(*, plan: Plan, actor, expected_revision: int | None, contact_id: int) -> None:
    _row_delete(plan=plan, actor=actor, expected_revision=expected_revision, model=Contact,
                instance_id=contact_id, kind="contact", label_field="name")


def process_save(*, plan: Plan, actor, expected_revision: int | None, values: dict[str, Any],
                 process_id: int | None = None) -> Process:
    """Add or change a critical process. RTO must not exceed MTPD (the database refuses it too).

    `values["vendors"]`: the vendors of the plan's organisation the process depends on (missing: unchanged);
    a change of them is one of the `process_changed` audit row's changes.
    """
    rto, mtpd = values.get("rto_minutes"), values.get("mtpd_minutes")
    if rto is not None and mtpd is not None and rto > mtpd:
        raise ServiceError("The recovery time objective cannot be longer than the maximum tolerable period "
                           "of disruption.", code="rto_exceeds_mtpd")
    vendors = values.get("vendors")

    def link_vendors(locked: Plan, row: Process) -> dict[str, tuple]:
        if vendors is None:
            return {}
        changed = process_vendors_set(process=row, vendors=vendors, org_id=locked.org_id)
        return {"vendors": changed} if changed else {}

    return _row_save(plan=plan, actor=actor, expected_revision=expected_revision, model=Process,
                     instance_id=process_id, values=values, fields=PROCESS_FIELDS, kind="process",
                     label_field="name", after=link_vendors)


def process_delete(*, plan: Plan, actor, expected_revision: int | None, process_id: int) -> None:
    _row_delete(plan=plan, actor=actor, expected_revision=expected_revision, model=Process,
                instance_id=process_id, kind="process", label_field="name")


def risk_save(*, plan: Plan, actor, expected_revision: int | None, values: dict[str, Any],
              risk_id: int | None = None) -> Risk:
    """Add or change a risk; the rating is computed from likelihood and impact (`plans.risk`)."""
    def rate(row: Risk) -> dict[str, tuple]:
        old = row.rating
        row.rating = risk_rating(row.likelihood, row.impact)
        return {"rating": (old, row.rating)}

    return _row_save(plan=plan, actor=actor, expected_revision=expected_revision, model=Risk,
                     instance_id=risk_id, values=values, fields=RISK_FIELDS, kind="risk",
                     label_field="threat", extra=rate)


def risk_delete(*, plan: Plan, actor, expected_revision: int | None, risk_id: int) -> None:
    _row_delete(plan=plan, actor=actor, expected_revision=expected_revision, model=Risk,
                instance_id=risk_id, kind="risk", label_field="threat")


def revision_save(*, plan: Plan, actor, note: str, expected_revision: int | None = None,
                  findings=None) -> PlanVersion:
    """"Save revision": check the working copy against the template, then create version N+1.

    `findings`: the open findings the revision addresses, as ticked on the form (see
    `version_create`; None keeps the active version's ticks).

    Refused (code `invalid_content`, `problems` lists each one) when the content does not
    satisfy the template, e.g. a required field is empty; refused without a change note;
    refused (code `unchanged`) when the revision would hold exactly what the active version
    holds: an unchanged plan is approved again only by re-confirmation
    (`reviews.services.plan_reconfirm`), never as a copy under a new number.
    """
    note = (note or "").strip()
    if not note:
        raise ServiceError("Write a change note: say what changed in this revision.", code="note_required")
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        problems = list(validate_content(locked.template, locked.draft_content_json or {}) or [])
        if problems:
            raise ServiceError(
                "The plan cannot be saved as a revision until these are fixed: " + "; ".join(map(str, problems)),
                code="invalid_content", problems=[str(p) for p in problems],
            )
        active = locked.current_version
        if active is not None and not working_copy_differs(locked, active=active):
            # Raising rolls back what _lock_for_edit did (an approved plan going back to draft).
            raise ServiceError(
                f"Nothing has changed since version {active.version_number}, so there is no new revision to save.",
                code="unchanged",
            )
        return version_create(plan=plan, actor=actor, note=note, findings=findings)
