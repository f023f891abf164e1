"""Fill the stored plan fact `changes_requested` (plans 0012): a draft whose last review round asked for changes."""

from django.db import migrations
from django.db.models import Exists, OuterRef


def fill(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    Review = apps.get_model("reviews", "Review")
    later = Review.objects.filter(plan_id=OuterRef("plan_id"), round_number__gt=OuterRef("round_number"))
    asked_last = Review.objects.filter(plan_id=OuterRef("pk"), status="changes_requested").filter(~Exists(later))
    Plan.objects.filter(status="draft").update(changes_requested=Exists(asked_last))


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0005_admin_list_indexes"),
        ("plans", "0012_plan_facts"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
