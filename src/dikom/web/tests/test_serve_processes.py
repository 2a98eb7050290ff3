"""`manage.py serve` with several web server processes: both serve, and they count rate limits together.

The real command is started in a fresh process with two web processes (as on a two-core
machine), on a fresh SQLite database in a temporary folder. Which process answers a
connection is read from the kernel: the server end of the connection is a socket that only
the process which accepted it holds (``/proc/net/tcp`` and ``/proc/<pid>/fd``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dikom.lib.testing import child_pids as _children
from dikom.lib.testing import free_port as _free_port

ROOT = Path(__file__).resolve().parents[4]
LIMIT = 6  # sign-in returns per client and minute (DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE)
SETUP = """
from dikom.accounts.actions import create_api_key
from dikom.municipalities.models import District, Municipality
district = District.objects.create(key="06631", name="Landkreis Fulda")
city = Municipality.objects.create(name="Fulda", slug="fulda", ags="06631009", population=69000, district=district)
print(create_api_key(municipality=city, name="Formular", scopes=["analytics:ingest"]).token)
"""

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc")


@contextmanager
def _serve(tmp_path: Path, processes: int) -> Iterator[tuple[int, subprocess.Popen[str], str]]:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIKOM_", "DJANGO_")) and k != "DATABASE_URL"}
    clean |= {
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DIKOM_DATA_DIR": str(tmp_path),
        "DIKOM_WEB_PROCESSES": str(processes),
        "DIKOM_DEMO": "true",  # the demo sign-in provider, whose return address is rate-limited
        "DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE": str(LIMIT),
    }
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=clean, check=True, timeout=300
    )
    token = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", SETUP],
        env=clean,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout.split()[-1]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port), "--threads", "2"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it answers (or has died)
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "manage.py serve did not start answering"
            time.sleep(0.2)
        yield port, process, token
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _server_pid(conn: http.client.HTTPConnection, server_port: int, candidates: list[int]) -> int:
    """The process that holds the server end of ``conn`` (an open keep-alive connection)."""
    assert conn.sock is not None
    client_port = conn.sock.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            inode = fields[9]
    assert inode is not None, "server end of the connection not found"
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no server process holds the connection")


def test_two_processes_both_serve_and_share_the_rate_limit(tmp_path: Path) -> None:
    with _serve(tmp_path, processes=2) as (port, process, token):
        workers = _children(process.pid)
        assert len(workers) == 2, workers

        # Given keep-alive connections until each of the two processes holds some.
        by_pid: dict[int, list[http.client.HTTPConnection]] = {}
        opened = []
        for _ in range(200):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            opened.append(conn)
            by_pid.setdefault(_server_pid(conn, port, workers), []).append(conn)
            if len(by_pid) == 2 and min(len(c) for c in by_pid.values()) >= LIMIT:
                break
        # Then both processes serve requests.
        assert set(by_pid) == set(workers), by_pid.keys()
        first, second = (by_pid[pid] for pid in workers)

        # When the client uses its sign-in budget alternately through both processes ...
        statuses = []
        for index in range(LIMIT):
            conn = (first if index % 2 else second)[index // 2]
            conn.request("GET", "/anmeldung/demo/rueckkehr/")
            answer = conn.getresponse()
            answer.read()
            statuses.append(answer.status)
        assert 429 not in statuses, statuses  # (400: no sign-in under way, as expected)

        # ... then each process refuses the next request: they counted together
        # (each alone has seen only half of the budget).
        for conns in (first, second):
            conn = conns[-1]
            conn.request("GET", "/anmeldung/demo/rueckkehr/")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 429
            assert answer.getheader("Retry-After")

        # Usage events through the ingestion fast path and each process's group commit:
        # every 201 means the event is committed, whichever process answered.
        for number, conns in enumerate((first, second)):
            event = {"type": "service_started", "service": "hundesteuer", "event_id": f"e-{number}"}
            body = json.dumps({**event, "occurred_at": datetime.now(UTC).isoformat()})
            conns[0].request(
                "POST",
                "/api/v1/analytics/events",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            answer = conns[0].getresponse()
            assert answer.status == 201, answer.read()
            answer.read()
            with sqlite3.connect(tmp_path / "dikom.sqlite3") as db:
                stored = {row[0] for row in db.execute("SELECT event_id FROM analytics_usageevent")}
            assert f"e-{number}" in stored
        for conn in opened:
            conn.close()

    # SIGTERM stopped the web processes too.
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_several_processes_refuse_a_cache_of_one_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIKOM_", "DJANGO_")) and k != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "dikom.conf.ci", "DIKOM_DATA_DIR": str(tmp_path)}  # ci: memory cache
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--processes", "2", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "shared cache" in done.stderr
