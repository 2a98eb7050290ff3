"""The large tables are ready to be distributed by municipality (docs/scaling.md, "Path to Citus"), read
from PostgreSQL's catalogue: every primary key and unique constraint or index contains the municipality,
and the partitioned tables are partitioned by range of the documented column, with monthly partitions
and a default partition. Citus itself is not installed here; this checks what it requires of a schema."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.timezone import now

from dikom.analytics.models import PendingRollup, ServiceDailyStats

pytestmark = pytest.mark.django_db

#: The tables distributed by municipality_id, with their partition column (None: not partitioned).
LARGE_TABLES = {
    "analytics_usageevent": "occurred_at",
    "analytics_servicedailystats": None,
    "analytics_pendingrollup": None,
    "analytics_rollupstate": None,
    "sensors_observation": "phenomenon_time",
}


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's catalogue (make test-postgres)")


def unique_keys(table: str) -> list[tuple[str, bool, list[str]]]:
    """(index name, is primary, columns) of every unique index, which includes those behind constraints."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, i.indisprimary, "
            "ARRAY(SELECT a.attname FROM unnest(i.indkey) AS k JOIN pg_attribute a "
            "      ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname) "
            "FROM pg_index i WHERE i.indrelid = to_regclass(%s) AND i.indisunique",
            [table],
        )
        return [(name, primary, list(columns)) for name, primary, columns in cursor.fetchall()]


def constraints(table: str) -> list[tuple[str, str, list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname, c.contype, ARRAY(SELECT a.attname FROM unnest(c.conkey) AS k JOIN pg_attribute a "
            "      ON a.attrelid = c.conrelid AND a.attnum = k) "
            "FROM pg_constraint c WHERE c.conrelid = to_regclass(%s) AND c.contype IN ('p', 'u')",
            [table],
        )
        return [(name, kind, list(columns)) for name, kind, columns in cursor.fetchall()]


@pytest.mark.parametrize("table", sorted(LARGE_TABLES))
def test_every_primary_and_unique_key_contains_the_municipality(table: str) -> None:
    require_postgres()
    keys = unique_keys(table)
    assert [columns for _name, primary, columns in keys if primary], f"{table} has no primary key"
    for name, _primary, columns in keys:
        assert "municipality_id" in columns, f"{name} on {table}: {columns}"
        if LARGE_TABLES[table]:
            assert LARGE_TABLES[table] in columns, f"{name} on {table} lacks the partition key"
    for name, kind, columns in constraints(table):
        assert "municipality_id" in columns, f"constraint {name} ({kind}) on {table}: {columns}"


@pytest.mark.parametrize("table", sorted(LARGE_TABLES))
def test_the_partitioned_tables_are_partitioned_by_month_as_documented(table: str) -> None:
    require_postgres()
    column = LARGE_TABLES[table]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        (kind,) = cursor.fetchone()
        if column is None:
            assert kind == "r"
            return
        assert kind == "p"
        cursor.execute(
            "SELECT p.partstrat, ARRAY(SELECT a.attname FROM unnest(p.partattrs) AS k JOIN pg_attribute a "
            "      ON a.attrelid = p.partrelid AND a.attnum = k) "
            "FROM pg_partitioned_table p WHERE p.partrelid = to_regclass(%s)",
            [table],
        )
        strategy, columns = cursor.fetchone()
        assert (strategy, list(columns)) == ("r", [column])
        # Bounds are shown in the session's time zone: the months are TIME_ZONE's.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [settings.TIME_ZONE])
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        bounds = dict(cursor.fetchall())
    assert bounds.pop(f"{table}_default") == "DEFAULT"
    assert bounds, f"{table} has no monthly partition"
    pattern = re.compile(rf"^{table}_p(\d{{4}})_(\d{{2}})$")
    bound = re.compile(r"^FOR VALUES FROM \('(\d{4})-(\d{2})-01 [^']*'\) TO \('(\d{4})-(\d{2})-01 [^']*'\)$")
    for name, definition in bounds.items():
        named, spans = pattern.match(name), bound.match(definition)
        assert named and spans, (name, definition)
        start, end = date(int(spans[1]), int(spans[2]), 1), date(int(spans[3]), int(spans[4]), 1)
        assert start == date(int(named[1]), int(named[2]), 1), (name, definition)
        assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1, (name, definition)


def test_the_partitioned_observations_kept_their_foreign_keys_and_indexes() -> None:
    """Migration sensors.0004 re-creates what the plain table had (read from the catalogue)."""
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT confrelid::regclass::text, condeferred FROM pg_constraint "
            "WHERE conrelid = 'sensors_observation'::regclass AND contype = 'f'"
        )
        keys = dict(cursor.fetchall())
        cursor.execute(
            "SELECT ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(num, pos) "
            "      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.pos) "
            "FROM pg_index i WHERE i.indrelid = 'sensors_observation'::regclass AND NOT i.indisprimary"
        )
        indexes = sorted(list(columns) for (columns,) in cursor.fetchall())
    assert keys == {
        "municipalities_municipality": True,
        "sensors_datastream": True,
        "sensors_featureofinterest": True,
    }
    # sensors.0006 dropped the index on datastream_id alone: (datastream_id, phenomenon_time) serves it.
    assert indexes == [
        ["datastream_id", "phenomenon_time"],
        ["feature_of_interest_id"],
        ["municipality_id"],
    ]


def _primary_key(table: str) -> list[str]:
    return next(columns for _name, primary, columns in unique_keys(table) if primary)


@pytest.mark.django_db(transaction=True)
def test_the_rollup_key_migration_keeps_the_rows_and_goes_back(city_a: Any) -> None:
    require_postgres()
    before, after = (
        ("analytics", "0008_rollup_state_for_incremental_updates"),
        (
            "analytics",
            "0009_rollup_keys_with_municipality",
        ),
    )
    stats = ServiceDailyStats.objects.create(
        municipality=city_a, service_key="dienst", day=date(2026, 11, 2), channel="web", visits=3, built_at=now()
    )
    marker = PendingRollup.objects.create(municipality=city_a, day=date(2026, 11, 2))
    try:
        _migrate(before)
        assert [_primary_key(table) for table in ROLLUP_TABLES] == [["id"]] * 3
        _migrate(after)
        assert [_primary_key(table) for table in ROLLUP_TABLES] == [["id", "municipality_id"]] * 3
        assert ServiceDailyStats.objects.get(pk=stats.pk).visits == 3
        assert PendingRollup.objects.get(pk=marker.pk).municipality_id == city_a.pk
        # Django still addresses the rows by id
        ServiceDailyStats.objects.filter(pk=stats.pk).update(visits=4)
        assert ServiceDailyStats.objects.get(pk=stats.pk).visits == 4
    finally:
        _migrate_to_latest()


ROLLUP_TABLES = ("analytics_servicedailystats", "analytics_pendingrollup", "analytics_rollupstate")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
