"""The PostgreSQL primary stopped (as by a crash) and started again under a live server.

The test makes a throwaway PostgreSQL cluster of its own (Debian's binaries, ``initdb`` into a
temporary directory, a free port, run as the ``postgres`` user when the test runs as root, like
``scripts/pg_replica.sh``); the machine's shared cluster on 5432 is never touched. A real
server (``manage.py serve``) on that cluster takes events and page requests; the cluster is
stopped with ``pg_ctl stop -m immediate`` (no checkpoint: what a crash leaves) and started
again. While it is down, ingestion and pages answer 503 (problem+json, resp. a German page)
with Retry-After, never 500; afterwards the same server takes the sender's retry and serves
pages again by itself, and every event acknowledged before the stop is there.
Skips without the PostgreSQL binaries (fails under DIKOM_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import skip_or_fail
from dikom.lib.testing import free_port

ROOT = Path(settings.BASE_DIR)
WAIT = 180  # seconds at most for a start or a recovery on a loaded machine
SETUP = """
from dikom.accounts.actions import create_api_key
from dikom.municipalities.models import District, Municipality
district = District.objects.create(key="06631", name="Landkreis Fulda")
city = Municipality.objects.create(name="Fulda", slug="fulda", ags="06631009", population=69000, district=district)
print(create_api_key(municipality=city, name="Formular", scopes=["analytics:ingest"]).token)
"""


class Cluster:
    """A PostgreSQL cluster of the test's own in a temporary directory."""

    def __init__(self, bindir: Path, directory: Path, port: int) -> None:
        self.bindir = bindir
        self.data = directory / "data"
        self.port = port
        self.as_owner = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]

    def run(self, program: str, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - Debian's PostgreSQL binaries
            [*self.as_owner, str(self.bindir / program), *args], capture_output=True, text=True, timeout=WAIT
        )
        assert done.returncode == 0, f"{program}: {done.stdout[-2000:]} {done.stderr[-2000:]}"

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        log = str(self.data.parent / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", str(WAIT), "start")

    def stop(self, mode: str = "immediate") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(WAIT), "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/dikom"


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        skip_or_fail("the PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin) are not installed")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root, but there is no postgres user to run PostgreSQL as")
    directory = Path(tempfile.mkdtemp(prefix="dikom-primary-"))
    if os.geteuid() == 0:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    assert bindir is not None
    instance = Cluster(bindir, directory, free_port())
    try:
        instance.init()
        instance.start()
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{instance.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE dikom")
        yield instance
    finally:
        with contextlib.suppress(AssertionError):  # not running
            instance.stop("fast")
        shutil.rmtree(directory, ignore_errors=True)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _request(port: int, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, dict[str, str], str]:
    headers = {"Accept-Language": "de"}
    if token:
        headers["Authorization"] = f"Api-Key {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


def _until_ok(port: int, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, str, list[int]]:
    """Send the request again (as a sender's retry does) until it is answered 2xx; every answer's status."""
    statuses = []
    deadline = time.monotonic() + WAIT
    while True:
        status, _, text = _request(port, method, path, body, token)
        statuses.append(status)
        if status < 300 or time.monotonic() > deadline:
            return status, text, statuses
        time.sleep(0.5)


def test_the_primary_restarted_under_a_live_server(cluster: Cluster, tmp_path: Path) -> None:
    # Given a server on the test's own PostgreSQL cluster, migrated, with an ingestion key
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DIKOM_", "DJANGO_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DATABASE_URL": cluster.url,
        "DIKOM_DATA_DIR": str(tmp_path / "data"),
        "DIKOM_API_INGEST_RATE": "1000000/min",
        "DIKOM_LOG_LEVEL": "ERROR",
        "DIKOM_TASK_LEASE_SECONDS": "4",  # the clock's own job then runs every 2 seconds
        "PYTHONPATH": str(ROOT / "src"),
    }
    _manage(env, "migrate", "-v0")
    token = _manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--threads", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def batch(prefix: str, days_ago: int = 0) -> dict[str, Any]:
        occurred = (timezone.now() - timedelta(days=days_ago, minutes=5)).isoformat()
        return {
            "events": [
                {
                    "type": "step_viewed",
                    "service": "x",
                    "step_key": "s",
                    "occurred_at": occurred,
                    "event_id": f"{prefix}{n}",
                }
                for n in range(20)
            ]
        }

    def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(cluster.url) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    try:
        status, _, statuses = _until_ok(port, "GET", "/healthz") if _wait_for_port(port, server) else (0, "", [])
        assert status == 200, statuses
        status, text, _ = _until_ok(port, "GET", "/opendata/")
        assert status == 200
        status, _, text = _request(port, "POST", "/api/v1/analytics/events", batch("before-"), token)
        assert (status, json.loads(text)["accepted"]) == (200, 20), text

        # When the primary stops as by a crash
        cluster.stop("immediate")

        # Then ingestion answers 503 with a German problem+json and stores nothing; pages a German 503 page
        status, headers, text = _request(port, "POST", "/api/v1/analytics/events", batch("during-", days_ago=2), token)
        assert status == 503, text
        assert headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in headers
        problem = json.loads(text)
        assert problem["status"] == 503
        assert "nichts" in problem["detail"], problem  # "... nothing was stored / changed", in German
        status, headers, text = _request(port, "GET", "/opendata/")
        assert status == 503, text[:2000]
        assert "retry-after" in headers
        assert "Die Datenbank ist gerade nicht erreichbar" in text
        status, _, text = _request(port, "GET", "/healthz")
        assert status == 503

        # When it is started again, the sender's retry is accepted and pages are served, without a 500 on the way
        cluster.start()
        restarted = datetime.now(UTC)
        status, text, retries = _until_ok(port, "POST", "/api/v1/analytics/events", batch("during-", days_ago=2), token)
        assert status == 200 and json.loads(text)["accepted"] == 20, (retries, text)
        assert set(retries) <= {200, 503}, retries
        status, _, pages = _until_ok(port, "GET", "/opendata/")
        assert status == 200 and set(pages) <= {200, 503}, pages
        # (the batch acknowledged before the stop is recognised as stored)
        status, _, text = _request(port, "POST", "/api/v1/analytics/events", batch("before-"), token)
        assert json.loads(text) == {"accepted": 0, "duplicates": 20, "rejected": []}, text
        # (and the task worker and the clock work again: the rollup the retried batch asked for is
        # built, and the clock's own job runs)
        _poll(
            lambda: query(
                "SELECT 1 FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s "
                "AND status = 'SUCCESSFUL' AND enqueued_at > %s",
                "%rebuild_pending_rollup",
                restarted,
            ),
            "a rollup asked for after the restart is built",
        )
        _poll(
            lambda: query(
                "SELECT 1 FROM web_periodicclaim WHERE name = 'tasks.requeue_lost' AND last_enqueued_at > %s",
                restarted,
            ),
            "the clock runs after the restart",
        )
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
        print(output[-5000:])  # shown when the test fails
    assert "Internal Server Error" not in output, output[-3000:]

    stored = sorted(row[0] for row in query("SELECT event_id FROM analytics_usageevent"))
    assert stored == sorted([f"before-{n}" for n in range(20)] + [f"during-{n}" for n in range(20)])


def _poll(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.5)


def _wait_for_port(port: int, server: subprocess.Popen[str]) -> bool:
    import socket

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0][-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")
