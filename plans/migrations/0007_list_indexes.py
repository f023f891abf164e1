# Indexes that match the lists' filters, order and keyset cursor: every list query
# filters on the leading columns and orders by the rest, so no list sorts an organisation's rows.
# Operations are written by hand (not by makemigrations, which would sweep other pending model
# changes into this file). Order matters on MariaDB: an index that a foreign key relies on is only
# dropped once another index starts with the same column, so no extra foreign-key index appears.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("plans", "0006_version_approval_fill")]

    operations = [
        # bc_plan: the plan list, plain and filtered by status or owner.
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["org", "updated_at", "id"], name="idx_bc_plan_org_updated"),
        ),
        migrations.RemoveIndex(model_name="plan", name="idx_bc_plan_org_status"),
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["org", "status", "updated_at", "id"], name="idx_bc_plan_org_status"),
        ),
        migrations.RenameIndex(model_name="plan", new_name="idx_bc_plan_owner_old", old_name="idx_bc_plan_owner"),
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["owner_user", "updated_at", "id"], name="idx_bc_plan_owner"),
        ),
        migrations.RemoveIndex(model_name="plan", name="idx_bc_plan_owner_old"),
        # bc_plan in the admin: a superuser's list across organisations, and filtered by template.
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["updated_at", "id"], name="idx_bc_plan_updated"),
        ),
        migrations.RenameIndex(
            model_name="plan", new_name="idx_bc_plan_template_old", old_name="idx_bc_plan_template"
        ),
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["template", "updated_at", "id"], name="idx_bc_plan_template"),
        ),
        migrations.RemoveIndex(model_name="plan", name="idx_bc_plan_template_old"),
        # bc_audit: the organisation and plan audit pages, plain and filtered by action or actor.
        migrations.AddIndex(
            model_name="audit",
            index=models.Index(fields=["org", "action", "at_utc", "id"], name="idx_bc_audit_org_action_at"),
        ),
        migrations.RemoveIndex(model_name="audit", name="idx_bc_audit_org_at"),
        migrations.AddIndex(
            model_name="audit",
            index=models.Index(fields=["org", "at_utc", "id"], name="idx_bc_audit_org_at"),
        ),
        migrations.AddIndex(
            model_name="audit",
            index=models.Index(fields=["plan", "at_utc", "id"], name="idx_bc_audit_plan_at"),
        ),
        migrations.AddIndex(
            model_name="audit",
            index=models.Index(fields=["actor_user", "at_utc", "id"], name="idx_bc_audit_actor_at"),
        ),
    ]
