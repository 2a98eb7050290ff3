"""Redis stopped mid-run: requests are served without shared limits, and limits count again once it is back.

A redis-server of this test's own on a free port (the machine's Redis is shared with other work and is
not stopped); skips without redis-server (fails in CI).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from django.utils import timezone

from conftest import skip_or_fail
from dikom.accounts import throttling
from dikom.analytics.api.ingest_support import take_from_budget
from dikom.analytics.tests.conftest import auth, key_for
from dikom.lib.testing import free_port as _free_port

pytestmark = pytest.mark.django_db


def _start(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(  # noqa: S603 - Debian's redis-server, loopback only
        [
            str(shutil.which("redis-server")),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(10)


@pytest.fixture
def own_redis() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed (Debian's redis-server)")
    port = _free_port()
    servers = [_start(port)]
    cache = {
        "BACKEND": "dikom.lib.resilient_cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    try:
        with override_settings(CACHES={"default": cache}):
            yield port, servers
    finally:
        caches["default"].close()
        for server in servers:
            if server.poll() is None:
                _stop(server)


def test_redis_stopped_mid_run_costs_no_request(own_redis, citizen, city_a) -> None:
    port, servers = own_redis
    cache = caches["default"]
    # Given counting in Redis: a budget of 2 refuses the third request
    assert [take_from_budget(cache, "k", 2, 60, time.time()) is None for _ in range(3)] == [True, True, False]
    assert throttling._count("dikom-test-counter", 60) == 1

    # When Redis stops
    _stop(servers[0])

    # Then nothing raises: budgets let requests through, counters start again, reads find nothing
    assert take_from_budget(cache, "k", 2, 60, time.time()) is None
    assert throttling._count("dikom-test-counter", 60) == 1
    assert cache.get("anything", "fallback") == "fallback"
    # And pages and API requests that consult limits are answered, not failed
    client = Client(raise_request_exception=True)
    assert client.get("/api/3/action/package_list").status_code == 200
    started = time.monotonic()
    ingested = client.post(
        "/api/v1/analytics/events",
        {"type": "service_started", "service": "dienst", "occurred_at": timezone.now().isoformat()},
        content_type="application/json",
        **auth(key_for(city_a, "analytics:ingest")),
    )
    assert ingested.status_code in (200, 201, 202), ingested.content[:300]
    assert time.monotonic() - started < 5  # no waiting for Redis per call
    assert client.post("/konto/anmelden/", {"username": "citizen", "password": "wrong"}).status_code in (200, 302)

    # When Redis is back, counting resumes without a restart
    servers.append(_start(port))
    assert throttling._count("dikom-test-counter-2", 60) == 1
    assert throttling._count("dikom-test-counter-2", 60) == 2
