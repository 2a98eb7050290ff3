"""Observations carry their municipality on every write path; on PostgreSQL they are partitioned by month
of phenomenonTime (created ahead, rows of the default partition moved, retention by dropping months);
SensorThings queries work across month boundaries on both databases; the migration of an existing
installation keeps every row and id, and goes back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.utils import timezone

from dikom.sensors import mqtt_ingest, partitions
from dikom.sensors.models import Datastream, Observation
from dikom.sensors.tests.test_lorawan import EUI, make_device, send, tts_uplink
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, count, key_for, post

pytestmark = pytest.mark.django_db

BEFORE = ("sensors", "0002_publication_flag")
AFTER = ("sensors", "0004_observation_monthly_partitions")


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's (make test-postgres); SQLite keeps the plain table")


def stored_in(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM sensors_observation WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}


def test_every_write_path_stores_the_municipality_of_the_datastream(client: Any, city_a: Any, city_b: Any) -> None:
    key_a, key_b = key_for(city_a), key_for(city_b)
    datastream = make_device(client, key_a, EUI, {"soil_moisture": "Bodenfeuchte"})["soil_moisture"]
    at = "2026-07-14T05:00:00Z"
    # Deep insert (a Thing with Datastreams and Observations) by the other city
    assert post(client, "Things", TREE_THING, key_b).status_code == 201
    # POST /Observations, and POST under the Datastream's navigation path
    one = {"phenomenonTime": at, "result": 1, "Datastream": {"@iot.id": datastream}}
    assert post(client, "Observations", one, key_a).status_code == 201
    assert post(client, f"Datastreams({datastream})/Observations", {"result": 2}, key_a).status_code == 201
    # CreateObservations
    block = {"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"]}
    created = post(client, "CreateObservations", [{**block, "dataArray": [[at, 3], [at, 4]]}], key_a)
    assert created.status_code == 201, created.content
    # MQTT publish-to-create (the listener's handler for one message)
    outcome = mqtt_ingest.Outcome()
    topic = f"v1.1/Datastreams({datastream})/Observations"
    mqtt_ingest.store_message(topic, orjson.dumps({"phenomenonTime": "2026-07-15T05:00:00Z", "result": 5}), outcome)
    assert len(outcome.created) == 1, outcome.refused
    # LoRaWAN webhook
    assert send(client, "fulda", "tts", tts_uplink(), key_a).status_code == 201

    # Every observation carries its Datastream's municipality
    mine = Observation.objects.filter(datastream_id=datastream)
    assert mine.count() == 6
    assert set(mine.values_list("municipality_id", flat=True)) == {city_a.pk}
    theirs = Observation.objects.filter(datastream__municipality=city_b)
    assert theirs.count() == 3
    assert set(theirs.values_list("municipality_id", flat=True)) == {city_b.pk}
    assert not Observation.objects.exclude(municipality_id=F("datastream__municipality_id")).exists()
    # Scoping by the column: each city's key reads its own unpublished readings only
    Datastream.objects.update(published=False)
    assert count(client, f"{BASE}Observations", key=key_a) == 6
    assert count(client, f"{BASE}Observations", key=key_b) == 3
    assert count(client, f"{BASE}Observations") == 0


def test_queries_updates_and_deletes_work_across_month_boundaries(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    tree = post(client, "Things", TREE_THING, key).json()
    datastream = Datastream.objects.get(thing_id=tree["@iot.id"])
    # Readings either side of a month boundary in TIME_ZONE (midnight of 1 June in Berlin is 22:00 UTC)
    times = ["2026-05-31T21:30:00Z", "2026-05-31T22:30:00Z", "2026-06-30T21:59:59Z", "2026-06-30T22:00:00Z"]
    block = {"Datastream": {"@iot.id": datastream.pk}, "components": ["phenomenonTime", "result"]}
    ids = post(client, "CreateObservations", [{**block, "dataArray": [[t, n] for n, t in enumerate(times)]}], key)
    assert ids.status_code == 201
    if connection.vendor == "postgresql":
        partitions.ensure_partitions()  # the months of 2026 come out of the default partition
        placed = {obs.result: stored_in(obs.pk) for obs in Observation.objects.filter(result_number__lt=4)}
        assert placed == {
            0: "sensors_observation_p2026_05",
            1: "sensors_observation_p2026_06",
            2: "sensors_observation_p2026_06",
            3: "sensors_observation_p2026_07",
        }
    url = f"{BASE}Datastreams({datastream.pk})/Observations"

    # $filter on a time window spanning the boundary, and ordering
    window = "phenomenonTime ge 2026-05-31T21:00:00Z and phenomenonTime lt 2026-06-30T22:00:00Z"
    found = client.get(url, {"$filter": window, "$orderby": "phenomenonTime desc"}).json()["value"]
    assert [o["result"] for o in found] == [2, 12.5, 1, 0]  # 12.5: the tree's reading of 1 June
    # @iot.id lookup
    first = Observation.objects.get(datastream=datastream, result_number=0)
    assert client.get(f"{BASE}Observations({first.pk})").json()["result"] == 0
    # PATCH that moves a reading into another month keeps its id (PostgreSQL moves the row)
    moved = client.patch(
        f"{BASE}Observations({first.pk})",
        {"phenomenonTime": "2026-08-10T10:00:00Z"},
        content_type="application/json",
        **auth(key),
    )
    assert moved.status_code == 200, moved.content
    assert client.get(f"{BASE}Observations({first.pk})").json()["phenomenonTime"] == "2026-08-10T10:00:00Z"
    if connection.vendor == "postgresql":
        assert stored_in(first.pk) == "sensors_observation_p2026_08"  # made for the tree's August reading
    # DELETE of one reading, then the cascade from the Thing
    assert client.delete(f"{BASE}Observations({first.pk})", **auth(key)).status_code == 200
    assert client.get(f"{BASE}Observations({first.pk})").status_code == 404
    assert count(client, url) == 3 + 4 - 1
    assert client.delete(f"{BASE}Things({tree['@iot.id']})", **auth(key)).status_code == 200
    assert count(client, f"{BASE}Observations") == 0


def test_sqlite_keeps_the_plain_table() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite case")
    assert not partitions.is_partitioned()
    assert partitions.ensure_partitions() == []


def _reading(client: Any, key: str, datastream: int, moment: datetime) -> int:
    body = {"phenomenonTime": moment.isoformat(), "result": 1, "Datastream": {"@iot.id": datastream}}
    response = post(client, "Observations", body, key)
    assert response.status_code == 201, response.content
    return int(response.json()["@iot.id"])


def test_partitions_are_created_ahead_and_rows_leave_the_default_partition(client: Any, city_a: Any) -> None:
    require_postgres()
    key = key_for(city_a)
    now = timezone.now()
    post(client, "Things", TREE_THING, key)
    datastream = Datastream.objects.get().pk
    old = now - timedelta(days=400)
    month = partitions.month_of(old)
    pk = _reading(client, key, datastream, old)
    assert stored_in(pk) == partitions.DEFAULT_PARTITION

    created = partitions.ensure_partitions(now)

    assert partitions.partition_name(month) in created
    assert stored_in(pk) == partitions.partition_name(month)
    names = {p.name for p in partitions.partitions()}
    assert partitions.partition_name(partitions.add_months(partitions.month_of(now), partitions.AHEAD_MONTHS)) in names
    assert partitions.ensure_partitions(now) == []


def test_no_retention_by_default() -> None:
    assert partitions.apply_retention() == 0


def test_retention_drops_whole_months(client: Any, city_a: Any, settings: Any) -> None:
    key = key_for(city_a)
    now = timezone.now()
    post(client, "Things", TREE_THING, key)
    datastream = Datastream.objects.get().pk
    Observation.objects.all().delete()
    expired = _reading(client, key, datastream, now - timedelta(days=100))
    kept = _reading(client, key, datastream, now - timedelta(days=59))
    if connection.vendor == "postgresql":
        partitions.ensure_partitions(now)
        expired_partition = stored_in(expired)
        assert expired_partition == partitions.partition_name(partitions.month_of(now - timedelta(days=100)))
        # The test's one transaction still holds the inserts' deferred foreign-key checks, which a DROP
        # refuses to pass over; the periodic job runs in a transaction of its own.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    settings.DIKOM_STA_RAW_RETENTION_DAYS = 60

    assert partitions.apply_retention(now) == 1

    assert list(Observation.objects.values_list("pk", flat=True)) == [kept]
    if connection.vendor == "postgresql":
        assert expired_partition not in {p.name for p in partitions.partitions()}


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, datastream_id, phenomenon_time, result_number FROM sensors_observation ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_observations_of_an_existing_installation(
    client: Any, city_a: Any, city_b: Any
) -> None:
    now = timezone.now().replace(microsecond=0)
    try:
        for city in (city_a, city_b):
            post(client, "Things", TREE_THING, key_for(city))
        # Given an installation before the municipality column and the partitions, with readings
        _migrate(BEFORE)
        assert not partitions.is_partitioned()
        before = _rows()
        assert len(before) == 6  # the way back kept the rows too
        datastream = Datastream.objects.filter(municipality=city_b).values_list("pk", flat=True).get()
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM sensors_featureofinterest WHERE municipality_id = %s", [city_b.pk])
            (feature,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO sensors_observation (datastream_id, feature_of_interest_id, phenomenon_time, result, "
                "result_number) VALUES (%s, %s, %s, '7', 7)",
                [datastream, feature, now],
            )
        before = _rows()

        # When it is migrated
        _migrate(AFTER)

        # Then every reading is still there with its id, carries its Datastream's municipality, sits in its month
        assert _rows() == before
        assert not Observation.objects.exclude(municipality_id=F("datastream__municipality_id")).exists()
        assert Observation.objects.filter(municipality=city_b).count() == 4
        if connection.vendor == "postgresql":
            assert partitions.is_partitioned()
            for pk, _datastream, moment, _result in before:
                expected = partitions.partition_name(partitions.month_of(moment))
                assert stored_in(pk) == expected
        fresh = _reading(client, key_for(city_b), datastream, now)
        assert fresh > before[-1][0]

        # And the way back keeps them too
        _migrate(BEFORE)
        assert not partitions.is_partitioned()
        assert [row[0] for row in _rows()] == [row[0] for row in before] + [fresh]
    finally:
        _migrate_to_latest()
    if connection.vendor == "postgresql":
        assert partitions.is_partitioned()
