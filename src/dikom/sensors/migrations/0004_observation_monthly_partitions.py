"""PostgreSQL only: the observation table becomes partitioned by month of phenomenon_time.

The same path as analytics 0006: the table is renamed, a partitioned table with the
same columns takes its name, a partition is created for every month from the oldest
observation to three months ahead (plus a default partition), the rows are copied,
the old table dropped, and the primary key, the indexes and the foreign keys that the
old table had (read from the catalogue, so their names stay Django's) are created
on the new one. Ids continue where they were. One transaction; SQLite: nothing.

The primary key becomes (id, phenomenon_time, municipality_id): a partitioned table's
keys must contain the partition key, and the municipality is the Citus distribution
column. Django's model state is unchanged (it addresses rows by id, which the sequence
keeps unique). Reversible: backwards builds the plain table again with an identity id.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

TABLE = "sensors_observation"
AHEAD_MONTHS = 3


def _add_months(month, months):
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _start(month):
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE)).isoformat()


def _months(cursor, source):
    zone = settings.TIME_ZONE
    cursor.execute(
        "SELECT date_trunc('month', min(phenomenon_time) AT TIME ZONE %s)::date, "
        f"date_trunc('month', now() AT TIME ZONE %s)::date FROM {source}",
        [zone, zone],
    )
    oldest, current = cursor.fetchone()
    month = min(oldest or current, current)
    last = _add_months(current, AHEAD_MONTHS)
    while month <= last:
        yield month
        month = _add_months(month, 1)


def _relkind(cursor):
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
    return cursor.fetchone()[0]


def _indexes_and_foreign_keys(cursor):
    """The secondary indexes and the foreign keys of the table as it is now, as SQL to create them again."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary ORDER BY 1",
        [TABLE],
    )
    # A partitioned table's index is defined "ON ONLY" the parent; the plain table needs it without.
    indexes = [definition.replace(" ON ONLY ", " ON ") for _name, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY 1",
        [TABLE],
    )
    keys = [f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}" for name, definition in cursor.fetchall()]
    return indexes + keys


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _relkind(cursor) == "p":
            return
        recreate = _indexes_and_foreign_keys(cursor)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY RANGE (phenomenon_time)"
        )
        for month in list(_months(cursor, f"{TABLE}_unpartitioned")):
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{month.year:04d}_{month.month:02d} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{_start(month)}') TO ('{_start(_add_months(month, 1))}')"
            )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_unpartitioned")
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {TABLE}_unpartitioned")
        (next_id,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {TABLE}_unpartitioned")  # with its indexes, keys and identity sequence
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq AS bigint START WITH {int(next_id)} OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, phenomenon_time, municipality_id)"
        )
        for statement in recreate:
            cursor.execute(statement)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _relkind(cursor) != "p":
            return
        recreate = _indexes_and_foreign_keys(cursor)
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_partitioned")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {TABLE}_partitioned INCLUDING CONSTRAINTS)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_partitioned")
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {TABLE}_partitioned")
        (next_id,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {TABLE}_partitioned")  # with its partitions, indexes, keys and sequence
        cursor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {int(next_id)})"
        )
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        for statement in recreate:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("sensors", "0003_observation_municipality"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
