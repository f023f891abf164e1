"""Helpers shared by the resource, vendor and collaborator tests (plans/tests/test_resources*.py,
test_vendors*.py, test_collaborators*.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from plans.models import Process
from plans.resources import resource_save
from plans.services import process_save
from plans.vendors import vendor_save


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def add_vendor(org, actor, name: str, *, recovery: int | None = 120, evidence_days: int | None = 30,
               criticality: str = "high", **values):
    """A vendor of `org`'s register through the service; evidence received `evidence_days` days ago."""
    return vendor_save(org=org, actor=actor, values={
        "name": name, "service": values.pop("service", "Hosting"), "contacts": values.pop("contacts", ""),
        "contract_reference": values.pop("contract_reference", ""), "recovery_minutes": recovery,
        "evidence_on": days_ago(evidence_days) if evidence_days is not None else None, "criticality": criticality,
        **values,
    })


def link_vendors(plan, actor, vendors, *, process=None):
    """Make the plan's process (default: "Customer service", RTO 4 h, from make_ready) depend on `vendors`."""
    process = process or plan.processes.get(name="Customer service")
    return process_save(plan=plan, actor=actor, expected_revision=None, values={"vendors": list(vendors)},
                        process_id=process.pk)


def add_resource(plan, actor, name: str = "Laptops", *, kind: str = "equipment", process: Process | None = None,
                 quantities=((0, 2), (240, 10)), **values):
    return resource_save(plan=plan, actor=actor, expected_revision=None, values={
        "kind": kind, "name": name, "process": process, "primary_source": values.pop("primary_source", "IT store"),
        "alternate_source": values.pop("alternate_source", "Rental partner"), "notes": values.pop("notes", ""),
        "quantities": list(quantities), **values,
    })
