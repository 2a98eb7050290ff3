"""Shared helpers of the benchmark scripts: machine shape, server processes, percentiles."""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable


def machine() -> str:
    """One line describing the machine: CPUs, memory, Python, database."""
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    load = ""
    with contextlib.suppress(OSError):
        load = "load avg " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} CPUs, {mem}, {platform.python_implementation()} {platform.python_version()}, {load}"


def database_label(env: dict[str, str]) -> str:
    url = env.get("DATABASE_URL")
    if url:
        return "PostgreSQL " + url.rsplit("/", 1)[-1]
    return "SQLite (WAL) in " + env.get("DIKOM_DATA_DIR", "var/")


def bench_env(**extra: str) -> dict[str, str]:
    """Environment of a benchmark run: development settings without DEBUG, rate limit raised."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    env["DIKOM_DEBUG"] = "false"  # DEBUG keeps every SQL statement in memory
    env.setdefault("DIKOM_API_KEY_RATE", "100000000/min")
    env.setdefault("DIKOM_LOG_LEVEL", "WARNING")
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def servers(env: dict[str, str], count: int, threads: int) -> Iterator[list[int]]:
    """Start ``count`` waitress processes (``manage.py serve --no-worker``) on loopback; yields their ports."""
    procs: list[subprocess.Popen[bytes]] = []
    ports = []
    try:
        for _ in range(count):
            port = free_port()
            procs.append(
                subprocess.Popen(  # noqa: S603
                    [
                        PYTHON,
                        str(ROOT / "manage.py"),
                        "serve",
                        "--no-worker",
                        "--port",
                        str(port),
                        "--threads",
                        str(threads),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            )
            ports.append(port)
        for port in ports:
            wait_healthy(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not become healthy")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
