"""The schema is fully described by migrations and carries the specification's names."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

SPEC_TABLES = {
    "bc_plan", "bc_plan_version", "bc_template", "bc_section_definition", "bc_contact", "bc_process", "bc_risk",
    "bc_attachment", "bc_review", "bc_ack", "bc_audit", "bc_change_log_map",
}
SPEC_INDEXES = {
    "bc_plan": {"idx_bc_plan_org_status", "idx_bc_plan_status_updated", "idx_bc_plan_template", "idx_bc_plan_owner"},
    "bc_template": {"idx_bc_template_default"},
    "bc_risk": {"idx_bc_risk_rating", "idx_bc_risk_owner"},
    "bc_review": {"idx_bc_review_reviewer", "idx_bc_review_status"},
    "bc_ack": {"idx_bc_ack_plan_user"},
    "bc_audit": {"idx_bc_audit_action", "idx_bc_audit_at"},
    "bc_change_log_map": {"idx_bc_change_log_guid"},
}
SPEC_COLUMNS = {
    "bc_plan": {"id", "org_id", "title", "status", "template_id", "current_version_id", "owner_user_id",
                "approved_at_utc", "created_at", "updated_at"},
    "bc_plan_version": {"id", "plan_id", "version_number", "status", "authored_by_user_id", "authored_at_utc",
                        "summary_change_note", "content_json", "docx_export_hash", "pdf_export_hash"},
    "bc_template": {"id", "name", "version", "is_default", "schema_json", "created_at", "updated_at"},
    "bc_section_definition": {"id", "template_id", "key", "title", "order_index", "schema_json"},
    "bc_contact": {"id", "plan_id", "name", "role", "phone", "email", "notes"},
    "bc_process": {"id", "plan_id", "name", "description", "rto_minutes", "rpo_minutes", "mtpd_minutes",
                   "impact_rating", "dependencies_json"},
    "bc_risk": {"id", "plan_id", "threat", "likelihood", "impact", "rating", "mitigation", "owner_user_id"},
    "bc_attachment": {"id", "plan_id", "file_name", "storage_path", "content_type", "size_bytes",
                      "uploaded_by_user_id", "uploaded_at_utc", "hash"},
    "bc_review": {"id", "plan_id", "requested_by_user_id", "reviewer_user_id", "status", "requested_at_utc",
                  "decided_at_utc", "notes"},
    "bc_ack": {"id", "plan_id", "user_id", "ack_at_utc", "ack_version_number"},
    "bc_audit": {"id", "plan_id", "action", "actor_user_id", "details_json", "at_utc"},
    "bc_change_log_map": {"id", "plan_id", "change_guid", "imported_at_utc"},
}
SPEC_CONSTRAINTS = {
    "bc_plan_version": {"ck_version_number_positive"},
    "bc_process": {"ck_rto_non_negative", "ck_rpo_non_negative", "ck_mtpd_non_negative"},
    "bc_attachment": {"ck_size_non_negative"},
}


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_schema_has_every_spec_name():
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        assert SPEC_TABLES <= tables
        for table, columns in SPEC_COLUMNS.items():
            found = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert columns <= found, (table, columns - found)
        for table, names in {**SPEC_INDEXES, **SPEC_CONSTRAINTS}.items():
            found = set(connection.introspection.get_constraints(cursor, table))
            assert names <= found, (table, names - found)


def test_migrations_apply_from_zero_and_back(empty_database):
    call_command("migrate", verbosity=0)
    assert "bc_plan" in connection.introspection.table_names()
    call_command("migrate", "plans", "zero", verbosity=0)
    assert "bc_plan" not in connection.introspection.table_names()


def test_audit_rows_written_before_0002_get_their_plans_organisation(empty_database):
    before, after = [("plans", "0001_initial")], [("plans", "0002_audit_org")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    org = old.get_model("plans", "Organisation").objects.create(name="Acme")
    user = old.get_model("auth", "User").objects.create(username="old-owner")
    template = old.get_model("templates_app", "Template").objects.create(name="Old template")
    Plan, Audit = old.get_model("plans", "Plan"), old.get_model("plans", "Audit")
    plan = Plan.objects.create(org=org, title="Old plan", template=template, owner_user=user)
    orphan = Plan.objects.create(org=None, title="No organisation", template=template, owner_user=user)
    row = Audit.objects.create(plan=plan, action="plan_created", at_utc=timezone.now())
    stray = Audit.objects.create(plan=orphan, action="plan_created", at_utc=timezone.now())

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("plans", "Audit")
    assert new.objects.get(pk=row.pk).org_id == org.pk
    assert new.objects.get(pk=stray.pk).org_id is None  # a plan without organisation: superusers only

