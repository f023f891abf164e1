# The outbox (bc_notification). Operations are written by hand (not by makemigrations, which would
# sweep other pending model changes into this file).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

KINDS = [
    ("review_assigned", "Review assigned"),
    ("review_decision", "Review decision"),
    ("review_cancelled", "Review cancelled"),
    ("ack_link", "Acknowledgement link"),
    ("ack_link_resend", "New acknowledgement link on request"),
    ("ack_reminder", "Acknowledgement reminder"),
    ("drift", "Drift alert"),
    ("password_reset", "Password reset"),
    ("other", "Other"),
]
STATUSES = [
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
    ("given_up", "Given up"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0008_issued_files"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("to_address", models.EmailField(max_length=254, verbose_name="to")),
                ("kind", models.CharField(choices=KINDS, max_length=30, verbose_name="kind")),
                ("version_number", models.IntegerField(blank=True, null=True, verbose_name="version")),
                ("status", models.CharField(choices=STATUSES, default="queued", max_length=20, verbose_name="status")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("next_attempt_at_utc", models.DateTimeField(verbose_name="next attempt at")),
                ("claimed_at_utc", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                ("claim_token", models.CharField(blank=True, max_length=32, null=True, verbose_name="claim")),
                ("sent_at_utc", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                ("message_id", models.CharField(blank=True, max_length=255, verbose_name="message id")),
                ("created_at_utc", models.DateTimeField(verbose_name="queued at")),
                ("dedupe_key", models.CharField(blank=True, max_length=190, null=True, verbose_name="uniqueness key")),
                ("context_json", models.JSONField(blank=True, default=dict, verbose_name="render parameters")),
                ("org", models.ForeignKey(
                    blank=True, db_column="org_id", null=True, on_delete=django.db.models.deletion.CASCADE,
                    related_name="+", to="plans.organisation", verbose_name="organisation",
                )),
                ("plan", models.ForeignKey(
                    blank=True, db_column="plan_id", null=True, on_delete=django.db.models.deletion.CASCADE,
                    related_name="notifications", to="plans.plan", verbose_name="plan",
                )),
                ("recipient_user", models.ForeignKey(
                    db_column="recipient_user_id", on_delete=django.db.models.deletion.CASCADE, related_name="+",
                    to=settings.AUTH_USER_MODEL, verbose_name="recipient",
                )),
            ],
            options={
                "verbose_name": "notification",
                "db_table": "bc_notification",
                "ordering": ["-created_at_utc", "-id"],
                "indexes": [
                    models.Index(fields=["status", "next_attempt_at_utc", "id"], name="idx_bc_notification_due"),
                    models.Index(fields=["plan", "version_number", "recipient_user"],
                                 name="idx_bc_notification_plan_ver"),
                    models.Index(fields=["recipient_user", "kind", "created_at_utc"], name="idx_bc_notification_user"),
                    models.Index(fields=["org", "created_at_utc", "id"], name="idx_bc_notification_org_time"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", [k for k, _ in KINDS])), name="ck_notification_kind_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", [s for s, _ in STATUSES])),
                        name="ck_notification_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("version_number__isnull", True), ("version_number__gt", 0),
                                           _connector="OR"),
                        name="ck_notification_version_positive",
                    ),
                    models.UniqueConstraint(fields=("dedupe_key",), name="uq_bc_notification_dedupe_key"),
                ],
            },
        ),
    ]
