"""Monthly partitions of the usage events on PostgreSQL: placement, rollups and queries across a month
boundary, partitions created ahead, retention by dropping whole months, and the migration of an
existing installation (rows kept, ids continuing, and back). SQLite keeps the plain table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dikom.analytics import partitions
from dikom.analytics.actions import housekeeping
from dikom.analytics.models import ServiceDailyStats, UsageEvent
from dikom.analytics.tests.conftest import BERLIN, auth, event, run_worker

pytestmark = pytest.mark.django_db

BEFORE = ("analytics", "0005_service_step_labels")
AFTER = ("analytics", "0006_usageevent_monthly_partitions")


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's (make test-postgres); SQLite keeps the plain table")


def stored_in(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM analytics_usageevent WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_sqlite_keeps_the_plain_table() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite case")
    assert not partitions.is_partitioned()
    assert partitions.ensure_partitions() == []


def test_the_migrated_table_is_partitioned_with_municipality_in_every_key() -> None:
    require_postgres()
    assert partitions.is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'analytics_usageevent' AND indexdef LIKE '%UNIQUE%'"
        )
        unique = sorted(row[0] for row in cursor.fetchall())
    assert len(unique) == 2
    assert all("municipality_id" in definition and "occurred_at" in definition for definition in unique)


def test_events_land_in_their_month_and_rollups_and_queries_span_the_boundary(
    send: Any, parking: Any, client: Any, read_token: str
) -> None:
    require_postgres()
    now = timezone.now()
    month = partitions.month_of(now)
    if partitions.month_start(month) > now - timedelta(hours=2):
        month = partitions.add_months(month, -1)  # the first hours of a month: use the boundary before
    boundary = partitions.month_start(month)
    partitions.ensure_partitions(now)
    before, after = boundary - timedelta(minutes=30), boundary + timedelta(minutes=30)
    batch = {
        "events": [
            event(occurred_at=before.isoformat(), visit_id="a", event_id="e1"),
            event(occurred_at=before.isoformat(), type="submitted", visit_id="a", event_id="e2"),
            event(occurred_at=after.isoformat(), visit_id="b", event_id="e3"),
        ]
    }
    assert send(batch).json()["accepted"] == 3
    run_worker()

    # Each event is stored in the partition of its local month
    placed = {e.event_id: stored_in(e.pk) for e in UsageEvent.objects.all()}
    assert placed == {
        "e1": partitions.partition_name(partitions.add_months(month, -1)),
        "e2": partitions.partition_name(partitions.add_months(month, -1)),
        "e3": partitions.partition_name(month),
    }
    # The daily rollups on both sides of the boundary are built from their partitions
    stats = {s.day: (s.starts, s.completions) for s in ServiceDailyStats.objects.filter(service=parking)}
    assert stats == {before.astimezone(BERLIN).date(): (1, 1), after.astimezone(BERLIN).date(): (1, 0)}
    # A query across the boundary reads both partitions
    assert UsageEvent.objects.filter(occurred_at__gte=before, occurred_at__lte=after).count() == 3
    summary = client.get(
        "/api/v1/analytics/summary",
        {
            "service": str(parking.uuid),
            "from": before.astimezone(BERLIN).date().isoformat(),
            "to": after.astimezone(BERLIN).date().isoformat(),
        },
        **auth(read_token),
    )
    assert summary.status_code == 200, summary.content
    assert (summary.json()["starts"], summary.json()["completions"]) == (2, 1)
    # A re-sent batch is recognised in every partition
    again = send(batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)


def test_partitions_are_created_ahead_once() -> None:
    require_postgres()
    now = timezone.now()
    partitions.ensure_partitions(now)
    names = [p.name for p in partitions.partitions()]
    assert partitions.partition_name(partitions.add_months(partitions.month_of(now), partitions.AHEAD_MONTHS)) in names
    assert partitions.partition_name(partitions.month_of(partitions.retention_cutoff(now))) in names
    assert partitions.ensure_partitions(now) == []


def test_retention_drops_whole_months_and_keeps_rollups(send: Any, parking: Any, settings: Any) -> None:
    require_postgres()
    now = timezone.now()
    partitions.ensure_partitions(now)
    expired, kept = now - timedelta(days=100), now - timedelta(days=59)
    send({"events": [event(occurred_at=expired.isoformat()), event(occurred_at=kept.isoformat())]})
    run_worker()
    expired_partition = partitions.partition_name(partitions.month_of(expired))
    assert stored_in(UsageEvent.objects.get(occurred_at__lt=now - timedelta(days=90)).pk) == expired_partition
    settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS = 60
    settings.DIKOM_ANALYTICS_RETENTION_BY_MONTH = True
    # The test's one transaction still holds the inserts' deferred foreign-key checks, which a
    # DROP refuses to pass over; housekeeping in production runs in a transaction of its own.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    result = housekeeping(now)

    # The month of the expired event ended more than 60 days ago: its partition is gone with it
    assert result.events_deleted == 1
    assert expired_partition not in {p.name for p in partitions.partitions()}
    assert UsageEvent.objects.count() == 1
    assert UsageEvent.objects.get().occurred_at > now - timedelta(days=60)
    assert ServiceDailyStats.objects.filter(service=parking).count() == 2


def test_by_default_retention_also_deletes_the_expired_events_of_the_oldest_month(send: Any, settings: Any) -> None:
    require_postgres()
    now = timezone.now()
    partitions.ensure_partitions(now)
    month = partitions.month_of(now - timedelta(days=45))
    # Two events of one month, one past a retention that ends inside that month
    cutoff_day = partitions.month_start(month) + timedelta(days=10)
    past, kept = cutoff_day - timedelta(days=2), cutoff_day + timedelta(days=2)
    send({"events": [event(occurred_at=past.isoformat()), event(occurred_at=kept.isoformat())]})
    settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS = (now - cutoff_day).days
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    result = housekeeping(now)

    # The month stays (its later days are within the retention); its expired event is gone
    assert result.events_deleted == 1
    assert partitions.partition_name(month) in {p.name for p in partitions.partitions()}
    assert UsageEvent.objects.get().occurred_at > cutoff_day


def test_events_that_went_to_the_default_partition_move_into_a_new_month(send: Any, parking: Any) -> None:
    require_postgres()
    now = timezone.now()
    old = now - timedelta(days=300)
    month = partitions.month_of(old)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {partitions.partition_name(month)}")
    send(event(occurred_at=old.isoformat(), event_id="late"))
    assert stored_in(UsageEvent.objects.get().pk) == partitions.DEFAULT_PARTITION

    assert partitions.partition_name(month) in partitions.ensure_partitions(now)

    assert stored_in(UsageEvent.objects.get().pk) == partitions.partition_name(month)


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_latest() -> None:
    """Every app to its newest migration: going back to BEFORE also unapplied the later migrations of
    analytics (and of apps that depend on them), which the tests after this one need."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_events_of_an_existing_installation(city_a: Any) -> None:
    require_postgres()
    now = timezone.now().replace(second=0, microsecond=0)
    try:
        # Given an installation before partitioning, with events over three months
        _migrate(BEFORE)
        assert not partitions.is_partitioned()
        times = [now - timedelta(days=70), now - timedelta(days=35), now]
        with connection.cursor() as cursor:
            for number, moment in enumerate(times):
                cursor.execute(
                    "INSERT INTO analytics_usageevent (municipality_id, service_key, event_id, type, occurred_at, "
                    "received_at, visit, step_key, auth_method, payment_method, channel, device_class, comment, "
                    "source, api_key_prefix) VALUES (%s, 'dienst', %s, 'service_started', %s, %s, NULL, '', '', '', "
                    "'web', '', '', 'api', '') RETURNING id",
                    [city_a.pk, f"e{number}", moment, moment],
                )
        before = list(UsageEvent.objects.order_by("pk").values_list("pk", "event_id", "occurred_at"))

        # When it is migrated
        _migrate(AFTER)

        # Then every event is still there, in the partition of its month, and ids continue
        assert partitions.is_partitioned()
        assert list(UsageEvent.objects.order_by("pk").values_list("pk", "event_id", "occurred_at")) == before
        for pk, _event_id, moment in before:
            assert stored_in(pk) == partitions.partition_name(partitions.month_of(moment))
        fresh = UsageEvent.objects.create(
            municipality=city_a, service_key="dienst", type="service_started", occurred_at=now, received_at=now
        )
        assert fresh.pk > before[-1][0]

        # And the way back keeps them too
        _migrate(BEFORE)
        assert not partitions.is_partitioned()
        assert UsageEvent.objects.count() == 4
    finally:
        _migrate_to_latest()
    assert partitions.is_partitioned()
