"""Resources a plan's recovery needs: snapshots, the quantities as people type them, and the writes.

A resource is plan content like a contact or a process: it is edited under the same edit lock and
conflict rule (`plans.services._lock_for_edit`: the plan row locked, a stale form refused, an
approved plan starting a new revision), bumps the plan's `edit_revision`, leaves an audit row
(`resource_added`, `resource_changed`, `resource_removed`) and is frozen into every version's
`content_json["resources"]`. A version written before resources were kept has no such key: its
pages and exports say "not recorded".

Quantities are typed one per line as "<after>: <quantity>", the time as a duration ("0", "4h",
"1d") and the quantity a whole number, e.g.::

    0: 2
    4h: 10
    1d: 25
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Prefetch

from bcp_site.errors import ServiceError
from templates_app.values import format_duration_input, format_minutes, parse_duration

from .models import Plan
from .vendor_models import Resource, ResourceQuantity

RESOURCE_FIELDS = ("kind", "name", "process", "primary_source", "alternate_source", "notes")
MAX_QUANTITIES = 50
MAX_QUANTITY = 2_000_000_000  # the INT column
_LINE = re.compile(r"^(?P<after>[^:=]+?)\s*[:=]\s*(?P<quantity>\S.*)$")
KIND_LABELS = dict(Resource.Kind.choices)


# --- quantities as text ------------------------------------------------------------------------------


def quantities_parse(text: str) -> list[tuple[int, int]]:
    """Lines "<after>: <quantity>" as (minutes, quantity) pairs sorted by time.

    Raises ValueError naming the line for anything else: a time that is not a duration, a
    quantity that is not a whole number of zero or more, the same time twice, too many lines.
    """
    pairs: dict[int, int] = {}
    lines = [(number, line.strip()) for number, line in enumerate(str(text or "").splitlines(), 1) if line.strip()]
    if len(lines) > MAX_QUANTITIES:
        raise ValueError(f"At most {MAX_QUANTITIES} lines.")
    for number, line in lines:
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f'Line {number} (“{line[:60]}”): write the time and the quantity as "4h: 10".')
        try:
            after = parse_duration(match["after"].strip())
        except ValueError as error:
            raise ValueError(f"Line {number}: {error}") from None
        quantity_text = match["quantity"].strip()
        if not re.fullmatch(r"\d{1,10}", quantity_text) or int(quantity_text) > MAX_QUANTITY:
            raise ValueError(f"Line {number}: the quantity must be a whole number of zero or more, "
                             f"not “{quantity_text[:30]}”.")
        if after in pairs:
            raise ValueError(f"Line {number}: {format_minutes(after)} is listed twice; give each time once.")
        pairs[after] = int(quantity_text)
    return sorted(pairs.items())


def quantities_text(quantities) -> str:
    """(minutes, quantity) pairs, or snapshot dicts, as the form shows them ("4h: 10" per line)."""
    return "\n".join(f"{format_duration_input(after)}: {quantity}" for after, quantity in _pairs(quantities))


def quantities_display(quantities) -> str:
    """As people read them: "from the start: 2; after 4 h: 10"."""
    parts = []
    for after, quantity in _pairs(quantities):
        when = "from the start" if after == 0 else f"after {format_minutes(after)}"
        parts.append(f"{when}: {quantity}")
    return "; ".join(parts)


def _pairs(quantities) -> list[tuple[int, int]]:
    pairs = []
    for item in quantities or []:
        if isinstance(item, dict):
            after, quantity = item.get("after_minutes"), item.get("quantity")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            after, quantity = item
        else:
            after, quantity = item.after_minutes, item.quantity
        if isinstance(after, int) and isinstance(quantity, int):
            pairs.append((after, quantity))
    return sorted(pairs)


# --- snapshots ---------------------------------------------------------------------------------------


def resource_snapshot(resource: Resource) -> dict[str, Any]:
    """A resource as a version keeps it (its quantities and process read from what the caller loaded)."""
    process = resource.process if resource.process_id else None
    return {
        "id": resource.pk,
        "kind": resource.kind,
        "name": resource.name,
        "process_id": resource.process_id,
        "process": process.name if process is not None else "",
        "primary_source": resource.primary_source,
        "alternate_source": resource.alternate_source,
        "notes": resource.notes,
        "quantities": [{"after_minutes": q.after_minutes, "quantity": q.quantity}
                       for q in sorted(resource.quantities.all(), key=lambda q: q.after_minutes)],
    }


def plan_resources(plan: Plan) -> list[dict[str, Any]]:
    """The plan's live resources as snapshots, by name (two queries: resources with their process, quantities)."""
    rows = (Resource.objects.filter(plan_id=plan.pk).select_related("process")
            .prefetch_related(Prefetch("quantities", queryset=ResourceQuantity.objects.order_by("after_minutes")))
            .order_by("name", "id"))
    return [resource_snapshot(resource) for resource in rows]


# --- writes --------------------------------------------------------------------------------------------


def _quantities_set(resource: Resource, wanted: list[tuple[int, int]]) -> bool:
    """Make `wanted` the resource's quantities (save()/delete(): history records each row); True if changed."""
    current = {q.after_minutes: q for q in resource.quantities.all()}
    target = dict(wanted)
    changed = False
    for after, row in current.items():
        if after not in target:
            row.delete()
            changed = True
        elif row.quantity != target[after]:
            row.quantity = target[after]
            row.save(update_fields=["quantity"])
            changed = True
    for after, quantity in target.items():
        if after not in current:
            ResourceQuantity.objects.create(resource=resource, after_minutes=after, quantity=quantity)
            changed = True
    return changed


def _clean_quantities(quantities) -> list[tuple[int, int]]:
    pairs = []
    for after, quantity in quantities:
        if not (isinstance(after, int) and isinstance(quantity, int)) or after < 0 or quantity < 0:
            raise ServiceError("Each quantity needs a time of zero or more minutes and a quantity of zero or more.",
                               code="invalid_quantity")
        pairs.append((after, quantity))
    if len({after for after, _ in pairs}) != len(pairs):
        raise ServiceError("Give each time once in the quantities.", code="duplicate_time")
    if len(pairs) > MAX_QUANTITIES:
        raise ServiceError(f"A resource has at most {MAX_QUANTITIES} quantities.", code="too_many_quantities")
    return sorted(pairs)


def resource_save(*, plan: Plan, actor, expected_revision: int | None, values: dict[str, Any],
                  resource_id: int | None = None) -> Resource:
    """Add a resource (`resource_id` None) or change one, with its quantities; audit `resource_added` /
    `resource_changed`.

    `values` holds RESOURCE_FIELDS and `quantities` ((minutes, quantity) pairs; missing: unchanged).
    The process, if any, must be one of the plan's. Same lock, conflict and edit rules as contacts.
    """
    from .services import _audit_value, _bump, _lock_for_edit, audit_record  # plans.services imports this module

    kind = values.get("kind")
    if kind not in Resource.Kind.values:
        raise ServiceError("Choose what kind of resource this is.", code="invalid_kind")
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise ServiceError("Give the resource a name.", code="name_required")
    quantities = values.get("quantities")
    quantities = _clean_quantities(quantities) if quantities is not None else None
    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        process = values.get("process")
        if process is not None and process.plan_id != locked.pk:
            raise ServiceError("Choose one of this plan's critical processes.", code="other_plan")
        if resource_id is None:
            row, changes = Resource(plan=locked), None
        else:
            row = Resource.objects.filter(plan=locked, pk=resource_id).select_related("process").first()
            if row is None:
                raise ServiceError("This resource no longer exists: someone removed it.", code="not_found")
            changes = {}
        clean = {"kind": kind, "name": name, "process": process,
                 **{f: str(values.get(f) or "").strip() for f in ("primary_source", "alternate_source", "notes")}}
        for field in RESOURCE_FIELDS:
            old = getattr(row, field) if changes is not None else None
            if changes is not None and old != clean[field]:
                changes[field] = [_audit_value(old), _audit_value(clean[field])]
            setattr(row, field, clean[field])
        before = quantities_display(row.quantities.all()) if changes is not None else ""
        row.save()
        if quantities is not None and _quantities_set(row, quantities) and changes is not None:
            changes["quantities"] = [before or None, quantities_display(quantities) or None]
        _bump(locked, plan)
        if changes is None:
            audit_record(plan=locked, actor=actor, action="resource_added",
                         details={"resource": row.name, "id": row.pk})
        else:
            audit_record(plan=locked, actor=actor, action="resource_changed",
                         details={"resource": row.name, "id": row.pk, "changes": changes})
    return row


def resource_delete(*, plan: Plan, actor, expected_revision: int | None, resource_id: int) -> None:
    """Remove a resource (and its quantities) from the working copy; audit `resource_removed`."""
    from .services import _bump, _lock_for_edit, audit_record  # plans.services imports this module

    with transaction.atomic():
        locked = _lock_for_edit(plan=plan, actor=actor, expected_revision=expected_revision)
        row = Resource.objects.filter(plan=locked, pk=resource_id).first()
        if row is None:
            raise ServiceError("This resource no longer exists: someone removed it.", code="not_found")
        name = row.name
        for quantity in row.quantities.all():
            quantity.delete()  # one by one: history records each
        row.delete()
        _bump(locked, plan)
        audit_record(plan=locked, actor=actor, action="resource_removed", details={"resource": name, "id": resource_id})


def resource_rows(resources: list[dict[str, Any]], *, links=None) -> list[dict[str, Any]]:
    """Resource snapshots as the tables show them: kind's label, the quantities in words (no query).
    `links` (a `plans.plan_display._RowUrls`) adds the edit and remove links."""
    return [{
        **r, "kind_label": KIND_LABELS.get(r.get("kind"), r.get("kind") or ""),
        "quantities_label": quantities_display(r.get("quantities")),
        **(links.urls(r.get("id")) if links is not None else {}),
    } for r in resources if isinstance(r, dict)]
