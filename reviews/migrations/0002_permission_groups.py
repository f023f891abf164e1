"""Create the four BCP permission groups. Safe to run twice (get_or_create, add is idempotent)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "plans.view_plan", "plans.view_planversion", "plans.view_contact", "plans.view_process",
    "plans.view_risk", "plans.view_attachment", "plans.view_audit", "plans.view_changelogmap",
    "plans.view_changerecord", "templates_app.view_template", "templates_app.view_sectiondefinition",
    "reviews.view_review", "reviews.view_ack",
]
EDIT = [
    "plans.add_plan", "plans.change_plan", "plans.add_planversion",
    "plans.add_contact", "plans.change_contact", "plans.delete_contact",
    "plans.add_process", "plans.change_process", "plans.delete_process",
    "plans.add_risk", "plans.change_risk", "plans.delete_risk",
    "plans.add_attachment", "plans.delete_attachment",
    "plans.submit_plan",
]
REVIEW = ["plans.approve_plan", "plans.request_changes_plan", "reviews.change_review"]
ADMIN = [
    "plans.archive_plan", "plans.restore_plan", "plans.delete_plan",
    "plans.add_organisation", "plans.change_organisation", "plans.view_organisation",
    "plans.add_membership", "plans.change_membership", "plans.delete_membership", "plans.view_membership",
    "plans.add_changerecord", "plans.add_changelogmap",
    "templates_app.manage_templates", "templates_app.add_template", "templates_app.change_template",
    "templates_app.delete_template", "templates_app.add_sectiondefinition",
    "templates_app.change_sectiondefinition", "templates_app.delete_sectiondefinition",
    "reviews.add_plandistribution", "reviews.change_plandistribution", "reviews.delete_plandistribution",
    "reviews.view_plandistribution", "reviews.view_acknotice",
]

GROUPS = {
    "BCP Viewer": VIEW,
    "BCP Editor": VIEW + EDIT,
    "BCP Reviewer": VIEW + REVIEW,
    "BCP Admin": VIEW + EDIT + REVIEW + ADMIN,
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for label in ("plans", "templates_app", "reviews"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for code in codes:
            app_label, codename = code.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("plans", "0001_initial"),
        ("templates_app", "0001_initial"),
        ("reviews", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
