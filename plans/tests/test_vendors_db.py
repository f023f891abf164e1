"""Database rules of the resource, vendor and collaborator tables, on SQLite and MariaDB alike.

Rows are written directly (not through the services), so each rule is shown to hold in the database
itself: whatever code writes the row, the database refuses what breaks it.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import RestrictedError
from django.utils import timezone

from bcp_site.testing import make_user
from plans.models import Notification, Organisation, Process
from plans.vendor_models import PlanCollaborator, ProcessVendor, Resource, ResourceQuantity, Vendor
from plans.vendors import vendor_name_key

from .vendor_support import add_vendor

pytestmark = pytest.mark.django_db

NAMES = ("Acme GmbH", "ACME  gmbh", "Açme GmbH")


def vendor_row(org, name, *, key=None, **extra) -> Vendor:
    now = timezone.now()
    return Vendor.objects.create(org=org, name=name, name_key=vendor_name_key(name) if key is None else key,
                                 created_at_utc=now, updated_at_utc=now, **extra)


def refused(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_the_three_spellings_of_one_vendor_have_one_key():
    assert {vendor_name_key(name) for name in NAMES} == {"acme gmbh"}
    assert vendor_name_key("  Zürich\u200b  Versicherung ") == "zurich versicherung"
    assert vendor_name_key("Æther Straße") == "aether strasse"
    assert vendor_name_key("Acme Ltd") != vendor_name_key("Acme GmbH")


@pytest.mark.parametrize("second", NAMES[1:])
def test_the_database_refuses_a_second_row_with_the_same_key(org, second):
    vendor_row(org, NAMES[0])
    refused(lambda: vendor_row(org, second))
    assert Vendor.objects.filter(org=org).count() == 1


def test_the_same_name_in_another_organisation_is_another_vendor(org, other_org):
    vendor_row(org, "Acme GmbH")
    vendor_row(other_org, "ACME  gmbh")
    assert Vendor.objects.filter(name_key="acme gmbh").count() == 2


def test_the_key_column_does_not_fold_case_or_accents_itself(org):
    """MariaDB's default collation would take these keys for one: the column compares them as written, so the
    key alone decides, and both databases accept the same rows."""
    for key in ("acme", "ACME", "açme", "acmé"):
        vendor_row(org, f"Vendor {key}", key=key)
    assert Vendor.objects.filter(org=org).count() == 4


def test_the_service_refuses_each_other_spelling_naming_the_vendor_kept(org, bcp_admin):
    from plans.services import ServiceError

    add_vendor(org, bcp_admin, NAMES[0])
    for name in NAMES[1:]:
        with pytest.raises(ServiceError) as refusal:
            add_vendor(org, bcp_admin, name)
        assert refusal.value.code == "duplicate_name"
        assert "“Acme GmbH” is in the vendor register already" in refusal.value.message
    assert list(Vendor.objects.filter(org=org).values_list("name", flat=True)) == ["Acme GmbH"]


@pytest.mark.parametrize(("field", "value"), [("recovery_minutes", -1), ("criticality", "extreme")])
def test_vendor_values_the_database_refuses(org, field, value):
    refused(lambda: vendor_row(org, "Acme GmbH", **{field: value}))


def test_a_vendor_needs_a_key(org):
    refused(lambda: vendor_row(org, "Acme GmbH", key=""))


def test_resource_rules(plan):
    refused(lambda: Resource.objects.create(plan=plan, kind="spaceship", name="Shuttle"))
    refused(lambda: Resource.objects.create(plan=plan, kind=Resource.Kind.PEOPLE, name=""))
    resource = Resource.objects.create(plan=plan, kind=Resource.Kind.PEOPLE, name="Call handlers")
    ResourceQuantity.objects.create(resource=resource, after_minutes=0, quantity=0)  # zero is a quantity
    refused(lambda: ResourceQuantity.objects.create(resource=resource, after_minutes=0, quantity=4))
    refused(lambda: ResourceQuantity.objects.create(resource=resource, after_minutes=-1, quantity=4))
    refused(lambda: ResourceQuantity.objects.create(resource=resource, after_minutes=60, quantity=-1))
    ResourceQuantity.objects.create(resource=resource, after_minutes=60, quantity=4)
    assert resource.quantities.count() == 2


def test_a_resource_outlives_its_process_and_goes_with_its_plan(plan):
    process = plan.processes.get()
    resource = Resource.objects.create(plan=plan, process=process, kind=Resource.Kind.IT_SYSTEM, name="CRM")
    ResourceQuantity.objects.create(resource=resource, after_minutes=0, quantity=1)
    process.delete()
    resource.refresh_from_db()
    assert resource.process_id is None
    plan.delete()
    assert not Resource.objects.exists() and not ResourceQuantity.objects.exists()


def test_a_vendor_a_process_depends_on_is_not_deleted_alone(plan, org):
    vendor = vendor_row(org, "Acme GmbH")
    process = plan.processes.get()
    ProcessVendor.objects.create(process=process, vendor=vendor)
    refused(lambda: ProcessVendor.objects.create(process=process, vendor=vendor))
    with pytest.raises(RestrictedError):
        vendor.delete()
    process.delete()  # the link goes with its process
    vendor.delete()
    assert not Vendor.objects.exists()


def test_an_organisation_deleted_takes_its_vendors_and_links(plan, org):
    ProcessVendor.objects.create(process=plan.processes.get(), vendor=vendor_row(org, "Acme GmbH"))
    Organisation.objects.filter(pk=org.pk).delete()
    assert not Vendor.objects.exists() and not ProcessVendor.objects.exists()


def test_collaborator_rules(plan, editor):
    now = timezone.now()
    PlanCollaborator.objects.create(plan=plan, user=editor, role=PlanCollaborator.Role.CO_AUTHOR, added_at_utc=now)
    refused(lambda: PlanCollaborator.objects.create(plan=plan, user=editor, role=PlanCollaborator.Role.CO_AUTHOR,
                                                    added_at_utc=now))
    refused(lambda: PlanCollaborator.objects.create(plan=plan, user=editor, role="boss", added_at_utc=now))
    # Another role of the same person is another row.
    PlanCollaborator.objects.create(plan=plan, user=editor, role=PlanCollaborator.Role.DEFAULT_REVIEWER,
                                    added_at_utc=now)
    assert plan.collaborators.count() == 2


def test_the_outbox_accepts_the_new_kinds_and_nothing_else(org):
    person = make_user(org, username="reader")
    now = timezone.now()

    def notification(kind):
        return Notification.objects.create(recipient_user=person, to_address=person.email, kind=kind, org=org,
                                           next_attempt_at_utc=now, created_at_utc=now)

    for kind in (Notification.Kind.SECTION_CHANGED, Notification.Kind.REVIEW_DUE):
        notification(kind)
    refused(lambda: notification("gossip"))


def test_a_process_deleted_leaves_no_link(plan, org):
    vendor = vendor_row(org, "Acme GmbH")
    process = Process.objects.create(plan=plan, name="Billing", rto_minutes=60, mtpd_minutes=120)
    ProcessVendor.objects.create(process=process, vendor=vendor)
    process.delete()
    assert not ProcessVendor.objects.exists()
