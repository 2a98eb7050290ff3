"""clients/python/dikom_analytics.py against a real ``manage.py serve`` process.

The server runs as its own process (waitress, the WSGI fast path, Django's body
limit) on a scratch database, as in ``test_ingest_durability``. Checked here:
a batch larger than the server's body limit arrives without a 413; events sent
while the server is down wait in the spool file and arrive once it is up
again; the client file works on every Python 3.9+ interpreter of this machine.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings

from dikom.analytics.tests.test_ingest_durability import (  # noqa: F401 - scratch_env is a fixture
    ROOT,
    _free_port,
    _stored_ids,
    _wait_for_port,
    scratch_env,
)

CLIENT_FILE = ROOT / "clients" / "python" / "dikom_analytics.py"
SERVE = [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--processes", "1", "--threads", "4"]
SERVER_LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # DIKOM_MAX_REQUEST_BYTES: larger bodies get 413
COMMENT = ("Das Formular war verständlich, aber die Zahlung dauerte zu lange. " * 40)[:2000]  # the longest allowed

INTERPRETERS = {
    version: next(
        (
            str(path)
            for path in [
                Path(f"/usr/bin/python{version}"),
                *sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python{version}")),
            ]
            if path.exists()
        ),
        None,
    )
    for version in ("3.9", "3.10", "3.11", "3.12", "3.13")
}


@pytest.fixture(scope="module")
def dikom_analytics() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("dikom_analytics", CLIENT_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["dikom_analytics"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("dikom_analytics", None)


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [*SERVE, "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture
def server(scratch_env: dict[str, str]) -> Iterator[Server]:  # noqa: F811 - the imported fixture
    running = Server(scratch_env)
    running.start()
    yield running
    running.stop()


def feedback(dikom_analytics: ModuleType, count: int) -> list[dict[str, Any]]:
    return [
        dikom_analytics.DikomAnalytics.build_event("feedback", "anwohnerparken", rating=1 + i % 5, comment=COMMENT)
        for i in range(count)
    ]


def record_posts(client: Any) -> list[tuple[int, int]]:
    """(body bytes, status) of every request the client makes."""
    posts: list[tuple[int, int]] = []
    real_post = client._post

    def post(body: bytes) -> dict[str, Any]:
        try:
            result = real_post(body)
        except Exception as error:
            posts.append((len(body), getattr(error, "status", 0) or 0))
            raise
        posts.append((len(body), 200))
        return result

    client._post = post
    return posts


def test_a_batch_above_the_body_limit_arrives_without_a_413(server, dikom_analytics):
    token = server.env["TEST_TOKEN"]
    events = feedback(dikom_analytics, 6000)  # fewer than 10 000, but ~13 MB of JSON
    one_body = json.dumps({"events": events}).encode()
    assert len(one_body) > SERVER_LIMIT
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request(
        "POST",
        "/api/v1/analytics/events",
        body=one_body,
        headers={"Authorization": f"Api-Key {token}", "Content-Type": "application/json"},
    )
    answer = connection.getresponse()
    answer.read()
    connection.close()
    assert answer.status == 413  # what the old client (count only) got

    client = dikom_analytics.DikomAnalytics(server.url, token, timeout=60)
    posts = record_posts(client)
    result = client.send(events)

    assert result == {"accepted": 6000, "duplicates": 0, "rejected": [], "pending": 0}
    assert len(posts) >= 2
    assert all(size <= dikom_analytics.MAX_BYTES < SERVER_LIMIT and status == 200 for size, status in posts)
    assert {event["event_id"] for event in events} <= _stored_ids(server.env)

    # A client told a limit above the server's (a proxy with a lower limit, say) learns it from one 413.
    optimistic = dikom_analytics.DikomAnalytics(server.url, token, timeout=60, max_bytes=64 * 1024 * 1024)
    posts = record_posts(optimistic)
    more = feedback(dikom_analytics, 6000)
    assert optimistic.send(more) == {"accepted": 6000, "duplicates": 0, "rejected": [], "pending": 0}
    assert [status for _size, status in posts].count(413) == 1
    assert optimistic.max_bytes <= SERVER_LIMIT
    assert len(_stored_ids(server.env)) == 12_000


def test_events_sent_while_the_server_is_down_arrive_once_it_is_up(server, dikom_analytics, tmp_path):
    token = server.env["TEST_TOKEN"]
    spool = tmp_path / "dikom-spool.jsonl"
    server.stop()

    form = dikom_analytics.DikomAnalytics(server.url, token, max_retries=2, sleep=lambda s: None, spool_path=spool)
    first = form.event("service_started", "anwohnerparken", visit_id="antrag-7")
    with form.batch() as batch:
        batch.event("step_viewed", "anwohnerparken", step_key="antragsteller", visit_id="antrag-7")
        batch.event("submitted", "anwohnerparken", visit_id="antrag-7")

    assert first["pending"] == 1 and batch.result["pending"] == 3
    kept = [json.loads(line) for line in spool.read_text().splitlines()]
    assert [event["type"] for event in kept] == ["service_started", "step_viewed", "submitted"]

    server.start()
    # A new process of the form system (a new client on the same spool file) sends them first.
    restarted = dikom_analytics.DikomAnalytics(server.url, token, spool_path=spool)
    last = restarted.event("feedback", "anwohnerparken", rating=5, visit_id="antrag-7")

    assert last == {"accepted": 4, "duplicates": 0, "rejected": [], "pending": 0}
    assert not spool.exists()
    assert {event["event_id"] for event in kept} < _stored_ids(server.env)
    assert len(_stored_ids(server.env)) == 4


SCRIPT = """
import json, sys
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[1])
import dikom_analytics as d
client = d.DikomAnalytics(sys.argv[2], sys.argv[3], max_retries=1)
try:
    client.event("submitted", "anwohnerparken", occurred_at=datetime(2026, 1, 1, 9, 0))
    naive = "accepted"
except d.NaiveDatetimeError as error:
    naive = str(error)
with client.batch() as batch:
    batch.event("service_started", "anwohnerparken", event_id="py" + sys.argv[4] + "-1")
    batch.event("submitted", "anwohnerparken", event_id="py" + sys.argv[4] + "-2", occurred_at=datetime.now(timezone.utc))
print(json.dumps({"version": list(sys.version_info[:2]), "naive": naive, "result": batch.result}))
"""


def test_the_client_runs_on_each_python_version_the_readme_names(server):
    found = {version: path for version, path in INTERPRETERS.items() if path}
    # Every supported interpreter this machine has (CI's has 3.9 to 3.13 under pyenv); at least the one running.
    found.setdefault(f"{sys.version_info.major}.{sys.version_info.minor}", sys.executable)
    expected: set[str] = set()
    for version, interpreter in found.items():  # one server (one migrated database) for all
        done = subprocess.run(  # noqa: S603 - a local interpreter running our own client file
            [interpreter, "-I", "-c", SCRIPT, str(CLIENT_FILE.parent), server.url, server.env["TEST_TOKEN"], version],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"Python {version}: {done.stderr[-2000:]}"
        report = json.loads(done.stdout)

        assert report["version"] == [int(part) for part in version.split(".")]
        assert "no time zone" in report["naive"], version
        assert report["result"] == {"accepted": 2, "duplicates": 0, "rejected": [], "pending": 0}, version
        expected |= {f"py{version}-1", f"py{version}-2"}
    assert _stored_ids(server.env) == expected
