"""PostgreSQL only: the rollup tables' primary keys contain the municipality (Citus-ready).

``analytics_servicedailystats``, ``analytics_pendingrollup`` and ``analytics_rollupstate``
get the primary key ``(id, municipality_id)`` instead of ``(id)``: Citus requires the
distribution column in every primary key and unique constraint of a distributed table
(their unique constraints, ``(municipality_id, day)``, have it already). ``id`` stays
first so that Django's lookups by id use the key's index. Django's model state is
unchanged: it still addresses rows by ``id``, which stays unique through its identity.
SQLite keeps ``id`` alone (nothing there is distributed). Reversible.
"""

from django.db import migrations

TABLES = ("analytics_servicedailystats", "analytics_pendingrollup", "analytics_rollupstate")


def _set_primary_key(schema_editor, columns):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'", [table]
            )
            (name,) = cursor.fetchone()
            cursor.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns})"
            )


def with_municipality(apps, schema_editor):
    _set_primary_key(schema_editor, "id, municipality_id")


def id_alone(apps, schema_editor):
    _set_primary_key(schema_editor, "id")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0008_rollup_state_for_incremental_updates"),
    ]

    operations = [
        migrations.RunPython(with_municipality, id_alone, elidable=False),
    ]
