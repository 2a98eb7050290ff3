"""Dashboards on a read replica while ingestion runs at full speed into the primary (issue 19).

Method, in one run on one machine:

1. A fresh PostgreSQL database ``--db-name`` on the primary (``--pg-url``, default the local
   cluster on 5432) is migrated and gets the demo cooperation (with its analysts), the
   generated services and ``--history`` events of the last 60 days (``generate_events.py
   pg-copy``) with their rollups (``analytics_rebuild``), so the dashboards have something
   to show. The streaming replica of ``make replica`` (``--replica-url``, 5433) receives the
   database with the rest of the cluster.
2. Two runs of ``--seconds`` each, the same in everything but the replica:
   **one database** (``DATABASE_URL`` only) and **with replica**
   (``DIKOM_DATABASE_REPLICA_URLS`` set). Each starts ``manage.py serve --no-worker``
   (waitress, one process per core), then at once
   - ``--ingest-clients`` threads POST batches of ``--batch-size`` generated events (bodies
     made before the clock starts, other events in each run) to ``/api/v1/analytics/events``
     as fast as answers come back;
   - ``--dashboard-clients`` threads, signed in as Offenbach's analyst, GET the analytics
     overview (30 days) and the city comparison page in turn, as fast as answers come back;
   - a sampler reads the replica's lag every 0.5 s: bytes of WAL the replica has not yet
     replayed (``pg_current_wal_lsn()`` on the primary against
     ``pg_last_wal_replay_lsn()``) and the lag in seconds as the router computes it (0 when
     everything received is replayed, else ``now() - pg_last_xact_replay_timestamp()``).
   The replica streams the primary's WAL in both runs; only the second reads from it. Which
   database answered is read from ``pg_stat_database.xact_commit`` of the benchmark
   database on the replica (transactions there during the run).
3. Reported per run: ingestion rate (accepted events / s), dashboard requests, their p50 and
   p95, the lag (median, max), the replica's transactions, and the load average.

Example::

    make replica
    python benchmarks/bench_replica_dashboards.py --seconds 20 --history 200000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest_http as ingest_bench
import common
import generate_events as gen

CITY_AGS = "06413000"  # Offenbach am Main


@dataclass
class Run:
    label: str
    ingest_requests: int = 0
    accepted: int = 0
    ingest_errors: list[str] = field(default_factory=list)
    dashboard_latencies: list[float] = field(default_factory=list)
    dashboard_errors: list[str] = field(default_factory=list)
    lag_bytes: list[int] = field(default_factory=list)
    lag_seconds: list[float] = field(default_factory=list)
    replica_transactions: int = 0
    seconds: float = 0.0
    load: str = ""

    def row(self) -> dict[str, Any]:
        latencies = self.dashboard_latencies
        return {
            "run": self.label,
            "seconds": round(self.seconds, 1),
            "ingested_events_per_s": round(self.accepted / self.seconds) if self.seconds else 0,
            "ingest_requests": self.ingest_requests,
            "ingest_errors": len(self.ingest_errors),
            "dashboard_requests": len(latencies),
            "dashboard_p50_ms": round(common.percentile(latencies, 50) * 1000, 1),
            "dashboard_p95_ms": round(common.percentile(latencies, 95) * 1000, 1),
            "dashboard_errors": len(self.dashboard_errors),
            "lag_bytes_median": int(statistics.median(self.lag_bytes)) if self.lag_bytes else None,
            "lag_bytes_max": max(self.lag_bytes) if self.lag_bytes else None,
            "lag_seconds_median": round(statistics.median(self.lag_seconds), 2) if self.lag_seconds else None,
            "lag_seconds_max": round(max(self.lag_seconds), 2) if self.lag_seconds else None,
            "lag_samples": len(self.lag_bytes),
            "replica_transactions": self.replica_transactions,
            "load_avg": self.load,
        }


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """Fresh database with the demo cooperation, history and rollups; returns the server environment."""
    import psycopg

    env = common.bench_env(
        DATABASE_URL=f"{args.pg_url}/{args.db_name}",
        DIKOM_DATA_DIR=args.data_dir,
        DIKOM_API_INGEST_RATE="100000000/min",
        DIKOM_ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        DIKOM_REQUIRE_2FA_FOR_STAFF="false",
    )
    os.environ.update(env)
    if not args.reuse:
        with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)'.encode())
            conn.execute(f'CREATE DATABASE "{args.db_name}"'.encode())
        common.manage(env, "migrate", "-v0")
        common.manage(env, "createcachetable")
        common.manage(env, "collectstatic", "--noinput", "-v0")
        load_history(args, env)
    gen.setup_django()

    from django.conf import settings
    from django.test import Client

    from dikom.accounts.actions import create_api_key
    from dikom.accounts.models import User
    from dikom.municipalities.models import Municipality

    city = Municipality.objects.get(ags=CITY_AGS)
    key = create_api_key(municipality=city, name="benchmark", scopes=["analytics:ingest"])
    client = Client()
    client.force_login(User.objects.get(username=f"{city.slug}-analyst"))
    env["BENCH_TOKEN"] = key.token
    env["BENCH_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    env["BENCH_CITY"] = city.slug
    return env


def load_history(args: argparse.Namespace, env: dict[str, str]) -> None:
    """The demo cooperation, the generated services, ``--history`` events of 60 days and their rollups."""
    common.manage(env, "shell", "-c", "from dikom.demo.actions import load_demo_cooperation; load_demo_cooperation()")
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [
            common.PYTHON,
            str(Path(__file__).resolve().parent / "generate_events.py"),
            "pg-copy",
            "--events",
            str(args.history),
            "--days",
            "60",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    common.manage(env, "analytics_rebuild")
    print(f"prepared: {args.history:,} events of 60 days and their rollups in {time.perf_counter() - started:.0f} s")


def _replica_transactions(args: argparse.Namespace) -> int:
    import psycopg

    with psycopg.connect(f"{args.replica_url}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [args.db_name]
        ).fetchone()
    return int(row[0]) if row else 0


def _sample_lag(args: argparse.Namespace, run: Run, stop: threading.Event) -> None:
    import psycopg

    with (
        psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as primary,
        psycopg.connect(f"{args.replica_url}/postgres", autocommit=True) as replica,
    ):
        while not stop.wait(0.5):
            current = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
            row = replica.execute(
                "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()), "
                "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END",
                [current[0] if current else None],
            ).fetchone()
            if row and row[0] is not None:
                run.lag_bytes.append(max(int(row[0]), 0))
                run.lag_seconds.append(float(row[1] or 0))


def measure(args: argparse.Namespace, env: dict[str, str], label: str, payloads: list[bytes]) -> Run:
    run = Run(label)
    lock = threading.Lock()
    queue = list(reversed(payloads))
    stop = threading.Event()
    city = env["BENCH_CITY"]
    since, until = gen.recent_period(30)
    pages = [f"/analytics/{city}/?period=custom&since={since}&until={until}", f"/analytics/vergleich/{city}/"]

    def ingest(port: int) -> None:
        headers = {"Authorization": f"Api-Key {env['BENCH_TOKEN']}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while not stop.is_set():
            with lock:
                if not queue:
                    return
                body = queue.pop()
            conn.request("POST", "/api/v1/analytics/events", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            with lock:
                run.ingest_requests += 1
                if response.status in (200, 201):
                    run.accepted += json.loads(answer)["accepted"]
                else:
                    run.ingest_errors.append(f"{response.status} {answer[:200]!r}")

    def dashboards(port: int, number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        turn = number
        while not stop.is_set():
            path = pages[turn % len(pages)]
            turn += 1
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": env["BENCH_COOKIE"]})
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                if response.status == 200:
                    run.dashboard_latencies.append(elapsed)
                else:
                    run.dashboard_errors.append(f"{path}: {response.status} {body[:200]!r}")

    with common.servers(env, 1, args.threads) as ports:
        port = ports[0]
        for path in pages:  # warm-up, and the pages must answer
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", path, headers={"Cookie": env["BENCH_COOKIE"]})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        before = _replica_transactions(args)
        threads = [threading.Thread(target=ingest, args=(port,)) for _ in range(args.ingest_clients)]
        threads += [threading.Thread(target=dashboards, args=(port, n)) for n in range(args.dashboard_clients)]
        sampler = threading.Thread(target=_sample_lag, args=(args, run, stop))
        started = time.perf_counter()
        for thread in [*threads, sampler]:
            thread.start()
        while time.perf_counter() - started < args.seconds and any(
            t.is_alive() for t in threads[: args.ingest_clients]
        ):
            time.sleep(0.1)
        stop.set()
        for thread in [*threads, sampler]:
            thread.join()
        run.seconds = time.perf_counter() - started
        run.replica_transactions = _replica_transactions(args) - before
        run.load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if not queue and run.seconds < args.seconds:
        print(f"note: {label}: the prepared events ran out after {run.seconds:.1f} s (raise --events)")
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--replica-url", default="postgres://postgres@127.0.0.1:5433")
    parser.add_argument("--db-name", default="dikom_bench_replica")
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "dikom-bench-replica"),
        help="DIKOM_DATA_DIR (static files)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database prepared by an earlier run")
    parser.add_argument("--history", type=int, default=200_000, help="events loaded before the runs")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--events", type=int, default=400_000, help="events prepared for each run's ingestion")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11, help="generator seed of the first run (the second: +1)")
    parser.add_argument("--ingest-clients", type=int, default=4)
    parser.add_argument("--dashboard-clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="threads per web server process")
    args = parser.parse_args(argv)

    print(f"machine: {common.machine()}")
    env = prepare(args)
    replica = f"{args.replica_url}/{args.db_name}"
    rows = []
    for seed, (label, extra) in enumerate(
        [("one database", {}), ("with replica", {"DIKOM_DATABASE_REPLICA_URLS": replica})], start=args.seed
    ):
        payloads = ingest_bench.bodies(args.events, args.batch_size, seed)
        run = measure(args, env | extra, label, payloads)
        row = run.row()
        rows.append(row)
        print(json.dumps(row), flush=True)
        for error in (run.ingest_errors + run.dashboard_errors)[:3]:
            print(f"  error: {error}")
    print()
    print(
        "| run | ingestion (events/s) | dashboard requests | p50 (ms) | p95 (ms) | lag median / max (s) | lag max (kB) | replica transactions | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['run']} | {row['ingested_events_per_s']:,} | {row['dashboard_requests']} | "
            f"{row['dashboard_p50_ms']} | {row['dashboard_p95_ms']} | {row['lag_seconds_median']} / "
            f"{row['lag_seconds_max']} | {(row['lag_bytes_max'] or 0) / 1024:,.0f} | {row['replica_transactions']} | "
            f"{row['load_avg']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
