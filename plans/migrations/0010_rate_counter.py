from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("plans", "0009_notification")]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("key", models.CharField(max_length=191, primary_key=True, serialize=False, verbose_name="key")),
                ("count", models.PositiveIntegerField(default=0, verbose_name="hits")),
                ("expires_at_utc", models.DateTimeField(verbose_name="window ends at")),
            ],
            options={
                "verbose_name": "rate limit counter",
                "db_table": "bc_rate_counter",
                "indexes": [models.Index(fields=["expires_at_utc"], name="idx_bc_rate_counter_expires")],
            },
        ),
    ]
