"""Fill `bc_plan_version.approved_at_utc` / `approval_round` for approvals made before 0005.

A version's approval is its first review round in which every reviewer approved: the time is
the round's last decision and the round names the approvers. These are exactly the values the
exports rendered before (plans/exports.py derived them from the reviews), so an old version
keeps exporting the same bytes. A version the `plan_approved` audit rows name (details
"version") without such a round takes the first of those rows' time and round; a plan's
approved version without either (an administrator's approval) takes the plan's
`approved_at_utc` and no round.

It reads the reviews app's historical Review model, hence the dependency on reviews 0001
(which itself depends only on plans 0001: no cycle).
"""

from django.db import migrations


def fill_version_approvals(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    PlanVersion = apps.get_model("plans", "PlanVersion")
    Audit = apps.get_model("plans", "Audit")
    Review = apps.get_model("reviews", "Review")

    approvals: dict[int, tuple] = {}  # version id -> (approved_at_utc, approval_round)

    rounds: dict[tuple[int, int], list] = {}
    for version_id, round_number, status, decided in (
        Review.objects.order_by("version_id", "round_number", "id")
        .values_list("version_id", "round_number", "status", "decided_at_utc")
    ):
        rounds.setdefault((version_id, round_number), []).append((status, decided))
    for (version_id, round_number), rows in sorted(rounds.items()):
        if version_id in approvals or not all(status == "approved" for status, _ in rows):
            continue  # a later round re-confirmed the version: its approval stays the first
        decided = [at for _, at in rows if at is not None]
        if decided:
            approvals[version_id] = (max(decided), round_number)

    version_ids = {
        (plan_id, number): pk for pk, plan_id, number in PlanVersion.objects.values_list("pk", "plan_id", "version_number")
    }
    for plan_id, details, at in (
        Audit.objects.filter(action="plan_approved", plan_id__isnull=False)
        .order_by("at_utc", "id").values_list("plan_id", "details_json", "at_utc")
    ):
        details = details if isinstance(details, dict) else {}
        version_id = version_ids.get((plan_id, details.get("version")))
        if version_id is None or version_id in approvals:
            continue
        round_number = details.get("round")
        approvals[version_id] = (at, round_number if isinstance(round_number, int) and round_number > 0 else None)

    for version_id, at in (
        Plan.objects.filter(approved_version__isnull=False, approved_at_utc__isnull=False)
        .values_list("approved_version_id", "approved_at_utc")
    ):
        approvals.setdefault(version_id, (at, None))

    for version_id, (at, round_number) in approvals.items():
        PlanVersion.objects.filter(pk=version_id, approved_at_utc__isnull=True).update(
            approved_at_utc=at, approval_round=round_number
        )


class Migration(migrations.Migration):

    dependencies = [
        ("plans", "0005_version_approval"),
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(fill_version_approvals, migrations.RunPython.noop, elidable=True),
    ]
