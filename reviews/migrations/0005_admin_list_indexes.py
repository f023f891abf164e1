# The admin lists of reviews and acknowledgements, newest first.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0004_ack_notice_to_outbox"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="review",
            index=models.Index(fields=["requested_at_utc", "id"], name="idx_bc_review_requested"),
        ),
        migrations.AddIndex(
            model_name="ack",
            index=models.Index(fields=["ack_at_utc", "id"], name="idx_bc_ack_at"),
        ),
    ]
