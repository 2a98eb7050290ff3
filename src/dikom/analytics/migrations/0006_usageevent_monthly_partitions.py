"""PostgreSQL only: the usage-event table becomes partitioned by month of occurred_at.

An existing installation keeps its events: the table is renamed, a partitioned
table with the same columns takes its name, a partition is created for every
month from the oldest event to three months ahead (plus a default partition),
the rows are copied, the old table dropped, and keys, indexes and foreign keys
are created on the new table (after the copy: faster than maintaining them row
by row). Ids continue where they were. Runs in one transaction; expect about a
minute per ten million events (docs/scaling.md). SQLite: nothing happens.

Keys on the partitioned table must contain the partition key: the primary key
is (id, occurred_at, municipality_id) and the idempotency key (municipality_id,
event_id, occurred_at). Django's model state is unchanged (Django addresses
rows by id, which the sequence keeps unique). Reversible: backwards builds the
plain table again.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

TABLE = "analytics_usageevent"
AHEAD_MONTHS = 3


def _add_months(month, months):
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _start(month):
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE)).isoformat()


def _months(cursor):
    zone = settings.TIME_ZONE
    cursor.execute(
        f"SELECT date_trunc('month', min(occurred_at) AT TIME ZONE %s)::date, "
        f"date_trunc('month', now() AT TIME ZONE %s)::date FROM {TABLE}_unpartitioned",
        [zone, zone],
    )
    oldest, current = cursor.fetchone()
    month = oldest or current
    last = _add_months(current, AHEAD_MONTHS)
    while month <= last:
        yield month
        month = _add_months(month, 1)


def _keys_and_indexes(cursor, primary_key, unique_columns):
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY ({primary_key})")
    cursor.execute(
        f"CREATE UNIQUE INDEX analytics_event_id_unique ON {TABLE} ({unique_columns}) WHERE event_id IS NOT NULL"
    )
    cursor.execute(f"CREATE INDEX analytics_event_rollup_idx ON {TABLE} (municipality_id, service_id, occurred_at)")
    cursor.execute(f"CREATE INDEX analytics_event_day_idx ON {TABLE} (municipality_id, occurred_at)")
    # For Django's SET_NULL when a measured service is deleted.
    cursor.execute(f"CREATE INDEX {TABLE}_service_id_idx ON {TABLE} (service_id)")
    cursor.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_municipality_id_fk FOREIGN KEY (municipality_id) "
        "REFERENCES municipalities_municipality (id) DEFERRABLE INITIALLY DEFERRED"
    )
    cursor.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_service_id_fk FOREIGN KEY (service_id) "
        "REFERENCES analytics_service (id) DEFERRABLE INITIALLY DEFERRED"
    )


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] == "p":
            return
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned")
        # LIKE copies columns, types, NOT NULL, CHECK constraints and defaults, not the identity (PostgreSQL 15 has
        # none on partitioned tables): the id comes from a sequence created below.
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at)"
        )
        for month in list(_months(cursor)):
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{month.year:04d}_{month.month:02d} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{_start(month)}') TO ('{_start(_add_months(month, 1))}')"
            )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_unpartitioned")
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {TABLE}_unpartitioned")
        (next_id,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {TABLE}_unpartitioned")
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq AS bigint START WITH {int(next_id)} OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        _keys_and_indexes(cursor, "id, occurred_at, municipality_id", "municipality_id, event_id, occurred_at")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] != "p":
            return
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_partitioned")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {TABLE}_partitioned INCLUDING CONSTRAINTS)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_partitioned")
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {TABLE}_partitioned")
        (next_id,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {TABLE}_partitioned")  # with its partitions and sequence
        cursor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {int(next_id)})"
        )
        _keys_and_indexes(cursor, "id", "municipality_id, event_id")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_service_step_labels"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
