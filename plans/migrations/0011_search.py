# The search index (bc_search_entry) and its full-text index, which Django cannot declare:
# a FULLTEXT key on MariaDB/MySQL, an FTS5 table kept by triggers on SQLite. Written by hand
# (not by makemigrations, which would sweep other pending model changes into this file).
#
# Existing plans get their entries from `manage.py search_reindex` (README, "Upgrading"): building
# them needs today's code (templates, display values), which a migration must not import.
import django.db.models.deletion
from django.db import migrations, models

KINDS = [("title", "Title"), ("section", "Section"), ("contact", "Contact"), ("process", "Process"), ("risk", "Risk")]

MYSQL_FORWARD = ["CREATE FULLTEXT INDEX ft_bc_search_entry_terms ON bc_search_entry (terms)"]
MYSQL_BACKWARD = ["DROP INDEX ft_bc_search_entry_terms ON bc_search_entry"]

# An external-content FTS5 table over bc_search_entry.terms (rowid = the entry's id). The
# triggers keep it in step with every write, the ORM's cascades and bulk deletes included.
# The tokenizer keeps case and accents as written: plans.search writes terms already folded.
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE bc_search_fts USING fts5("
    "terms, content='bc_search_entry', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER bc_search_entry_ai AFTER INSERT ON bc_search_entry BEGIN "
    "INSERT INTO bc_search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER bc_search_entry_ad AFTER DELETE ON bc_search_entry BEGIN "
    "INSERT INTO bc_search_fts(bc_search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER bc_search_entry_au AFTER UPDATE ON bc_search_entry BEGIN "
    "INSERT INTO bc_search_fts(bc_search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO bc_search_fts(rowid, terms) VALUES (new.id, new.terms); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS bc_search_entry_au",
    "DROP TRIGGER IF EXISTS bc_search_entry_ad",
    "DROP TRIGGER IF EXISTS bc_search_entry_ai",
    "DROP TABLE IF EXISTS bc_search_fts",
]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise RuntimeError(f"plans.0011_search: no full-text index for the {vendor} database")
    for sql in statements[vendor]:
        schema_editor.execute(sql)


def full_text_index(apps, schema_editor):
    _run(schema_editor, {"mysql": MYSQL_FORWARD, "sqlite": SQLITE_FORWARD})


def drop_full_text_index(apps, schema_editor):
    _run(schema_editor, {"mysql": MYSQL_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("plans", "0010_rate_counter")]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=KINDS, max_length=20, verbose_name="kind")),
                ("ref", models.CharField(blank=True, max_length=100, verbose_name="reference")),
                ("label", models.CharField(max_length=255, verbose_name="where")),
                ("text", models.TextField(blank=True, verbose_name="text")),
                ("terms", models.TextField(blank=True, verbose_name="indexed terms")),
                ("updated_at_utc", models.DateTimeField(verbose_name="updated at")),
                ("org", models.ForeignKey(
                    db_column="org_id", db_index=False, on_delete=django.db.models.deletion.CASCADE,
                    related_name="+", to="plans.organisation", verbose_name="organisation",
                )),
                ("plan", models.ForeignKey(
                    db_column="plan_id", on_delete=django.db.models.deletion.CASCADE,
                    related_name="search_entries", to="plans.plan", verbose_name="plan",
                )),
            ],
            options={
                "verbose_name": "search entry",
                "verbose_name_plural": "search entries",
                "db_table": "bc_search_entry",
                "default_permissions": (),
                "constraints": [
                    models.UniqueConstraint(fields=("org", "plan", "kind", "ref"), name="uq_bc_search_entry_item"),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", [k for k, _ in KINDS])), name="ck_search_entry_kind_valid"
                    ),
                ],
            },
        ),
        # Not atomic: MariaDB/MySQL cannot roll DDL back, and Django refuses DDL inside a transaction there.
        migrations.RunPython(full_text_index, drop_full_text_index, atomic=False, elidable=False),
    ]
