"""The read-only "BCP Auditor" group, and who sees the KPI dashboard.

An auditor reads every page and download of their organisation and changes nothing: the group
holds every view permission that any other BCP group holds (so a page any role may read, an
auditor may read too), the KPI dashboard's `reviews.view_kpi`, and nothing else: no add,
change, delete, submit or approve. BCP Admins and BCP Reviewers see the dashboard too.
Safe to run twice (get_or_create, add is idempotent).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITOR = "BCP Auditor"
ROLES = ("BCP Viewer", "BCP Editor", "BCP Reviewer", "BCP Admin")
DASHBOARD = ("BCP Admin", "BCP Reviewer", AUDITOR)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for label in ("auth", "plans", "templates_app", "reviews"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    auditor, _ = Group.objects.get_or_create(name=AUDITOR)
    reads = Permission.objects.filter(group__name__in=ROLES, codename__startswith="view_").distinct()
    auditor.permissions.add(*reads)
    view_kpi = Permission.objects.get(content_type__app_label="reviews", codename="view_kpi")
    for name in DASHBOARD:
        Group.objects.get_or_create(name=name)[0].permissions.add(view_kpi)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name=AUDITOR).delete()
    view_kpi = Permission.objects.filter(content_type__app_label="reviews", codename="view_kpi")
    for group in Group.objects.filter(name__in=DASHBOARD):
        group.permissions.remove(*view_kpi)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("templates_app", "0001_initial"),
        # The exercises' view permissions exist (and the other groups hold them) before this runs.
        ("plans", "0013_exercises"),
        ("reviews", "0007_kpi"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
