"""The database router against a real PostgreSQL streaming replica (``scripts/pg_replica.sh``, ``make replica``).

Which copy answered is seen from the data: the replica's replay is paused
(``pg_wal_replay_pause``), so rows committed on the primary afterwards are
missing there. The tests skip with a reason without PostgreSQL or without a
replica (``DIKOM_TEST_REPLICA_URL``, default ``postgres://postgres@127.0.0.1:5433``);
CI (``DIKOM_REQUIRE_SERVICES=1``) creates the replica and fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dj_database_url
import pytest
from django.db import connection, connections
from django.db.utils import load_backend
from django.test import Client, override_settings

from conftest import skip_or_fail
from dikom.lib import replicas
from dikom.lib.testing import free_port as _free_port
from dikom.opendata.tests.conftest import make_dataset

# Committed rows (a replica sees nothing else); only these apps' tables are emptied after each test.
APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "dikom.audit",
    "dikom.municipalities",
    "dikom.accounts",
    "dikom.opendata",
]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, available_apps=APPS)]

REPLICA_URL = os.environ.get("DIKOM_TEST_REPLICA_URL", "postgres://postgres@127.0.0.1:5433")
ALIAS = "replica1"
SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "pg_replica.sh"


def _add_alias(alias: str, host: str, port: int) -> None:
    """The test database of "default" through another server (the replica holds every database of the primary).

    Made here, not in settings.DATABASES: Django's test case lets a test use such a connection
    without flushing it afterwards (a replica is read-only).
    """
    settings_dict = {**connection.settings_dict, "HOST": host, "PORT": port, "CONN_MAX_AGE": 60}
    settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"], "connect_timeout": 2}
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)


def _drop_alias(alias: str) -> None:
    try:
        wrapper = connections[alias]
    except Exception:  # not made
        return
    wrapper.close()
    del connections[alias]


def _replica_sql(sql: str) -> Any:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def wait_until_replayed(timeout: float = 20) -> None:
    """Wait until the replica replayed everything the primary wrote so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        (done,) = _replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
        if done:
            return
        assert time.monotonic() < deadline, "the replica did not catch up within 20 s"
        time.sleep(0.05)


@pytest.fixture
def replica() -> Iterator[str]:
    """The real replica as alias ``replica1``, with the router and its middleware switched on."""
    if connection.vendor != "postgresql":
        pytest.skip("read replicas need PostgreSQL (make test-postgres)")
    url = dj_database_url.parse(REPLICA_URL)
    _add_alias(ALIAS, url["HOST"] or "127.0.0.1", int(url["PORT"] or 5432))
    try:
        (in_recovery,) = _replica_sql("SELECT pg_is_in_recovery()")
    except Exception as exc:  # any failure means: no replica here
        _drop_alias(ALIAS)
        skip_or_fail(f"no PostgreSQL replica at {REPLICA_URL} ({exc.__class__.__name__}); create one: make replica")
    if not in_recovery:
        _drop_alias(ALIAS)
        skip_or_fail(f"{REPLICA_URL} is not a streaming replica (not in recovery)")
    wait_until_replayed()
    replicas.forget_health()
    try:
        with override_settings(
            DIKOM_REPLICA_ALIASES=[ALIAS],
            DATABASE_ROUTERS=["dikom.lib.replicas.ReplicaRouter"],
            DIKOM_REPLICA_MAX_LAG_SECONDS=3600,
            DIKOM_REPLICA_CHECK_SECONDS=1,
        ):
            yield ALIAS
    finally:
        # A test may have stopped it; the next fixture checks it anew.
        with contextlib.suppress(Exception):
            _replica_sql("SELECT pg_wal_replay_resume()")
        replicas.forget_health()
        _drop_alias(ALIAS)


@pytest.fixture
def org_a(city_a: Any) -> Any:
    from dikom.opendata import actions

    return actions.organization_for_municipality(city_a)


@pytest.fixture
def key_a(org_a: Any, city_a: Any) -> str:
    from dikom.accounts.actions import create_api_key
    from dikom.opendata.scopes import OPENDATA_WRITE

    return create_api_key(municipality=city_a, name="Open data A", scopes=[OPENDATA_WRITE]).token


def wait_until_received(timeout: float = 20) -> None:
    """Wait until the replica has *received* everything the primary wrote so far (replayed or not)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        (done,) = _replica_sql(f"SELECT pg_last_wal_receive_lsn() >= '{target}'::pg_lsn")
        if done:
            return
        assert time.monotonic() < deadline, "the replica did not receive the WAL within 20 s"
        time.sleep(0.05)


def pause_replay() -> None:
    _replica_sql("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while _replica_sql("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["result"]


def test_reads_of_a_get_request_come_from_the_replica(replica: str, org_a: Any) -> None:
    # Given one dataset on both copies and a second one only on the primary (replay paused)
    make_dataset(org_a, "baeume", "Bäume")
    wait_until_replayed()
    pause_replay()
    make_dataset(org_a, "strassen", "Straßen")
    # When an anonymous client reads the catalogue
    listed = names(Client().get("/api/3/action/package_list"))
    # Then the answer came from the replica, which does not have the second dataset yet
    assert listed == ["baeume"]
    assert replicas._health[replica].healthy
    # And once the replica replays again, it shows both
    _replica_sql("SELECT pg_wal_replay_resume()")
    wait_until_replayed()
    assert names(Client().get("/api/3/action/package_list")) == ["baeume", "strassen"]


def test_outside_requests_everything_reads_the_primary(replica: str, org_a: Any) -> None:
    from dikom.opendata.models import Dataset

    pause_replay()
    make_dataset(org_a, "baeume", "Bäume")
    # A task or management command (no request): the primary, which has the new row
    assert list(Dataset.objects.values_list("name", flat=True)) == ["baeume"]


def test_a_client_that_wrote_reads_its_own_writes(replica: str, org_a: Any, key_a: str) -> None:
    pause_replay()
    writer = Client()
    # When an API client creates a dataset (POST with its key)
    created = writer.post(
        "/api/3/action/package_create",
        json.dumps(
            {
                "name": "neu",
                "title": "Neu",
                "owner_org": "fulda",
                "license_id": "dl-by-de/2.0",
                "notes": "Neu angelegt",
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=key_a,
    )
    assert created.status_code == 200, created.content[:500]
    # Then its next read (same key, no cookie needed) comes from the primary and shows it
    assert names(Client().get("/api/3/action/package_list", HTTP_AUTHORIZATION=key_a)) == ["neu"]
    # And a browser-like client that wrote keeps a cookie for the sticky window
    assert writer.cookies[replicas.STICKY_COOKIE]["max-age"] == 15
    assert names(writer.get("/api/3/action/package_list")) == ["neu"]
    # While anyone else still reads the (paused) replica
    assert names(Client().get("/api/3/action/package_list")) == []
    # And after the window the writer reads the replica again
    with override_settings(DIKOM_REPLICA_STICKY_SECONDS=0):
        late = Client()
        late.post("/api/3/action/package_create", "{}", content_type="application/json", HTTP_AUTHORIZATION="x")
        assert names(late.get("/api/3/action/package_list")) == []


def test_read_actions_posted_to_the_ckan_api_read_the_replica(replica: str, org_a: Any, key_a: str) -> None:
    # ckanapi posts every action, reads included
    pause_replay()
    make_dataset(org_a, "baeume", "Bäume")
    client = Client()
    posted = client.post("/api/3/action/package_list", "{}", content_type="application/json", HTTP_AUTHORIZATION=key_a)
    # Answered by the (paused) replica, and no sticky mark: it wrote nothing
    assert names(posted) == []
    assert replicas.STICKY_COOKIE not in client.cookies
    assert names(Client().get("/api/3/action/package_list", HTTP_AUTHORIZATION=key_a)) == []


def test_a_lagging_replica_is_skipped(replica: str, org_a: Any) -> None:
    make_dataset(org_a, "baeume", "Bäume")
    wait_until_replayed()
    pause_replay()
    time.sleep(1.2)
    make_dataset(org_a, "strassen", "Straßen")
    # A replica that has not even received the new WAL yet counts as idle (lag 0, see replicas.py);
    # under load streaming can take a moment, so wait until it has the WAL it does not replay.
    wait_until_received()
    with override_settings(DIKOM_REPLICA_MAX_LAG_SECONDS=1):
        replicas.forget_health()
        # The replica is more than a second behind: the primary answers, with both datasets
        assert names(Client().get("/api/3/action/package_list")) == ["baeume", "strassen"]
        health = replicas._health[replica]
        assert not health.healthy and "behind" in health.reason and health.lag_seconds > 1


def test_an_unreachable_replica_is_skipped(replica: str, org_a: Any) -> None:
    # A second replica that nobody serves (connection refused) next to the real one, which is paused
    _add_alias("replica2", "127.0.0.1", _free_port())
    try:
        with override_settings(DIKOM_REPLICA_ALIASES=["replica2"]):
            make_dataset(org_a, "baeume", "Bäume")
            assert names(Client().get("/api/3/action/package_list")) == ["baeume"]
            health = replicas._health["replica2"]
            assert not health.healthy and health.reason.startswith("unreachable")
    finally:
        _drop_alias("replica2")


def test_a_replica_stopped_mid_run_costs_no_request(replica: str, org_a: Any) -> None:
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("stopping the replica needs root (scripts/pg_replica.sh switches to the postgres user)")
    make_dataset(org_a, "baeume", "Bäume")
    wait_until_replayed()
    client = Client(raise_request_exception=False)
    with override_settings(DIKOM_REPLICA_CHECK_SECONDS=3600):
        assert names(client.get("/api/3/action/package_list")) == ["baeume"]
        assert replicas._health[replica].healthy
        # When the replica stops while the router still holds it for healthy
        subprocess.run([str(SCRIPT), "stop"], check=True, capture_output=True, timeout=60)  # noqa: S603 - our script
        try:
            # Then the request that meets the dead replica is served again from the primary
            assert names(client.get("/api/3/action/package_list")) == ["baeume"]
            # And the next one does not try the replica any more
            assert not replicas.check_replica(replica).healthy
            assert names(client.get("/api/3/action/package_list")) == ["baeume"]
        finally:
            subprocess.run([str(SCRIPT), "start"], check=True, capture_output=True, timeout=420)  # noqa: S603 - our script
    # Once it runs again it is used again
    replicas.forget_health()
    connections[replica].close()
    wait_until_replayed()
    names(Client().get("/api/3/action/package_list"))
    assert replicas._health[replica].healthy
