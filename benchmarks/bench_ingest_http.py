"""Ingestion throughput through the HTTP API, next to the physical limit of the database.

Method: a fresh benchmark database (SQLite in a temporary data dir, or a
PostgreSQL database that is dropped and recreated) is migrated and gets the
demo cooperation, the generated services and one API key of Offenbach. The
request bodies are generated before the clock starts (deterministic
generator, last 30 days, every event with event id and visit id). Then
``--servers`` waitress processes (``manage.py serve --no-worker``, the
platform's own server) listen on 127.0.0.1 and ``--clients`` client threads
with keep-alive connections send the bodies round-robin until the bounded
number of requests is used up. Throughput = accepted events / wall time from
the first request to the last answer. Every answer is checked (200/201,
``accepted`` + ``duplicates`` = events sent).

Physical limit (PostgreSQL): the rows the API stored are copied out, deleted
and ``COPY``ed back into the same events table (same indexes, constraints and
foreign keys) in one transaction; on SQLite the same rows go back with one
``executemany`` per 100 000 rows. The ratio API/limit says how much the
platform costs on top of the database.

The rollup worker is not running (``--no-worker``): the numbers are the
ingestion path alone; rollup rebuilds run as tasks later.

Example::

    python benchmarks/bench_ingest_http.py --database postgresql --events 100000 --batch-size 10000 --concurrency 4 \
        --single 3000 --single-concurrency 16
    python benchmarks/bench_ingest_http.py --database sqlite --events 60000 --servers 1 --single 3000

Every figure is printed as one JSON line with the load average (1, 5, 15
minutes) read right after it: on a shared machine read the ratio to ``COPY``
of the same run, not the absolute figure.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import generate_events as gen

CITY = ("offenbach", "Offenbach am Main", "06413000", 131_000)


@dataclass
class RunResult:
    requests: int = 0
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_pids(ports: Sequence[int]) -> list[int]:
    """The waitress processes listening on ``ports`` (found by their command line)."""
    wanted = {str(port) for port in ports}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and b"--port" in args:
            port = args[args.index(b"--port") + 1].decode()
            if port in wanted:
                pids.append(int(entry.name))
    return pids


def database_pids() -> list[int]:
    """PostgreSQL backends connected to the benchmark database (the servers keep theirs open)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def cpu_snapshot(ports: Sequence[int]) -> dict[str, float]:
    """CPU seconds so far of the servers, their database backends and this (client) process."""
    times = os.times()
    return {
        "server": sum(_cpu_seconds(pid) for pid in server_pids(ports)),
        "database": sum(_cpu_seconds(pid) for pid in database_pids()),
        "client": times.user + times.system,
    }


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """Fresh database, services and an API key; returns the server environment (with ``BENCH_TOKEN``)."""
    # The ingest budget (default 120 000 requests a minute) would cut off the single-event run.
    extra = {"DIKOM_API_INGEST_RATE": "100000000/min"}
    if args.cache_url:
        extra["DIKOM_CACHE_URL"] = args.cache_url
    if args.database == "postgresql":
        import psycopg

        with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}"')
            conn.execute(f'CREATE DATABASE "{args.db_name}"')
        extra["DATABASE_URL"] = f"{args.pg_url}/{args.db_name}"
    else:
        data_dir = Path(args.sqlite_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        extra["DIKOM_DATA_DIR"] = str(data_dir)
        os.environ.pop("DATABASE_URL", None)
    env = common.bench_env(**extra)
    os.environ.update(env)
    common.manage(env, "migrate", "-v0")
    gen.setup_django()
    from dikom.accounts.actions import create_api_key
    from dikom.demo.actions import load_demo_cooperation
    from dikom.municipalities.models import Municipality

    load_demo_cooperation()  # the cities only: the rest of the demo (online services, applications) is not needed
    gen.register_services()
    key = create_api_key(
        municipality=Municipality.objects.get(ags=CITY[2]),
        name="benchmark",
        scopes=["analytics:ingest", "analytics:read"],
    )
    env["BENCH_TOKEN"] = key.token
    env["BENCH_PREFIX"] = key.api_key.prefix
    return env


def bodies(total_events: int, size: int, seed: int) -> list[bytes]:
    """Request bodies with ``total_events`` generated events of the last 30 days, ``size`` per body."""
    since, until = gen.recent_period(30)
    # The scale is estimated from an average day; the season of the last 30 days can yield fewer
    # events, so the scale grows until the period holds ``total_events`` (exactly that many are sent).
    scale = gen.scale_for(int(total_events * 1.05), 30, seed)
    while True:
        events = list(islice(gen.Generator(seed=seed, scale=scale).events(since, until), total_events))
        if len(events) == total_events or total_events == 0:
            break
        scale *= 1.1 * total_events / max(len(events), 1)
    if size == 1:
        return [json.dumps(gen.to_json(e), separators=(",", ":")).encode() for e in events]
    return list(gen.json_batches(iter(events), size))


def run(ports: Sequence[int], token: str, payloads: list[bytes], clients: int) -> RunResult:
    """Send ``payloads`` with ``clients`` keep-alive connections (round-robin over ``ports``)."""
    result = RunResult()
    lock = threading.Lock()
    queue = list(reversed(payloads))
    headers = {"Authorization": f"Api-Key {token}", "Content-Type": "application/json"}

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[number % len(ports)], timeout=300)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", "/api/v1/analytics/events", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                result.requests += 1
                result.latencies.append(elapsed)
                if response.status not in (200, 201):
                    result.errors.append(f"{response.status}: {answer[:200]!r}")
                    continue
                data = json.loads(answer)
                result.accepted += data["accepted"]
                result.duplicates += data["duplicates"]
        conn.close()

    result.events = sum(body.count(b'"type"') for body in payloads)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    cpu_before = cpu_snapshot(ports)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    cpu_after = cpu_snapshot(ports)
    result.cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    return result


WRK_SCRIPT = r"""
-- Single-event requests for dikom's ingestion benchmark: every request a different
-- generated event (one JSON body per line of BODIES), the API key in TOKEN.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local threads = {}
-- Each wrk process (one per server) starts at its own share of the bodies.
local stride = math.floor(#bodies / tonumber(os.getenv("WRK_THREADS_TOTAL")))
local offset = stride * tonumber(os.getenv("WRK_INDEX"))
function setup(thread)
  thread:set("first", offset)
  offset = offset + stride
  table.insert(threads, thread)
end
local n = 0
created, ok, other = 0, 0, 0  -- globals: done() reads them with thread:get
local headers = {["Authorization"] = "Api-Key " .. os.getenv("TOKEN"), ["Content-Type"] = "application/json"}
function request()
  local body = bodies[(first + n) % #bodies + 1]
  n = n + 1
  return wrk.format("POST", "/api/v1/analytics/events", headers, body)
end
function response(status, hdrs, body)
  if status == 201 then created = created + 1 elseif status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local c, o, x = 0, 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("ok"); x = x + t:get("other") end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "created": %d, "ok": %d, "other": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, c, o, x,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(ports: Sequence[int], token: str, singles: list[bytes], connections: int, seconds: int) -> dict[str, Any]:
    """Single events with wrk (C, keep-alive; one wrk per server port, run together) for ``seconds``.

    wrk's own CPU is a fraction of a Python client's, so more of the two cores is left to the
    servers and the database; every answer's status is counted (201 stored, 200 duplicate).
    """
    import resource
    import shutil
    import subprocess
    import tempfile

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --single-client python")
    with tempfile.TemporaryDirectory() as scratch:
        bodies = Path(scratch) / "bodies.jsonl"
        bodies.write_bytes(b"\n".join(singles) + b"\n")
        script = Path(scratch) / "single.lua"
        script.write_text(WRK_SCRIPT)
        per_port = max(1, connections // len(ports))
        env = {**os.environ, "BODIES": str(bodies), "TOKEN": token, "WRK_THREADS_TOTAL": str(len(ports))}
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_before = cpu_snapshot(ports)
        started = time.perf_counter()
        procs = [
            subprocess.Popen(  # noqa: S603 - wrk from the system, fixed arguments
                [
                    wrk,
                    "-t1",
                    f"-c{per_port}",
                    f"-d{seconds}s",
                    "--timeout",
                    "30s",
                    "-s",
                    str(script),
                    f"http://127.0.0.1:{port}/api/v1/analytics/events",
                ],
                env={**env, "WRK_INDEX": str(index)},
                stdout=subprocess.PIPE,
                text=True,
            )
            for index, port in enumerate(ports)
        ]
        outputs = [proc.communicate()[0] for proc in procs]
        wall = time.perf_counter() - started
        cpu_after = cpu_snapshot(ports)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [json.loads(line) for out in outputs for line in out.splitlines() if line.startswith("{")]
    total = {key: sum(line[key] for line in lines) for key in ("requests", "created", "ok", "other", "socket_errors")}
    seconds_run = max(line["seconds"] for line in lines)
    cpu = {name: cpu_after[name] - cpu_before[name] for name in ("server", "database")}
    cpu["client"] = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    result = {
        "benchmark": f"single-event requests (wrk, {per_port * len(ports)} connections over {len(ports)} servers)",
        **total,
        "connections": per_port * len(ports),
        "seconds": round(seconds_run, 2),
        "requests_per_s": round(total["requests"] / seconds_run, 1),
        "latency_p50_ms": max(line["p50_ms"] for line in lines),
        "latency_p95_ms": max(line["p95_ms"] for line in lines),
        "latency_p99_ms": max(line["p99_ms"] for line in lines),
        "wall_seconds": round(wall, 2),
        "load_avg": load_avg(),
    }
    if total["requests"]:
        per_request = {name: value * 1000 / total["requests"] for name, value in cpu.items()}
        result["cpu_ms_per_request"] = {name: round(ms, 3) for name, ms in per_request.items()}
        result["cpu_bound_requests_per_s"] = round((os.cpu_count() or 1) * 1000 / sum(per_request.values()), 1)
    print(json.dumps(result))
    return result


def physical_limit(prefix: str) -> tuple[int, float]:
    """Copy the rows stored by the API out, delete them, load them back with COPY / executemany; (rows, seconds)."""
    from django.db import connection, transaction

    from dikom.analytics.models import UsageEvent

    columns = ", ".join(gen.EVENT_COLUMNS)
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        buffer = io.BytesIO()
        with raw.cursor() as cursor:
            with cursor.copy(
                f"COPY (SELECT {columns} FROM {table} WHERE api_key_prefix = %s) TO STDOUT",  # noqa: S608
                (prefix,),
            ) as copy:
                for chunk in copy:
                    buffer.write(chunk)
            cursor.execute(f"DELETE FROM {table} WHERE api_key_prefix = %s", (prefix,))  # noqa: S608
        raw.commit()
        with raw.cursor() as cursor:
            cursor.execute(f"VACUUM {table}")
        data = buffer.getvalue()
        started = time.perf_counter()
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(data)
        raw.commit()
        seconds = time.perf_counter() - started
        return data.count(b"\n"), seconds
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE api_key_prefix = %s", [prefix])  # noqa: S608
        rows = cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE api_key_prefix = %s", [prefix])  # noqa: S608
    raw = connection.connection
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(gen.EVENT_COLUMNS))})"  # noqa: S608
    started = time.perf_counter()
    for start in range(0, len(rows), 100_000):
        raw.executemany(sql, rows[start : start + 100_000])
        raw.commit()
    return len(rows), time.perf_counter() - started


def stored_singles(seed: int) -> int:
    """Events of the single-event run stored so far (their generated event ids start with ``g<seed>-``)."""
    from dikom.analytics.models import UsageEvent

    return UsageEvent.objects.filter(event_id__startswith=f"g{seed}-").count()


def settled_count(seed: int) -> int:
    """``stored_singles`` once requests still in flight when wrk stopped have been stored (at most 10 s)."""
    count = stored_singles(seed)
    for _attempt in range(20):
        time.sleep(0.5)
        again = stored_singles(seed)
        if again == count:
            break
        count = again
    return count


def check_singles(answer: dict[str, Any], stored: int, generated: int) -> list[str]:
    """What is wrong with a wrk run of single events; prints the check either way.

    Every event was sent once and must be answered 201 and be in the database.
    wrk stops with requests in flight: the servers store those events, but
    their answers are not counted, so up to one event per connection may be
    stored beyond the 201 answers, never fewer.
    """
    in_flight = stored - answer["created"]
    failures = []
    if answer["other"] or answer["socket_errors"]:
        failures.append(f"{answer['other']} answers other than 201/200 and {answer['socket_errors']} socket errors")
    if answer["ok"] or answer["requests"] > generated:
        failures.append(f"{answer['ok']} events were sent twice: raise --single above {answer['requests']}")
    if not 0 <= in_flight <= answer["connections"]:
        failures.append(
            f"{stored} events stored for {answer['created']} answers 201: "
            f"{in_flight} is outside 0 … {answer['connections']} (one in flight per connection)"
        )
    print(
        json.dumps(
            {
                "check": "every 201 answer is an event stored; beyond them at most one per connection (in flight)",
                "created": answer["created"],
                "stored": stored,
                "stored_while_in_flight": in_flight,
                "passed": not failures,
            }
        )
    )
    return failures


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def report(title: str, result: RunResult) -> dict[str, Any]:
    rate = result.accepted / result.seconds if result.seconds else 0
    line = {
        "benchmark": title,
        "requests": result.requests,
        "events_sent": result.events,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "errors": len(result.errors),
        "seconds": round(result.seconds, 2),
        "events_per_s": round(rate),
        "requests_per_s": round(result.requests / result.seconds, 1) if result.seconds else 0,
        "latency_p50_ms": round(common.percentile(result.latencies, 50) * 1000, 1),
        "latency_p95_ms": round(common.percentile(result.latencies, 95) * 1000, 1),
        "load_avg": load_avg(),
    }
    if result.requests:
        # CPU per request does not depend on how busy the machine is (much): with the load of
        # others the wall-clock rate falls, the CPU cost stays. cores / CPU per request is the
        # rate an idle machine of this shape could reach if nothing else limited it.
        per_request = {name: seconds * 1000 / result.requests for name, seconds in result.cpu.items()}
        total = sum(per_request.values())
        line["cpu_ms_per_request"] = {name: round(ms, 3) for name, ms in per_request.items()}
        if total:
            line["cpu_bound_requests_per_s"] = round((os.cpu_count() or 1) * 1000 / total, 1)
    print(json.dumps(line))
    for error in result.errors[:3]:
        print("  error:", error, file=sys.stderr)
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_ingest")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom-bench-sqlite")  # noqa: S108 - benchmark scratch data
    parser.add_argument("--cache-url", help="DIKOM_CACHE_URL for the rate limiter (default: each process's memory).")
    # The defaults are the shape of the figures in docs/benchmarks.md.
    parser.add_argument("--servers", type=int, default=3, help="waitress processes (one port each).")
    parser.add_argument("--threads", type=int, default=32, help="threads per waitress process.")
    parser.add_argument("--concurrency", "--clients", dest="concurrency", type=int, default=4, help="batch clients.")
    parser.add_argument("--events", type=int, default=100_000, help="events to send in batches (0: none).")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=0, help="single-event requests to send afterwards.")
    parser.add_argument("--single-concurrency", "--single-clients", dest="single_concurrency", type=int, default=96)
    parser.add_argument(
        "--single-client",
        choices=["python", "wrk"],
        default="wrk",
        help="who sends the single events: Python threads (--single requests) or wrk (--single-seconds long, "
        "cycling through --single generated events).",
    )
    parser.add_argument("--single-seconds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-limit", action="store_true", help="skip the COPY / executemany comparison.")
    args = parser.parse_args(argv)

    env = prepare(args)
    print(f"machine: {common.machine()}")
    print(f"database: {common.database_label(env)}; cache: {env.get('DIKOM_CACHE_URL') or 'process memory'}")
    print(
        f"servers: {args.servers} × waitress ({args.threads} threads), clients: {args.concurrency} (batches) / "
        f"{args.single_concurrency} (single events) keep-alive threads, loopback"
    )
    t = time.perf_counter()
    payloads = bodies(args.events, args.batch_size, args.seed) if args.events else []
    singles = bodies(args.single, 1, args.seed + 1000) if args.single else []
    print(
        f"generated {len(payloads)} batch bodies ({sum(map(len, payloads)) / 1e6:.1f} MB) and {len(singles)} "
        f"single events in {time.perf_counter() - t:.1f} s (not timed)"
    )
    with common.servers(env, args.servers, args.threads) as ports:
        # Warm-up: one small request per server (imports, connections).
        run(ports, env["BENCH_TOKEN"], bodies(len(ports) * 2, 2, args.seed + 2000), len(ports))
        if payloads:
            batch = report(
                f"batch ingestion HTTP, {args.batch_size} events/request",
                run(ports, env["BENCH_TOKEN"], payloads, args.concurrency),
            )
        if singles and args.single_client == "wrk":
            before = stored_singles(args.seed + 1000)
            answer = run_wrk(ports, env["BENCH_TOKEN"], singles, args.single_concurrency, args.single_seconds)
            failures = check_singles(answer, settled_count(args.seed + 1000) - before, len(singles))
            if failures:
                for failure in failures:
                    print(f"FAILED: {failure}", file=sys.stderr)
                return 1
        elif singles:
            report("single-event requests", run(ports, env["BENCH_TOKEN"], singles, args.single_concurrency))
    if payloads and not args.no_limit:
        from django.db import connection

        from dikom.analytics.models import UsageEvent

        UsageEvent.objects.filter(api_key_prefix=env["BENCH_PREFIX"], source="api").exclude(
            event_id__startswith=f"g{args.seed}-"
        ).delete()  # keep only the batch rows: the singles and warm-up come from other seeds
        rows, seconds = physical_limit(env["BENCH_PREFIX"])
        how = "COPY" if connection.vendor == "postgresql" else "executemany"
        limit = rows / seconds
        print(
            json.dumps(
                {
                    "benchmark": f"physical limit: {how} of the same rows into the events table",
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "events_per_s": round(limit),
                    "api_to_limit_ratio": round(batch["events_per_s"] / limit, 2),
                    "load_avg": load_avg(),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
