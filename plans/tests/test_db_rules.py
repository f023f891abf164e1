"""Rules the database itself enforces, whatever code writes the row (run on SQLite and MariaDB)."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from plans.models import Attachment, Audit, ChangeLogMap, Contact, Plan, PlanVersion, Process, Risk
from reviews.models import Ack, Review
from templates_app.models import SectionDefinition, Template

pytestmark = pytest.mark.django_db(transaction=False)

HASH = "a" * 64


def raw_update(table: str, column: str, value, pk: int) -> None:
    """Write straight to the table, past every Python-side check."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])


def assert_refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_plan_status_outside_enum_is_refused(plan):
    assert_refused(lambda: raw_update("bc_plan", "status", "published", plan.pk))
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_version_status_outside_enum_is_refused(plan):
    assert_refused(lambda: raw_update("bc_plan_version", "status", "draft", plan.current_version.pk))


def test_review_status_outside_enum_is_refused(plan, owner, reviewer):
    review = Review.objects.create(
        plan=plan, version=plan.current_version, requested_by_user=owner, reviewer_user=reviewer,
        requested_at_utc=timezone.now(),
    )
    assert_refused(lambda: raw_update("bc_review", "status", "maybe", review.pk))


@pytest.mark.parametrize("number", [0, -1])
def test_version_number_must_be_positive(plan, owner, number):
    assert_refused(lambda: PlanVersion.objects.create(
        plan=plan, template=plan.template, version_number=number, status=PlanVersion.Status.SUPERSEDED,
        authored_by_user=owner, authored_at_utc=timezone.now(),
    ))


def test_version_number_unique_per_plan(plan, owner):
    assert_refused(lambda: PlanVersion.objects.create(
        plan=plan, template=plan.template, version_number=1, status=PlanVersion.Status.SUPERSEDED,
        authored_by_user=owner, authored_at_utc=timezone.now(),
    ))


def test_same_version_number_allowed_on_another_plan(plan, org, owner, template):
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template)
    assert other.current_version.version_number == plan.current_version.version_number == 1


def test_at_most_one_active_version_per_plan(plan, owner):
    assert plan.current_version.status == PlanVersion.Status.ACTIVE
    assert_refused(lambda: PlanVersion.objects.create(
        plan=plan, template=plan.template, version_number=2, status=PlanVersion.Status.ACTIVE,
        authored_by_user=owner, authored_at_utc=timezone.now(),
    ))
    # Superseded versions are unlimited.
    for n in (2, 3):
        PlanVersion.objects.create(
            plan=plan, template=plan.template, version_number=n, status=PlanVersion.Status.SUPERSEDED,
            authored_by_user=owner, authored_at_utc=timezone.now(),
        )
    assert plan.versions.count() == 3


@pytest.mark.parametrize("column", ["rto_minutes", "rpo_minutes", "mtpd_minutes"])
def test_recovery_objectives_non_negative(plan, column):
    assert_refused(lambda: Process.objects.create(plan=plan, name="Payroll", **{column: -5}))


def test_rto_may_not_exceed_mtpd(plan):
    assert_refused(lambda: Process.objects.create(plan=plan, name="Payroll", rto_minutes=500, mtpd_minutes=480))
    ok = Process.objects.create(plan=plan, name="Payroll", rto_minutes=480, mtpd_minutes=480)
    only_rto = Process.objects.create(plan=plan, name="Email", rto_minutes=5000)
    assert ok.pk and only_rto.pk


def test_attachment_size_non_negative_and_hash_hex(plan, owner):
    def attach(**overrides):
        values = dict(
            plan=plan, file_name="a.pdf", storage_path=f"attachments/{uuid.uuid4()}", content_type="application/pdf",
            size_bytes=10, uploaded_by_user=owner, uploaded_at_utc=timezone.now(), hash=HASH,
        )
        values.update(overrides)
        return Attachment.objects.create(**values)

    assert_refused(lambda: attach(size_bytes=-1))
    assert_refused(lambda: attach(hash="not-a-hash"))
    assert_refused(lambda: attach(hash="A" * 64))
    assert_refused(lambda: attach(hash="a" * 63))
    assert attach().pk


def test_export_hashes_are_hex_or_empty(plan):
    version = plan.current_version
    assert_refused(lambda: raw_update("bc_plan_version", "pdf_export_hash", "xyz", version.pk))
    assert_refused(lambda: raw_update("bc_plan_version", "docx_export_hash", "g" * 64, version.pk))
    raw_update("bc_plan_version", "pdf_export_hash", HASH, version.pk)
    version.refresh_from_db()
    assert version.pdf_export_hash == HASH


def test_change_guid_unique_per_plan(plan, org, owner, template):
    guid = str(uuid.uuid4())
    ChangeLogMap.objects.create(plan=plan, change_guid=guid, imported_at_utc=timezone.now())
    assert_refused(lambda: ChangeLogMap.objects.create(plan=plan, change_guid=guid, imported_at_utc=timezone.now()))
    from bcp_site.testing import make_plan

    other = make_plan(org, owner, template=template)
    assert ChangeLogMap.objects.create(plan=other, change_guid=guid, imported_at_utc=timezone.now()).pk


def test_only_one_default_template(db):
    Template.objects.filter(is_default=True).update(is_default=False)
    Template.objects.create(name="A", is_default=True)
    Template.objects.create(name="B", is_default=False)
    Template.objects.create(name="C", is_default=False)
    assert_refused(lambda: Template.objects.create(name="D", is_default=True))


def test_ack_unique_per_user_and_version(plan, member):
    Ack.objects.create(plan=plan, user=member, ack_at_utc=timezone.now(), ack_version_number=1)
    assert_refused(lambda: Ack.objects.create(plan=plan, user=member, ack_at_utc=timezone.now(), ack_version_number=1))
    assert Ack.objects.create(plan=plan, user=member, ack_at_utc=timezone.now(), ack_version_number=2).pk


def test_children_cascade_on_plan_delete(plan, owner, member, reviewer):
    Contact.objects.create(plan=plan, name="Jo")
    Process.objects.create(plan=plan, name="Payroll")
    Risk.objects.create(plan=plan, threat="Flood", likelihood="likely", impact="major", rating="high")
    Attachment.objects.create(
        plan=plan, file_name="a.pdf", storage_path="attachments/x", content_type="application/pdf", size_bytes=1,
        uploaded_by_user=owner, uploaded_at_utc=timezone.now(), hash=HASH,
    )
    Review.objects.create(
        plan=plan, version=plan.current_version, requested_by_user=owner, reviewer_user=reviewer,
        requested_at_utc=timezone.now(),
    )
    Ack.objects.create(plan=plan, user=member, ack_at_utc=timezone.now(), ack_version_number=1)
    ChangeLogMap.objects.create(plan=plan, change_guid=str(uuid.uuid4()), imported_at_utc=timezone.now())
    assert Audit.objects.filter(plan=plan).exists()

    pk = plan.pk
    plan.delete()
    for model in (PlanVersion, Contact, Process, Risk, Attachment, Review, Ack, ChangeLogMap, Audit):
        assert not model.objects.filter(plan_id=pk).exists(), model.__name__


def test_template_in_use_cannot_be_deleted(plan, template):
    with pytest.raises(ProtectedError):
        template.delete()
    assert Template.objects.filter(pk=template.pk).exists()


def test_unused_template_deletes_with_its_sections(db):
    template = Template.objects.create(name="Unused")
    SectionDefinition.objects.create(template=template, key="overview", title="Overview")
    template.delete()
    assert not SectionDefinition.objects.filter(key="overview", template_id=template.pk).exists()
