"""Where an ingestion request spends its time, and how many SQL statements it runs.

Method: a fresh benchmark database (as ``bench_ingest_http.py`` prepares it:
demo cooperation, generated services, one API key of Offenbach). Requests go
through Django's full request handling in this process (``django.test.Client``:
WSGI handler, every middleware, DRF, the view), without a network server, so
the figures are the platform's own cost per request.

1. SQL statements: one warm single-event request and one batch, each counted
   with ``CaptureQueriesContext`` (every statement the connection runs,
   ``BEGIN``/``COMMIT`` of the Django transaction included where the backend
   reports them).
2. CPU per request: ``--single`` single-event requests and ``--batches``
   batches of ``--batch-size`` events, timed without and then with cProfile;
   the top functions by own time are printed (``--top``).

Example::

    python benchmarks/profile_ingest.py --database postgresql --single 2000 --batches 3
    python benchmarks/profile_ingest.py --database sqlite --single 2000 --batches 3 --top 30
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest_http as bench
import common

URL = "/api/v1/analytics/events"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_profile")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom-bench-profile")  # noqa: S108 - benchmark scratch data
    parser.add_argument("--cache-url", help="DIKOM_CACHE_URL (default: the process-local memory cache).")
    parser.add_argument("--single", type=int, default=1000, help="single-event requests to time and profile.")
    parser.add_argument("--batches", type=int, default=3, help="batches to time and profile.")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25, help="functions to print per profile.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--key-lookups", type=int, default=5000, help="API key checks to time, per way of checking (0: none)."
    )
    args = parser.parse_args(argv)

    env = bench.prepare(args)
    os.environ.update(env)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    print(f"machine: {common.machine()}")
    print(f"database: {common.database_label(env)}; cache: {env.get('DIKOM_CACHE_URL') or 'process memory'}")
    # Two halves per kind: one is timed plainly, the other under the profiler.
    singles = bench.bodies(2 * args.single + 4, 1, args.seed)
    batches = bench.bodies(2 * args.batches * args.batch_size + 2 * args.batch_size, args.batch_size, args.seed + 1)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {env['BENCH_TOKEN']}", HTTP_HOST="127.0.0.1")

    def post(body: bytes) -> None:
        response = client.post(URL, data=body, content_type="application/json")
        if response.status_code not in (200, 201):
            raise SystemExit(f"unexpected answer {response.status_code}: {response.content[:300]!r}")

    # Warm-up (imports, connection, salts, markers), then count the statements of a warm request.
    post(singles.pop())
    post(batches.pop())
    for label, body in (("single event", singles.pop()), (f"batch of {args.batch_size}", batches.pop())):
        with CaptureQueriesContext(connection) as queries:
            post(body)
        print(json.dumps({"sql_statements": label, "count": len(queries.captured_queries)}))
        for query in queries.captured_queries:
            print("   ", query["sql"][:150].replace("\n", " "))

    def timed(label: str, bodies: list[bytes], events_per_body: int) -> None:
        started = time.perf_counter()
        cpu = time.process_time()
        for body in bodies:
            post(body)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        print(
            json.dumps(
                {
                    "in_process": label,
                    "requests": len(bodies),
                    "ms_per_request_wall": round(wall / len(bodies) * 1000, 3),
                    "ms_per_request_cpu": round(cpu / len(bodies) * 1000, 3),
                    "events_per_s_wall": round(len(bodies) * events_per_body / wall),
                    "load_avg": [round(x, 2) for x in os.getloadavg()],
                }
            )
        )

    def profiled(label: str, bodies: list[bytes]) -> None:
        profile = cProfile.Profile()
        profile.enable()
        for body in bodies:
            post(body)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"--- profile: {label} ---")
        print(out.getvalue())

    if args.key_lookups:
        key_lookups(env["BENCH_TOKEN"], args.key_lookups)
    if args.single:
        timed("single-event requests", singles[: args.single], 1)
        profiled(f"{args.single} single-event requests", singles[args.single : 2 * args.single])
    if args.batches:
        timed(f"batches of {args.batch_size}", batches[: args.batches], args.batch_size)
        profiled(f"{args.batches} batches of {args.batch_size}", batches[args.batches : 2 * args.batches])
    return 0


def key_lookups(token: str, count: int) -> None:
    """CPU of one API key check: with models (Django's stack) and as the fast path checks it.

    Both run the same number of times against the same key, alternating in
    rounds so that a change in the machine's speed hits both alike.
    """
    from dikom.accounts.service import authenticate_api_key, grant_of_api_key

    ways = {"authenticate_api_key (models)": authenticate_api_key, "grant_of_api_key (fast path)": grant_of_api_key}
    cpu = dict.fromkeys(ways, 0.0)
    rounds = 10
    for _round in range(rounds):
        for label, check in ways.items():
            started = time.process_time()
            for _call in range(count // rounds):
                if check(token) is None:
                    raise SystemExit(f"{label} refused the benchmark's key")
            cpu[label] += time.process_time() - started
    calls = count // rounds * rounds
    for label, seconds in cpu.items():
        print(json.dumps({"api_key_check": label, "calls": calls, "us_cpu_per_call": round(seconds / calls * 1e6, 1)}))


if __name__ == "__main__":
    sys.exit(main())
