"""`manage.py serve` (waitress) behind a TLS-terminating proxy: the proxy's X-Forwarded-Proto
makes requests secure, so DIKOM_SSL_REDIRECT does not redirect them again and again; the same
header from any other peer is ignored.

Each case starts the real command in a fresh process, as an operator would.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dikom.lib.testing import free_port as _free_port

ROOT = Path(__file__).resolve().parents[4]
STATIC_FILE = "/static/dikom/css/dikom.css"


@contextmanager
def _serve(tmp_path: Path, **env: str) -> Iterator[int]:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIKOM_", "DJANGO_")) and k != "DATABASE_URL"}
    clean |= {
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DIKOM_DATA_DIR": str(tmp_path),
        "DIKOM_SSL_REDIRECT": "true",
        "DIKOM_ALLOWED_HOSTS": "127.0.0.1",
    } | env
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port), "--threads", "1"],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it listens (or has died)
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "manage.py serve did not start listening"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(port: int, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", STATIC_FILE, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_https_from_the_trusted_proxy_is_not_redirected(tmp_path: Path) -> None:
    with _serve(tmp_path, DIKOM_TRUSTED_PROXY="127.0.0.1") as port:
        response = _get(port, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})

    assert response.status == 200
    assert response.getheader("Location") is None


def test_plain_http_from_the_trusted_proxy_is_redirected(tmp_path: Path) -> None:
    with _serve(tmp_path, DIKOM_TRUSTED_PROXY="127.0.0.1") as port:
        response = _get(port, {"X-Forwarded-Proto": "http"})

    assert response.status == 301
    assert response.getheader("Location") == f"https://127.0.0.1{STATIC_FILE}"


def test_the_header_of_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    with _serve(tmp_path, DIKOM_TRUSTED_PROXY="192.0.2.1") as port:
        response = _get(port, {"X-Forwarded-Proto": "https"})

    assert response.status == 301
    assert response.getheader("Location", "").startswith("https://")


def test_without_a_trusted_proxy_the_header_counts_for_nothing(tmp_path: Path) -> None:
    with _serve(tmp_path) as port:
        response = _get(port, {"X-Forwarded-Proto": "https"})

    assert response.status == 301
