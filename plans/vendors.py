"""The organisation's vendor register: writes, reads, and the two flags a vendor can raise.

A vendor belongs to the organisation (decision 1): its changes are organisation audit rows
(`vendor_added`, `vendor_changed`, `vendor_removed`) and model history. Critical processes name the
vendors they depend on (`bc_process_vendor`, set by `plans.services.process_save`); a version's
snapshot holds, for each of its processes, each linked vendor's id, name and committed recovery
time (`vendor_snapshot`), so a vendor changed later never changes a written version.

Flags (warnings, never blockers):

- **recovery gap**: the vendor committed to recover later than a dependent process's RTO (the
  supplier comes back after you need it). Equal is fine. Read from a snapshot for a version.
- **stale evidence**: the last continuity evidence arrived more than `EVIDENCE_MAX_AGE_DAYS` days
  ago (365 days old is fine, 366 is stale), or none was ever recorded. Always about today.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from bcp_site.errors import ServiceError
from templates_app.values import format_minutes

from .models import Membership, Organisation, Plan
from .vendor_models import ProcessVendor, Vendor

EVIDENCE_MAX_AGE_DAYS = 365
VENDOR_FIELDS = ("name", "service", "contacts", "contract_reference", "recovery_minutes", "evidence_on",
                 "criticality")
NAME_KEY_MAX = 255
# Letters that do not decompose into a base letter and a mark (NFKD), folded as people read them.
_FOLDS = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"})


def vendor_name_key(name: str) -> str:
    """The name as compared: casefolded, accents and invisible format characters dropped, spaces collapsed.

    "Acme GmbH", "ACME  gmbh" and "Açme GmbH" all give "acme gmbh". No query.
    """
    text = unicodedata.normalize("NFKD", str(name or "").casefold().translate(_FOLDS))
    kept = (ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")
    return " ".join("".join(kept).translate(_FOLDS).split())


# --- flags -------------------------------------------------------------------------------------


def evidence_stale(evidence_on: dt.date | None, today: dt.date) -> bool:
    """No evidence recorded, or the last arrived more than EVIDENCE_MAX_AGE_DAYS days before `today`."""
    return evidence_on is None or (today - evidence_on).days > EVIDENCE_MAX_AGE_DAYS


def evidence_stale_before(today: dt.date) -> dt.date:
    """Evidence received before this day is stale (the vendor list's filter, an indexed range)."""
    return today - dt.timedelta(days=EVIDENCE_MAX_AGE_DAYS)


def recovery_gap(vendor_minutes, rto_minutes) -> bool:
    """The vendor comes back after the process must be running again (both known; equal is fine)."""
    return _minutes(vendor_minutes) is not None and _minutes(rto_minutes) is not None and \
        vendor_minutes > rto_minutes


def _minutes(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def evidence_text(evidence_on: dt.date | None, today: dt.date) -> str:
    """The evidence flag in words (empty when the evidence is current)."""
    if evidence_on is None:
        return "No continuity evidence recorded"
    if not evidence_stale(evidence_on, today):
        return ""
    return (f"Continuity evidence is {(today - evidence_on).days} days old (received {evidence_on:%d %b %Y}; "
            f"at most {EVIDENCE_MAX_AGE_DAYS} days)")


def gap_text(vendor_name: str, vendor_minutes: int, process_name: str, rto_minutes: int) -> str:
    return (f"“{vendor_name}” commits to recover in {format_minutes(vendor_minutes)}, after the RTO of "
            f"“{process_name}” ({format_minutes(rto_minutes)}): the supplier comes back after you need it")


# --- snapshots -------------------------------------------------------------------------------------


def vendor_snapshot(vendor: Vendor) -> dict[str, Any]:
    """What a version keeps of a vendor a process depends on."""
    return {"id": vendor.pk, "name": vendor.name, "recovery_minutes": vendor.recovery_minutes}


def plan_vendor_links(plan: Plan) -> list[ProcessVendor]:
    """The plan's process-vendor links with their vendors, by vendor name (one query)."""
    return list(ProcessVendor.objects.filter(process__plan_id=plan.pk).select_related("vendor")
                .order_by("vendor__name", "vendor_id"))


def vendors_by_process(links) -> dict[int, list[dict[str, Any]]]:
    """process id -> snapshots of the vendors it depends on (from `plan_vendor_links`; no query)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for link in links:
        out.setdefault(link.process_id, []).append(vendor_snapshot(link.vendor))
    return out


def snapshot_vendor_ids(content: dict[str, Any]) -> set[int]:
    """Ids of the vendors a content's processes name."""
    ids: set[int] = set()
    for process in (content or {}).get("processes") or []:
        if isinstance(process, dict):
            for vendor in process.get("vendors") or []:
                if isinstance(vendor, dict) and _minutes(vendor.get("id")) is not None:
                    ids.add(vendor["id"])
    return ids


def vendor_evidence(org_id, vendor_ids) -> dict[int, dt.date | None]:
    """vendor id -> the day of its last continuity evidence, for the organisation's vendors named (one query,
    none for no ids)."""
    ids = sorted(set(vendor_ids))
    if not ids or org_id is None:
        return {}
    return dict(Vendor.objects.filter(org_id=org_id, pk__in=ids).values_list("pk", "evidence_on"))


@dataclass(frozen=True)
class VendorFlag:
    """One warning about a vendor a process depends on."""

    kind: str  # "recovery_gap" or "stale_evidence"
    vendor_id: int
    vendor_name: str
    message: str
    process_id: int | None = None


def content_vendor_flags(content: dict[str, Any], *, evidence: dict[int, dt.date | None] | None,
                         today: dt.date) -> list[VendorFlag]:
    """The flags of the vendors a content's processes name: recovery gaps from the snapshot itself,
    stale evidence from `evidence` (vendor id -> evidence day; None leaves evidence out). No query."""
    flags: list[VendorFlag] = []
    seen_evidence: set[int] = set()
    processes = [p for p in (content or {}).get("processes") or [] if isinstance(p, dict)]
    for process in sorted(processes, key=lambda p: (str(p.get("name") or ""), _minutes(p.get("id")) or 0)):
        for vendor in process.get("vendors") or []:
            if not isinstance(vendor, dict):
                continue
            vendor_id, name = _minutes(vendor.get("id")), str(vendor.get("name") or "")
            if vendor_id is None:
                continue
            if recovery_gap(vendor.get("recovery_minutes"), process.get("rto_minutes")):
                flags.append(VendorFlag("recovery_gap", vendor_id, name, gap_text(
                    name, vendor["recovery_minutes"], str(process.get("name") or ""), process["rto_minutes"]),
                    process_id=_minutes(process.get("id"))))
            if evidence is not None and vendor_id in evidence and vendor_id not in seen_evidence:
                seen_evidence.add(vendor_id)
                text = evidence_text(evidence[vendor_id], today)
                if text:
                    flags.append(VendorFlag("stale_evidence", vendor_id, name, f"“{name}”: {text.lower()}"))
    return flags


# --- the plan page's vendors panel -------------------------------------------------------------


@dataclass
class PlanVendorRow:
    process_id: int
    process_name: str
    rto_minutes: int | None
    vendor: Vendor
    gap: bool
    evidence: str  # the evidence flag in words, "" when current

    @property
    def rto(self) -> str:
        return format_minutes(self.rto_minutes)

    @property
    def recovery(self) -> str:
        return format_minutes(self.vendor.recovery_minutes)


def plan_vendor_rows(processes: list[dict[str, Any]], links, *, today: dt.date) -> list[PlanVendorRow]:
    """The plan page's vendors panel: each live process's vendors with their flags (no query: `links` from
    `plan_vendor_links`, `processes` the live process snapshots)."""
    by_id = {p.get("id"): p for p in processes}
    rows = []
    for link in links:
        process = by_id.get(link.process_id)
        if process is None:
            continue
        rows.append(PlanVendorRow(
            process_id=link.process_id, process_name=str(process.get("name") or ""),
            rto_minutes=process.get("rto_minutes"), vendor=link.vendor,
            gap=recovery_gap(link.vendor.recovery_minutes, process.get("rto_minutes")),
            evidence=evidence_text(link.vendor.evidence_on, today),
        ))
    rows.sort(key=lambda r: (not r.gap, not r.evidence, r.process_name.lower(), r.vendor.name.lower()))
    return rows


# --- reads ---------------------------------------------------------------------------------------------


VENDOR_LIST_COLUMNS = ("id", "org_id", "name", "service", "criticality", "recovery_minutes", "evidence_on",
                       "updated_at_utc")
STALE, GAP = "stale", "gap"


def gap_exists() -> Exists:
    """Whether some process depending on the vendor has an RTO shorter than the vendor's committed recovery
    (a correlated subquery over idx_bc_process_vendor_vendor, per listed vendor)."""
    return Exists(ProcessVendor.objects.filter(
        vendor_id=OuterRef("pk"), process__rto_minutes__isnull=False,
        process__rto_minutes__lt=OuterRef("recovery_minutes")))


def vendor_list_queryset(org_id, *, search: str = "", criticality: str = "", flag: str = "",
                         today: dt.date | None = None) -> QuerySet:
    """An organisation's vendors for the vendor list; page it on (updated_at_utc, id) desc.

    Served by idx_bc_vendor_org_updated (idx_bc_vendor_org_crit with a criticality); stale evidence
    is a range of idx_bc_vendor_org_evidence (those vendors sorted); only the name search scans the
    organisation's vendors. Each listed vendor says whether a dependent process's RTO is shorter than
    its committed recovery (`has_gap`, a subquery per row of the page).
    """
    if org_id is None:
        return Vendor.objects.none()
    qs = Vendor.objects.filter(org_id=org_id).only(*VENDOR_LIST_COLUMNS).annotate(has_gap=gap_exists())
    if criticality in Vendor.Criticality.values:
        qs = qs.filter(criticality=criticality)
    if flag == STALE:
        qs = qs.filter(Q(evidence_on__isnull=True) | Q(evidence_on__lt=evidence_stale_before(
            today or timezone.localdate())))
    elif flag == GAP:
        qs = qs.filter(has_gap=True)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def vendors_for_org(org_id) -> QuerySet:
    """The organisation's vendors by name (a process form's choices; one query when evaluated)."""
    if org_id is None:
        return Vendor.objects.none()
    return Vendor.objects.filter(org_id=org_id).only("id", "name", "recovery_minutes").order_by("name", "id")


DEPENDENTS_SHOWN = 50


def vendor_dependents(vendor: Vendor) -> tuple[list[dict[str, Any]], int]:
    """The live processes that depend on `vendor` (shortest RTO first, so gaps lead; at most
    DEPENDENTS_SHOWN) with their plans and the gap flag, and how many there are (two queries)."""
    links = (ProcessVendor.objects.filter(vendor=vendor)
             .select_related("process__plan").only(
                 "id", "process__id", "process__name", "process__rto_minutes", "process__plan__id",
                 "process__plan__title", "process__plan__status")
             .order_by(F("process__rto_minutes").asc(nulls_last=True), "process__name", "id"))
    rows = [{
        "process": link.process, "plan": link.process.plan,
        "rto": format_minutes(link.process.rto_minutes),
        "gap": recovery_gap(vendor.recovery_minutes, link.process.rto_minutes),
    } for link in links[:DEPENDENTS_SHOWN]]
    total = len(rows) if len(rows) < DEPENDENTS_SHOWN else ProcessVendor.objects.filter(vendor=vendor).count()
    return rows, total


def get_vendor_for_user(user, vendor_id) -> Vendor:
    """The vendor if it belongs to the user's organisation, else 404 (one query)."""
    from django.http import Http404

    if not getattr(user, "is_authenticated", False):
        raise Http404("No such vendor.")
    try:
        return Vendor.objects.select_related("org").get(pk=vendor_id, org__memberships__user=user)
    except (Vendor.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No vendor with that number exists in your organisation.") from None


# --- writes --------------------------------------------------------------------------------------------


def _member_of(org: Organisation, actor) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ServiceError("You need to be logged in to do this.", code="anonymous")
    if not Membership.objects.filter(user_id=actor.pk, organisation_id=org.pk).exists():
        raise ServiceError("This vendor register belongs to another organisation.", code="other_organisation")


def _audit_value(value) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    clean = {field: values.get(field) for field in VENDOR_FIELDS}
    clean["name"] = " ".join(str(clean["name"] or "").split())
    if not clean["name"]:
        raise ServiceError("Give the vendor a name.", code="name_required")
    for field in ("service", "contacts", "contract_reference"):
        clean[field] = str(clean[field] or "").strip()
    minutes = clean["recovery_minutes"]
    if minutes is not None and (_minutes(minutes) is None or minutes < 0):
        raise ServiceError("The committed recovery time must be a duration of zero or more minutes.",
                           code="invalid_recovery")
    if clean["evidence_on"] is not None and not isinstance(clean["evidence_on"], dt.date):
        raise ServiceError("Give the day the last continuity evidence arrived.", code="invalid_date")
    if clean["criticality"] not in Vendor.Criticality.values:
        clean["criticality"] = Vendor.Criticality.MEDIUM
    return clean


def vendor_save(*, org: Organisation, actor, values: dict[str, Any], vendor_id: int | None = None) -> Vendor:
    """Add a vendor to the organisation's register (`vendor_id` None) or change one.

    The name must not be in the register already as compared by `vendor_name_key` ("ACME  gmbh" is
    "Acme GmbH"): refused naming the vendor that has it (the database's unique key refuses it too,
    should two people add it at once). Audits `vendor_added` / `vendor_changed` (organisation rows).
    """
    _member_of(org, actor)
    clean = _clean(values)
    key = vendor_name_key(clean["name"])
    if not key:
        raise ServiceError("Give the vendor a name with letters or digits.", code="name_required")
    if len(key) > NAME_KEY_MAX:
        raise ServiceError(f"A vendor's name is at most {NAME_KEY_MAX} characters.", code="name_too_long")
    now = timezone.now()
    try:
        with transaction.atomic():
            if vendor_id is None:
                vendor, changes = Vendor(org=org, created_at_utc=now), None
            else:
                vendor = Vendor.objects.select_for_update().filter(org=org, pk=vendor_id).first()
                if vendor is None:
                    raise ServiceError("This vendor no longer exists: someone removed it.", code="not_found")
                changes = {}
            same = Vendor.objects.filter(org=org, name_key=key).exclude(pk=vendor.pk).first()
            if same is not None:
                raise ServiceError(f"“{same.name}” is in the vendor register already; a name that differs only "
                                   "in capitals, accents or spaces is the same vendor.", code="duplicate_name")
            for field in VENDOR_FIELDS:
                old, new = getattr(vendor, field) if changes is not None else None, clean[field]
                if changes is not None and old != new:
                    changes[field] = [_audit_value(old), _audit_value(new)]
                setattr(vendor, field, new)
            if changes == {}:
                return vendor  # nothing changed: no new history, no audit row
            vendor.name_key, vendor.updated_at_utc = key, now
            vendor.save()
            from .services import audit_record  # plans.services imports this module

            if changes is None:
                audit_record(org=org, actor=actor, action="vendor_added", details={"vendor": vendor.name,
                                                                                   "id": vendor.pk})
            else:
                audit_record(org=org, actor=actor, action="vendor_changed",
                             details={"vendor": vendor.name, "id": vendor.pk, "changes": changes})
    except IntegrityError:
        raise ServiceError(f"“{clean['name']}” is in the vendor register already.", code="duplicate_name") from None
    return vendor


def vendor_delete(*, vendor: Vendor, actor) -> None:
    """Remove a vendor no process depends on any more; audits `vendor_removed`. Versions keep their snapshot."""
    from .services import audit_record  # plans.services imports this module

    with transaction.atomic():
        locked = Vendor.objects.select_for_update().select_related("org").filter(pk=vendor.pk).first()
        if locked is None:
            raise ServiceError("This vendor no longer exists: someone removed it.", code="not_found")
        _member_of(locked.org, actor)
        using = list(ProcessVendor.objects.filter(vendor=locked).select_related("process__plan")
                     .order_by("process__plan__title", "process__name")[:4])
        if using:
            names = ", ".join(f"“{link.process.name}” ({link.process.plan.title})" for link in using[:3])
            more = " and others" if len(using) > 3 else ""
            raise ServiceError(f"“{locked.name}” is still a dependency of {names}{more}. Remove it from those "
                               "processes first.", code="in_use")
        audit_record(org=locked.org, actor=actor, action="vendor_removed",
                     details={"vendor": locked.name, "id": locked.pk})
        locked.delete()


def process_vendors_set(*, process, vendors, org_id) -> tuple[list[str], list[str]] | None:
    """Make `vendors` the vendors `process` depends on (inside the caller's transaction).

    Returns the names before and after when they differ (for the audit row), else None. Every
    vendor must be of the plan's organisation. Links are added and removed with save()/delete(),
    so model history records them.
    """
    wanted = {v.pk: v for v in vendors}
    if wanted and Vendor.objects.filter(pk__in=wanted).exclude(org_id=org_id).exists():
        raise ServiceError("A vendor chosen belongs to another organisation.", code="other_organisation")
    current = {link.vendor_id: link for link in ProcessVendor.objects.filter(process=process).select_related("vendor")}
    if set(current) == set(wanted):
        return None
    before = sorted(link.vendor.name for link in current.values())
    for vendor_id, link in current.items():
        if vendor_id not in wanted:
            link.delete()
    for vendor_id, vendor in wanted.items():
        if vendor_id not in current:
            ProcessVendor.objects.create(process=process, vendor=vendor)
    return before, sorted(Vendor.objects.filter(pk__in=wanted).values_list("name", flat=True))
