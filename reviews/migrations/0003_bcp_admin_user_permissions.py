"""BCP Admins manage the people of their organisation: view, add and change users.

Safe to run twice (get_or_create, add is idempotent). Reviewers, editors and viewers get no
user permissions; people are never deleted in the admin (leavers are deactivated).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["view_user", "add_user", "change_user"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure auth's exist now.
    config = apps.get_app_config("auth")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="BCP Admin")
    for codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label="auth", codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="BCP Admin"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="auth", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("reviews", "0002_permission_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
