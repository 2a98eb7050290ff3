"""Nothing acknowledged is lost when the server process is killed right after answering.

A real server (``manage.py serve``: waitress, the WSGI fast path, the group
commit) runs as its own process on a scratch database of the suite's kind
(SQLite file, or a scratch PostgreSQL database when the suite runs on
PostgreSQL). Client threads keep sending single events and batches; the moment
enough answers have come back the server gets SIGKILL, with requests still in
flight. Every event whose request was answered 2xx must then be in the
database; events of requests that got no answer may or may not be.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from dikom.lib.testing import free_port as _free_port

ROOT = Path(settings.BASE_DIR)
SETUP = """
from dikom.accounts.actions import create_api_key
from dikom.municipalities.models import District, Municipality
district = District.objects.create(key="06631", name="Landkreis Fulda")
city = Municipality.objects.create(name="Fulda", slug="fulda", ags="06631009", population=69000, district=district)
print(create_api_key(municipality=city, name="Formular", scopes=["analytics:ingest"]).token)
"""


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def scratch_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a server process with its own, freshly migrated database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
            "DIKOM_DATA_DIR": str(tmp_path / "data"),
            "DIKOM_API_INGEST_RATE": "1000000/min",
            "DIKOM_LOG_LEVEL": "WARNING",
        }
    )
    scratch_db = None
    if connection.vendor == "postgresql":
        import psycopg

        params = connection.get_connection_params()
        scratch_db = f"dikom_durability_{os.getpid()}"
        admin = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch_db}"')
            conn.execute(f'CREATE DATABASE "{scratch_db}"')
        auth = params["user"] + (f":{params['password']}" if params.get("password") else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{params.get('host') or '127.0.0.1'}:{params.get('port') or 5432}/"
        env["DATABASE_URL"] += scratch_db
    else:
        env.pop("DATABASE_URL", None)
    _manage(env, "migrate", "-v0")
    env["TEST_TOKEN"] = _manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]
    yield env
    if scratch_db:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch_db}" WITH (FORCE)')


def _stored_ids(env: dict[str, str]) -> set[str]:
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return {row[0] for row in conn.execute("SELECT event_id FROM analytics_usageevent")}
    with sqlite3.connect(Path(env["DIKOM_DATA_DIR"]) / "dikom.sqlite3") as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM analytics_usageevent")}


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_every_acknowledged_event_survives_a_kill(scratch_env):
    data_dir = Path(scratch_env["DIKOM_DATA_DIR"])
    assert "DATABASE_URL" in scratch_env or (data_dir / "dikom.sqlite3").exists()
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port), "--threads", "8"],
        env=scratch_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    acknowledged: set[str] = set()
    sent_ids: set[str] = set()
    answers = {"count": 0}
    lock = threading.Lock()
    stop = threading.Event()
    headers = {"Authorization": f"Api-Key {scratch_env['TEST_TOKEN']}", "Content-Type": "application/json"}
    occurred = (timezone.now() - timedelta(minutes=5)).isoformat()

    def event(event_id: str) -> dict[str, Any]:
        return {"type": "step_viewed", "service": "x", "step_key": "s", "occurred_at": occurred, "event_id": event_id}

    def sender(number: int) -> None:
        sent = 0
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                while not stop.is_set():
                    sent += 1
                    if number == 0:  # one thread sends batches of 200
                        ids = [f"b{number}-{sent}-{i}" for i in range(200)]
                        body: Any = {"events": [event(i) for i in ids]}
                    else:
                        ids = [f"s{number}-{sent}"]
                        body = event(ids[0])
                    with lock:
                        sent_ids.update(ids)
                    conn.request("POST", "/api/v1/analytics/events", body=json.dumps(body), headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status in (200, 201):
                        with lock:
                            acknowledged.update(ids)
                            answers["count"] += 1
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            finally:
                conn.close()

    try:
        _wait_for_port(port, server)
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while answers["count"] < 150 and time.monotonic() < deadline:
            time.sleep(0.005)
        server.send_signal(signal.SIGKILL)  # requests are in flight right now
        server.wait(10)
        with lock:
            snapshot = set(acknowledged)
        stop.set()
        for thread in threads:
            thread.join(20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)

    assert len(snapshot) >= 150
    stored = _stored_ids(scratch_env)
    lost = snapshot - stored
    assert not lost, f"{len(lost)} acknowledged events are missing, e.g. {sorted(lost)[:5]}"
    # Requests cut off unanswered may or may not have been stored; nothing else is there.
    assert stored <= sent_ids
