"""Load demo data: an organisation, one user per role, and a sample plan. Safe to run again."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from plans.models import Membership, Organisation, Plan
from plans.services import plan_create
from templates_app.models import Template

ORGANISATION = "Demo Organisation"
PLAN_TITLE = "Head Office Business Continuity Plan"
# username, password, group, staff (can open the admin), superuser, full name
DEMO_USERS = [
    ("admin", "demo-admin-pass", "BCP Admin", True, True, "Ada Admin"),
    ("editor", "demo-editor-pass", "BCP Editor", False, False, "Eddie Editor"),
    ("reviewer", "demo-reviewer-pass", "BCP Reviewer", True, False, "Rita Reviewer"),
    ("reviewer2", "demo-reviewer2-pass", "BCP Reviewer", True, False, "Rob Reviewer"),
    ("viewer", "demo-viewer-pass", "BCP Viewer", False, False, "Vera Viewer"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo organisation, one user per role, and a sample plan."

    def handle(self, *args, **options):
        User = get_user_model()
        with transaction.atomic():
            org, _ = Organisation.objects.get_or_create(name=ORGANISATION)
            users = {}
            for username, password, group_name, staff, superuser, full_name in DEMO_USERS:
                try:
                    group = Group.objects.get(name=group_name)
                except Group.DoesNotExist:
                    raise CommandError(f"Group {group_name!r} is missing: run 'manage.py migrate' first.") from None
                first, last = full_name.split(" ", 1)
                user, _ = User.objects.get_or_create(username=username)
                user.first_name, user.last_name = first, last
                user.email = f"{username}@example.org"
                user.is_staff, user.is_superuser, user.is_active = staff, superuser, True
                user.set_password(password)
                user.save()
                user.groups.add(group)
                Membership.objects.update_or_create(user=user, defaults={"organisation": org})
                users[username] = user
            template = Template.objects.filter(is_default=True).first() or Template.objects.first()
            plan_note = "no template installed, so no sample plan"
            if template is not None:
                plan = Plan.objects.filter(org=org, title=PLAN_TITLE).first()
                if plan is None:
                    plan = plan_create(
                        organisation=org, template=template, title=PLAN_TITLE,
                        owner=users["editor"], actor=users["editor"],
                    )
                    plan_note = f"sample plan #{plan.pk} created"
                else:
                    plan_note = f"sample plan #{plan.pk} already there"

        self.stdout.write("Demo users (log in at http://127.0.0.1:8000/accounts/login/):")
        for username, password, group_name, staff, _superuser, _name in DEMO_USERS:
            admin_note = ", can open the admin" if staff else ""
            self.stdout.write(f"  {username:<10} password: {password:<22} role: {group_name}{admin_note}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {org.name}, {len(DEMO_USERS)} users, {plan_note}."))
