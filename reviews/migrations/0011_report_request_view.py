"""BCP Admins and auditors read their organisation's report requests in the admin.

The auditor holds every view permission another BCP group holds, so both get
`reviews.view_reportrequest`; nobody gets add, change or delete (the admin is read-only).
Safe to run twice (get_or_create, add is idempotent).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READERS = ("BCP Admin", "BCP Auditor")


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure this one exists now.
    config = apps.get_app_config("reviews")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="reviews", codename="view_reportrequest")
    for name in READERS:
        Group.objects.get_or_create(name=name)[0].permissions.add(view)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="reviews", codename="view_reportrequest")
    for group in Group.objects.filter(name__in=READERS):
        group.permissions.remove(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reviews", "0010_coverage_counts"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
