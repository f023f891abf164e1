# bc_ack_notice is replaced by the outbox (bc_notification): every acknowledgement email sent so
# far becomes a `sent` notification, then the old table goes. The first link per person and
# version, and the first reminder per person, plan and day, take the uniqueness key; older
# duplicates (sent twice before the key existed) are kept without one. BCP Admins, who could read
# the old table, read the outbox and may send failed mail again (its admin's retry action).
from django.contrib.auth.management import create_permissions
from django.db import migrations

KINDS = {"link": "ack_link", "reminder": "ack_reminder", "resend": "ack_link_resend"}
BATCH = 1000
PERMISSIONS = ["view_notification", "change_notification"]


def _key(row):
    if row.kind == "link":
        return f"ack_link:{row.plan_id}:{row.version_number}:{row.user_id}"
    if row.kind == "reminder":
        return f"ack_reminder:{row.plan_id}:{row.user_id}:{row.sent_on.isoformat()}"
    return None


def notices_to_outbox(apps, schema_editor):
    AckNotice = apps.get_model("reviews", "AckNotice")
    Notification = apps.get_model("plans", "Notification")
    taken = set(Notification.objects.exclude(dedupe_key=None).values_list("dedupe_key", flat=True))
    rows = []
    notices = AckNotice.objects.select_related("user", "plan").order_by("id")
    for notice in notices.iterator(chunk_size=BATCH):
        key = _key(notice)
        if key in taken:
            key = None
        elif key is not None:
            taken.add(key)
        rows.append(Notification(
            recipient_user_id=notice.user_id, to_address=notice.user.email or "", kind=KINDS[notice.kind],
            org_id=notice.plan.org_id, plan_id=notice.plan_id, version_number=notice.version_number,
            status="sent", attempts=1, next_attempt_at_utc=notice.sent_at_utc, claimed_at_utc=notice.sent_at_utc,
            sent_at_utc=notice.sent_at_utc, created_at_utc=notice.sent_at_utc, dedupe_key=key, context_json={},
        ))
        if len(rows) >= BATCH:
            Notification.objects.bulk_create(rows)
            rows = []
    Notification.objects.bulk_create(rows)


def outbox_to_notices(apps, schema_editor):
    AckNotice = apps.get_model("reviews", "AckNotice")
    Notification = apps.get_model("plans", "Notification")
    back = {new: old for old, new in KINDS.items()}
    sent = Notification.objects.filter(status="sent", kind__in=list(back), plan__isnull=False).order_by("id")
    rows = []
    for row in sent.iterator(chunk_size=BATCH):
        rows.append(AckNotice(
            plan_id=row.plan_id, user_id=row.recipient_user_id, version_number=row.version_number,
            kind=back[row.kind], sent_at_utc=row.sent_at_utc, sent_on=row.sent_at_utc.date(),
        ))
        if len(rows) >= BATCH:
            AckNotice.objects.bulk_create(rows)
            rows = []
    AckNotice.objects.bulk_create(rows)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure the outbox's exist now.
    config = apps.get_app_config("plans")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="BCP Admin")
    for codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label="plans", codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="BCP Admin"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="plans", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0009_notification"),
        ("reviews", "0003_bcp_admin_user_permissions"),
    ]

    operations = [
        migrations.RunPython(notices_to_outbox, outbox_to_notices),
        migrations.DeleteModel(name="AckNotice"),
        migrations.RunPython(grant, revoke),
    ]

