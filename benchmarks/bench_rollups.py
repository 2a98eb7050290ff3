"""CPU share of the rollup worker under steady ingestion (issue 21, item 3).

Method: a fresh benchmark database (SQLite in a temporary data dir, or a
PostgreSQL database that is dropped and recreated) gets the demo cooperation,
the generated services and an API key of Offenbach. Today's rollup is then
given a busy day's history: ``--preload`` generated events (visits of the
deterministic generator, moved to random times between local midnight and an
hour ago) are stored through ``ingest_events`` and rolled up once. Then one
waitress process (``manage.py serve --no-worker``: the real collection path,
WSGI fast path and group commit included) and one task worker
(``manage.py db_worker --interval 1``, as ``serve`` starts it) run, and
``--clients`` threads send single-event requests at a steady ``--rate`` in
total for ``--seconds`` seconds: the generator's visits in order, each event
stamped with the moment it is sent. CPU time (user + system, from
``/proc/<pid>/stat``) of the worker, the server and the PostgreSQL backends is
read before and after that window. On SQLite the database work of the worker
runs inside the worker process, so its CPU is all of the rollup cost; on
PostgreSQL the backends of server and worker are counted together (sampled by
process every 0.2 s, since the worker opens a connection per task; and the
database's ``active_time`` from ``pg_stat_database``): read the difference
between two runs at the same rate.

Afterwards the sending stops, the worker is given time to catch up
(``--settle`` seconds at most), and the rollups of the day are compared with
``compute_daily_stats`` (the full SQL rebuild): the run fails if they differ.

Example (the figures of docs/benchmarks.md)::

    python benchmarks/bench_rollups.py --database sqlite --preload 40000 --rate 50 --seconds 60
    python benchmarks/bench_rollups.py --database postgresql --preload 40000 --rate 50 --seconds 60

The script also runs against the code before incremental rollups (it only
uses what both have): copy it into a checkout of that code and run it there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest_http as http_bench
import common

CITY = http_bench.CITY


def generated_visits(seed: int, days: int) -> list[list[dict[str, Any]]]:
    """The generator's visits of Offenbach over ``days`` past days, each a list of events."""
    from dikom.analytics.generator import Generator
    from dikom.analytics.rollups import local_zone

    generator = Generator(seed=seed, scale=1.0)
    today = datetime.now(local_zone()).date()
    visits: list[list[dict[str, Any]]] = []
    for back in range(1, days + 1):
        current: list[dict[str, Any]] = []
        for event in generator.day(CITY[2], CITY[3], today - timedelta(days=back)):
            if current and event["visit_id"] != current[0]["visit_id"]:
                visits.append(current)
                current = []
            current.append(event)
        if current:
            visits.append(current)
    return visits


def preload_today(visits: list[list[dict[str, Any]]], limit: int, seed: int) -> int:
    """Store about ``limit`` events of ``visits`` at random times of today (before an hour ago)."""
    from django.utils import timezone

    from dikom.analytics.ingest import ingest_events
    from dikom.analytics.rollups import local_zone
    from dikom.municipalities.models import Municipality

    rng = random.Random(seed)
    now = timezone.now().astimezone(local_zone())
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    span = max((now - timedelta(hours=1) - midnight).total_seconds(), 60.0)
    municipality = Municipality.objects.get(ags=CITY[2])
    batch: list[dict[str, Any]] = []
    stored = 0
    while visits and stored + len(batch) < limit:
        visit = visits.pop()
        shift = midnight + timedelta(seconds=rng.uniform(0, span)) - visit[0]["occurred_at"]
        for event in visit:
            moved = event["occurred_at"] + shift
            if moved > now:
                break
            batch.append({**event, "event_id": "pre-" + event["event_id"], "occurred_at": moved.isoformat()})
        if len(batch) >= 5000:
            stored += ingest_events(municipality, batch).accepted
            batch = []
    if batch:
        stored += ingest_events(municipality, batch).accepted
    return stored


def roll_up_today() -> None:
    """Bring today's rollups up to date in this process (the window starts with no backlog)."""
    from django.utils import timezone

    from dikom.analytics import actions
    from dikom.analytics.rollups import local_zone
    from dikom.municipalities.models import Municipality

    municipality = Municipality.objects.get(ags=CITY[2])
    today = timezone.now().astimezone(local_zone()).date()
    while actions.rebuild_pending(municipality.pk, today):
        pass


def cpu_seconds(pids: Sequence[int]) -> float:
    return sum(http_bench._cpu_seconds(pid) for pid in pids)


class BackendCpu:
    """CPU seconds of the PostgreSQL backends of one database over a window, sampled every 0.2 s.

    The worker closes its connection after each task, so its backends come and go: each
    backend is counted from its first sample (0 if it started within the window) to its
    last one; at most 0.2 s of CPU per backend that ends within the window is missed.
    """

    def __init__(self, database: str) -> None:
        self.marker = f" {database} ".encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if self.marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def _sample(self, initial: bool) -> None:
        for pid in self._pids():
            used = http_bench._cpu_seconds(pid)
            if pid not in self.first:
                self.first[pid] = used if initial else 0.0
            self.last[pid] = max(used, self.last.get(pid, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample(initial=False)

    def start(self) -> None:
        self._sample(initial=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample(initial=False)
        return sum(self.last[pid] - self.first[pid] for pid in self.first)


def active_seconds() -> float | None:
    """PostgreSQL: time spent running statements in this database so far (``pg_stat_database``)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT active_time FROM pg_stat_database WHERE datname = current_database()")
        (value,) = cursor.fetchone()
    return float(value) / 1000 if value is not None else None


def send_steadily(
    port: int, token: str, visits: list[list[dict[str, Any]]], rate: float, seconds: float, clients: int
) -> dict[str, Any]:
    """``clients`` threads send single events at ``rate`` per second in total; each event gets the
    moment it is sent as its time."""
    events = [event for visit in visits for event in visit]
    lock = threading.Lock()
    position = 0
    sent = accepted = 0
    errors: list[str] = []
    start = time.monotonic()
    interval = clients / rate

    def client(number: int) -> None:
        nonlocal position, sent, accepted
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Api-Key {token}", "Content-Type": "application/json"}
        due = start + number * interval / clients
        while True:
            due += interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if time.monotonic() - start >= seconds:
                return
            with lock:
                if position >= len(events):
                    return
                event = events[position]
                position += 1
            moment = datetime.now().astimezone()
            body = json.dumps(
                {"events": [{**event, "event_id": "run-" + event["event_id"], "occurred_at": moment.isoformat()}]}
            )
            try:
                conn.request("POST", "/api/v1/analytics/events", body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except OSError as exc:
                with lock:
                    errors.append(str(exc))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                sent += 1
                if response.status in (200, 201):
                    accepted += json.loads(answer)["accepted"]
                elif len(errors) < 5:
                    errors.append(f"{response.status} {answer[:200]!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return {"requests": sent, "accepted": accepted, "seconds": round(elapsed, 1), "errors": errors}


def rollups_match_full_rebuild() -> tuple[bool, int]:
    """Today's stored rollups of the city against ``compute_daily_stats``; and the day's event count."""
    from django.utils import timezone

    from dikom.analytics.metrics import ROLLUP_FIELDS
    from dikom.analytics.models import ServiceDailyStats, UsageEvent
    from dikom.analytics.rollups import compute_daily_stats, day_bounds, local_zone
    from dikom.municipalities.models import Municipality

    municipality = Municipality.objects.get(ags=CITY[2])
    today = timezone.now().astimezone(local_zone()).date()
    stored = {
        (row["service_id"], row["service_key"], row["channel"]): {k: row[k] for k in ROLLUP_FIELDS}
        for row in ServiceDailyStats.objects.filter(municipality=municipality, day=today).values(
            "service_id", "service_key", "channel", *ROLLUP_FIELDS
        )
    }
    full = {
        key: {k: stats[k] for k in ROLLUP_FIELDS} for key, stats in compute_daily_stats(municipality.pk, today).items()
    }
    start, end = day_bounds(today)
    events = UsageEvent.objects.filter(municipality=municipality, occurred_at__gte=start, occurred_at__lt=end).count()
    return stored == full, events


def rollup_tasks_since(moment: datetime) -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    done = DBTaskResult.objects.filter(
        task_path__endswith="rebuild_pending_rollup", finished_at__gte=moment, status="SUCCESSFUL"
    )
    durations = [
        (finished - started).total_seconds() for started, finished in done.values_list("started_at", "finished_at")
    ]
    return {
        "rollup_tasks": len(durations),
        "task_seconds_total": round(sum(durations), 2),
        "task_ms_mean": round(1000 * sum(durations) / len(durations), 1) if durations else None,
    }


def pending_markers() -> int:
    from dikom.analytics.models import PendingRollup

    return PendingRollup.objects.count()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_rollups")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom_bench_rollups")  # noqa: S108 - benchmark scratch data
    parser.add_argument("--cache-url", default="")
    parser.add_argument("--preload", type=int, default=40000, help="events of today stored before the window")
    parser.add_argument("--rate", type=float, default=50.0, help="single-event requests per second, in total")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="threads of the server process")
    parser.add_argument("--settle", type=float, default=90.0, help="longest wait for the worker to catch up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-worker", action="store_true", help="baseline: ingestion alone (the rollups are not checked)"
    )
    args = parser.parse_args(argv)

    env = http_bench.prepare(args)
    # Offenbach has a few hundred generated events a day: enough past days for the preload and the window.
    wanted = args.preload + int(args.rate * args.seconds * 1.5) + 1000
    visits: list[list[dict[str, Any]]] = []
    days = 30
    while sum(len(visit) for visit in visits) < wanted:
        days *= 2
        visits = generated_visits(args.seed, days)
    preloaded = preload_today(visits, args.preload, args.seed)
    roll_up_today()
    print(json.dumps({"machine": common.machine(), "database": common.database_label(env), "preloaded": preloaded}))

    from django.db import connection
    from django.utils import timezone

    connection.close()
    command = (
        ["db_worker", "--interval", "1"] if not args.no_worker else ["shell", "-c", "import time; time.sleep(3600)"]
    )
    worker = subprocess.Popen(  # noqa: S603 - our interpreter and manage.py
        [common.PYTHON, str(common.ROOT / "manage.py"), *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with common.servers(env, 1, args.threads) as ports:
            time.sleep(3)  # the worker has started and found the preload's tasks
            server = http_bench.server_pids(ports)
            backends = BackendCpu(args.db_name) if args.database == "postgresql" else None
            if backends:
                backends.start()
            active_before = active_seconds()
            window_start = timezone.now()
            before = {"worker": cpu_seconds([worker.pid]), "server": cpu_seconds(server)}
            uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: S607
            sent = send_steadily(ports[0], env["BENCH_TOKEN"], visits, args.rate, args.seconds, args.clients)
            after = {"worker": cpu_seconds([worker.pid]), "server": cpu_seconds(server)}
            uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: S607
            window = sent["seconds"]
            tasks = rollup_tasks_since(window_start)
            share = {name: round((after[name] - before[name]) / window, 3) for name in before}
            if backends:
                # Server and worker backends together (on SQLite the database work is in the processes).
                share["database_backends"] = round(backends.stop() / window, 3)
                active_after = active_seconds()
                if active_before is not None and active_after is not None:
                    share["database_active_time"] = round((active_after - active_before) / window, 3)
            print(
                json.dumps(
                    {
                        "window_seconds": window,
                        "rate": args.rate,
                        **sent,
                        "cpu_share_of_one_core": share,
                        **tasks,
                        "uptime_before": uptime_before,
                        "uptime_after": uptime_after,
                    }
                )
            )
            if args.no_worker:
                return 0 if not sent["errors"] else 1
            deadline = time.monotonic() + args.settle
            while pending_markers() and time.monotonic() < deadline:
                time.sleep(1)
            time.sleep(2)
            same, events = rollups_match_full_rebuild()
            print(
                json.dumps({"caught_up": pending_markers() == 0, "rollups_equal_full_rebuild": same, "events": events})
            )
            return 0 if same and not sent["errors"] else 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    raise SystemExit(main())
