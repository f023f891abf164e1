# Issued files (decision 2): bc_issued_file records every file the product issues, append-only;
# bc_issued_file_request is the "being prepared" marker that makes concurrent first downloads share one
# render task. The export hashes recorded on bc_plan_version so far move into bc_issued_file, and every
# BCP group may view issued files (as they view attachments).
# Operations are written by hand (not by makemigrations, which would sweep other pending model changes
# into this file).
import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

KIND_BY_FORMAT = {"pdf": "plan_pdf", "docx": "plan_docx"}
GROUPS = ("BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin")


def _stored_size(path: str) -> int:
    from django.core.files.storage import default_storage

    try:
        return default_storage.size(path)
    except Exception:  # noqa: BLE001 - a missing file: the row still records its hash
        return 0


def copy_version_export_hashes(apps, schema_editor):
    """One issued-file row per export hash recorded on a version.

    The marking is what the file's cover says: approved when the version had been approved
    (the approval replaced the draft copy and its hash), draft otherwise. When and by whom it
    was issued comes from the newest `export_created` audit row with that hash, else the
    version's approval or authoring time.
    """
    PlanVersion = apps.get_model("plans", "PlanVersion")
    IssuedFile = apps.get_model("plans", "IssuedFile")
    Audit = apps.get_model("plans", "Audit")
    db = schema_editor.connection.alias

    versions = (PlanVersion.objects.using(db).exclude(pdf_export_hash="", docx_export_hash="")
                .select_related("plan").order_by("pk"))
    if not versions.exists():
        return
    issued_by = {}
    for at_utc, actor_id, details in (Audit.objects.using(db).filter(action="export_created")
                                      .order_by("at_utc", "pk").values_list("at_utc", "actor_user_id", "details_json")
                                      .iterator()):
        digest = (details or {}).get("sha256") if isinstance(details, dict) else None
        if digest:
            issued_by[digest] = (at_utc, actor_id)
    rows = []
    for version in versions.iterator():
        for export_format, kind in KIND_BY_FORMAT.items():
            digest = getattr(version, f"{export_format}_export_hash")
            path = getattr(version, f"{export_format}_export_path")
            if not digest:
                continue
            at_utc, actor_id = issued_by.get(digest, (version.approved_at_utc or version.authored_at_utc, None))
            rows.append(IssuedFile(
                kind=kind, org_id=version.plan.org_id, plan_id=version.plan_id, version_id=version.pk,
                marking="approved" if version.approved_at_utc is not None else "draft",
                sha256=digest, storage_path=path, size_bytes=_stored_size(path) if path else 0,
                issued_at_utc=at_utc, issued_by_user_id=actor_id,
            ))
        if len(rows) >= 500:
            IssuedFile.objects.using(db).bulk_create(rows)
            rows = []
    IssuedFile.objects.using(db).bulk_create(rows)


def grant_view(apps, schema_editor):
    """Every BCP group may view issued files. Safe to run twice (get_or_create, add is idempotent)."""
    config = apps.get_app_config("plans")  # permissions are normally created after all migrations
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="plans", codename="view_issuedfile")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)[0].permissions.add(permission)


def revoke_view(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="plans", codename="view_issuedfile").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0007_list_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IssuedFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("plan_pdf", "Plan PDF"), ("plan_docx", "Plan DOCX")],
                                          max_length=20, verbose_name="kind")),
                ("marking", models.CharField(
                    choices=[("draft", "Draft (not approved)"), ("approved", "Approved"), ("superseded", "Superseded")],
                    max_length=20, verbose_name="marking")),
                ("sha256", models.CharField(max_length=64, verbose_name="SHA-256")),
                ("storage_path", models.CharField(max_length=500, verbose_name="storage path")),
                ("size_bytes", models.BigIntegerField(verbose_name="size (bytes)")),
                ("issued_at_utc", models.DateTimeField(verbose_name="issued at")),
                ("issued_by_user", models.ForeignKey(
                    blank=True, db_column="issued_by_user_id", null=True,
                    on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL,
                    verbose_name="issued by")),
                ("org", models.ForeignKey(
                    blank=True, db_column="org_id", null=True, on_delete=django.db.models.deletion.CASCADE,
                    related_name="+", to="plans.organisation", verbose_name="organisation")),
                ("plan", models.ForeignKey(
                    db_column="plan_id", on_delete=django.db.models.deletion.CASCADE, related_name="issued_files",
                    to="plans.plan")),
                ("version", models.ForeignKey(
                    blank=True, db_column="version_id", null=True, on_delete=django.db.models.deletion.CASCADE,
                    related_name="issued_files", to="plans.planversion", verbose_name="version")),
            ],
            options={
                "verbose_name": "issued file",
                "db_table": "bc_issued_file",
                "ordering": ["-issued_at_utc", "-id"],
                "indexes": [
                    models.Index(fields=["sha256"], name="idx_bc_issued_file_sha256"),
                    models.Index(fields=["org", "issued_at_utc"], name="idx_bc_issued_file_org_at"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("version", "kind", "marking"), name="uq_bc_issued_file_version"),
                    models.CheckConstraint(condition=models.Q(("kind__in", ["plan_pdf", "plan_docx"])),
                                           name="ck_issued_file_kind_valid"),
                    models.CheckConstraint(condition=models.Q(("marking__in", ["draft", "approved", "superseded"])),
                                           name="ck_issued_file_marking_valid"),
                    models.CheckConstraint(condition=models.Q(("sha256__regex", "^[0-9a-f]{64}$")),
                                           name="ck_issued_file_sha256"),
                    models.CheckConstraint(condition=models.Q(("size_bytes__gte", 0)),
                                           name="ck_issued_file_size_non_negative"),
                ],
            },
        ),
        migrations.CreateModel(
            name="IssuedFileRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("plan_pdf", "Plan PDF"), ("plan_docx", "Plan DOCX")],
                                          max_length=20, verbose_name="kind")),
                ("marking", models.CharField(
                    choices=[("draft", "Draft (not approved)"), ("approved", "Approved"), ("superseded", "Superseded")],
                    max_length=20, verbose_name="marking")),
                ("requested_at_utc", models.DateTimeField(verbose_name="requested at")),
                ("task_id", models.CharField(blank=True, max_length=64, verbose_name="task id")),
                ("started_at_utc", models.DateTimeField(blank=True, null=True, verbose_name="started at")),
                ("failed_at_utc", models.DateTimeField(blank=True, null=True, verbose_name="failed at")),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("requested_by_user", models.ForeignKey(
                    blank=True, db_column="requested_by_user_id", null=True,
                    on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL,
                    verbose_name="requested by")),
                ("version", models.ForeignKey(
                    db_column="version_id", on_delete=django.db.models.deletion.CASCADE, related_name="+",
                    to="plans.planversion", verbose_name="version")),
            ],
            options={
                "verbose_name": "file request",
                "db_table": "bc_issued_file_request",
                "constraints": [
                    models.UniqueConstraint(fields=("version", "kind", "marking"), name="uq_bc_issued_file_request"),
                    models.CheckConstraint(condition=models.Q(("kind__in", ["plan_pdf", "plan_docx"])),
                                           name="ck_issued_file_request_kind_valid"),
                    models.CheckConstraint(condition=models.Q(("marking__in", ["draft", "approved", "superseded"])),
                                           name="ck_issued_file_request_marking_valid"),
                ],
            },
        ),
        migrations.RunPython(copy_version_export_hashes, migrations.RunPython.noop),
        migrations.RunPython(grant_view, revoke_view),
    ]
