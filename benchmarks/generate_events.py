"""Command line of the deterministic usage-event generator (``dikom.analytics.generator``).

GENERATED DEMO DATA: what is invented and what is real is described in that
module. The same ``--seed`` gives byte-identical output, and any slice of the
period matches the full run.

Outputs:

- ``json``: batches ``{"events": [...]}`` for ``POST /api/v1/analytics/events``
  (one JSON document per line, or one file per batch with ``--out-dir``);
- ``pg-copy``: rows straight into PostgreSQL's events table with ``COPY``
  (needs ``DATABASE_URL``; registers the cities' services first);
- ``sqlite``: rows into the embedded SQLite database with ``executemany``.

The bulk paths write what ingestion would have written (visit keys are random
32-hex strings instead of salted hashes, comments are empty); build the
rollups afterwards with ``manage.py analytics_rebuild`` or
``benchmarks/rebuild_rollups.py``.

Examples::

    python benchmarks/generate_events.py json --seed 1 --events 20000 --batch 10000 > /tmp/batches.jsonl
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_bench \\
        python benchmarks/generate_events.py pg-copy --seed 1 --events 10000000
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

# The generator itself lives in the package (the demo cooperation uses it too); its names
# are re-exported here for the other benchmark scripts (``import generate_events as gen``).
from dikom.analytics.generator import (
    BERLIN,
    CITIES,
    SERVICES,
    Event,
    Generator,
    ServiceSpec,
    events_per_day_at_scale_1,
    json_batches,
    recent_period,
    scale_for,
    to_json,
)

__all__ = [
    "BERLIN",
    "CITIES",
    "EVENT_COLUMNS",
    "SERVICES",
    "Event",
    "Generator",
    "ServiceSpec",
    "events_per_day_at_scale_1",
    "json_batches",
    "recent_period",
    "register_services",
    "scale_for",
    "setup_django",
    "to_json",
]

EVENT_COLUMNS = (
    "municipality_id", "service_id", "service_key", "event_id", "type", "occurred_at", "received_at", "visit",
    "step_key", "step_position", "auth_method", "payment_method", "channel", "device_class", "rating",
    "comment", "source", "api_key_prefix",
)  # fmt: skip


def setup_django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    django.setup()


def register_services(cities: Sequence[tuple[str, str, str, int]] = CITIES) -> dict[str, tuple[int, dict[str, int]]]:
    """Make sure the cities exist (``load_demo``) and have the generated services; AGS → (id, {key: service id})."""
    from django.core.management import call_command

    from dikom.analytics.demo import ensure_services
    from dikom.analytics.models import Service
    from dikom.municipalities.models import Municipality

    if Municipality.objects.filter(ags__in=[c[2] for c in cities]).count() != len(cities):
        call_command("load_demo", usage_days=0)  # the events come from this script
    result = {}
    for _slug, _name, ags, _population in cities:
        municipality = Municipality.objects.get(ags=ags)
        ensure_services(municipality)
        keys = dict(Service.objects.filter(municipality=municipality).values_list("external_key", "pk"))
        result[ags] = (municipality.pk, keys)
    return result


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return str(value)


def bulk_rows(
    gen: Generator, since: date, until: date, ids: dict[str, tuple[int, dict[str, int]]], salt: str
) -> Iterator[tuple[Any, ...]]:
    """Rows in ``EVENT_COLUMNS`` order, as ingestion would store them (visit key: random 32 hex, no comment)."""
    import hashlib

    visit_keys: dict[str, str] = {}
    day = since
    while day <= until:
        for _slug, _name, ags, population in CITIES:
            mid, services = ids[ags]
            visit_keys.clear()
            for e in gen.day(ags, population, day):
                vid = e["visit_id"]
                key = visit_keys.get(vid)
                if key is None:
                    key = hashlib.sha256(f"{salt}{mid}:{vid}".encode()).hexdigest()[:32]
                    visit_keys[vid] = key
                occurred = e["occurred_at"]
                yield (
                    mid,
                    services.get(e["service"]),
                    e["service"],
                    e["event_id"],
                    e["type"],
                    occurred,
                    occurred + timedelta(seconds=2),
                    key,
                    e.get("step_key", ""),
                    e.get("step_position"),
                    e.get("auth_method", ""),
                    e.get("payment_method", ""),
                    e["channel"],
                    e["device_class"],
                    e.get("rating"),
                    "",
                    "api",
                    "generator",
                )
        day += timedelta(days=1)


def load_postgresql(rows: Iterator[tuple[Any, ...]], report_every: int = 1_000_000) -> int:
    """COPY ``rows`` into the events table in chunks of 100 000 rows, committing each; returns the count."""
    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    columns = ", ".join(EVENT_COLUMNS)
    count = 0
    started = time.perf_counter()
    connection.ensure_connection()
    raw = connection.connection
    done = False
    while not done:
        buffer = io.StringIO()
        n = 0
        for row in rows:
            buffer.write("\t".join(_copy_text(v) for v in row))
            buffer.write("\n")
            n += 1
            if n == 100_000:
                break
        else:
            done = True
        if n:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            raw.commit()
        before = count
        count += n
        if count // report_every != before // report_every:
            rate = count / (time.perf_counter() - started)
            print(f"  {count:>12,} rows  {rate:,.0f} rows/s", file=sys.stderr, flush=True)
    return count


DEFERRED_TABLE = "dikom_bench_deferred_ddl"


def _deferred_ddl(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(DROP, CREATE) statements of the events table's foreign keys, unique constraints and secondary indexes.

    Recorded in ``DEFERRED_TABLE`` before anything is dropped, so that a load
    that dies half-way is repaired by the next run (which finds them there).
    """
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFERRED_TABLE} (pos serial, drop_sql text, create_sql text)")
    cursor.execute(f"SELECT drop_sql, create_sql FROM {DEFERRED_TABLE} ORDER BY pos")  # noqa: S608 - fixed table name
    recorded = cursor.fetchall()
    if recorded:
        return [tuple(row) for row in recorded]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND i.indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u')) "
        "ORDER BY i.indexname",
        [table, table],
    )
    indexes = cursor.fetchall()
    ddl = [
        (f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"', f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {d}')
        for name, d, kind in constraints
        if kind == "f"
    ]
    ddl += [
        (f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"', f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {d}')
        for name, d, kind in constraints
        if kind == "u"
    ]
    ddl += [(f'DROP INDEX "{name}"', definition) for name, definition in indexes]
    for drop_sql, create_sql in ddl:
        cursor.execute(
            f"INSERT INTO {DEFERRED_TABLE} (drop_sql, create_sql) VALUES (%s, %s)",  # noqa: S608 - fixed table name
            [drop_sql, create_sql],
        )
    return ddl


def load_postgresql_parallel(args: argparse.Namespace, since: date, until: date, scale: float) -> int:
    """``--workers`` processes load disjoint day ranges with COPY; with ``--defer-indexes`` the table's
    secondary indexes and constraints are dropped first and rebuilt afterwards (one sort per index)."""
    import subprocess

    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = UsageEvent._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    ddl: list[tuple[str, str]] = []
    if args.defer_indexes:
        with raw.cursor() as cursor:
            ddl = _deferred_ddl(cursor, table)
            for drop_sql, _create in reversed(ddl):
                cursor.execute(
                    drop_sql.replace("DROP CONSTRAINT", "DROP CONSTRAINT IF EXISTS").replace(
                        "DROP INDEX", "DROP INDEX IF EXISTS"
                    )
                )
        raw.commit()
        print(f"dropped {len(ddl)} indexes and constraints for the load", file=sys.stderr)
    days = (until - since).days + 1
    workers = max(1, min(args.workers, days))
    bounds = [since + timedelta(days=days * i // workers) for i in range(workers + 1)]
    procs = []
    for i in range(workers):
        first, last = bounds[i], bounds[i + 1] - timedelta(days=1)
        procs.append(
            subprocess.Popen(  # noqa: S603 - this script, with our own interpreter
                [
                    sys.executable,
                    __file__,
                    "pg-copy",
                    "--seed",
                    str(args.seed),
                    "--scale",
                    repr(scale),
                    "--slice",
                    first.isoformat(),
                    last.isoformat(),
                ]
            )
        )
    failed = [p.wait() for p in procs]
    if any(failed):
        raise SystemExit(f"a loader failed: exit codes {failed}; run again to finish (indexes stay dropped)")
    with raw.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - model table
        (count,) = cursor.fetchone()
    if ddl:
        started = time.perf_counter()
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '2GB'")
            cursor.execute("SET max_parallel_maintenance_workers = 2")
            for _drop, create_sql in ddl[::-1]:
                step = time.perf_counter()
                cursor.execute(create_sql)
                raw.commit()
                print(f"  {time.perf_counter() - step:7.1f} s  {create_sql[:110]}", file=sys.stderr)
            cursor.execute(f"DROP TABLE {DEFERRED_TABLE}")
            cursor.execute(f'ANALYZE "{table}"')
        raw.commit()
        print(f"rebuilt {len(ddl)} indexes and constraints in {time.perf_counter() - started:,.1f} s", file=sys.stderr)
    return int(count)


def load_sqlite(rows: Iterator[tuple[Any, ...]], report_every: int = 1_000_000) -> int:
    """executemany ``rows`` into the events table in transactions of 100 000 rows; returns the count."""
    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"  # noqa: S608
    connection.ensure_connection()
    raw = connection.connection
    adapt = connection.ops.adapt_datetimefield_value
    count = 0
    started = time.perf_counter()
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        raw.executemany(sql, chunk)
        raw.commit()
        chunk.clear()

    for row in rows:
        chunk.append((*row[:5], adapt(row[5]), adapt(row[6]), *row[7:]))
        count += 1
        if len(chunk) == 100_000:
            flush()
            if count % report_every == 0:
                print(f"  {count:>12,} rows  {count / (time.perf_counter() - started):,.0f} rows/s", file=sys.stderr)
    if chunk:
        flush()
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", choices=["json", "pg-copy", "sqlite", "stats"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, default=100_000, help="About this many events in all.")
    parser.add_argument("--days", type=int, default=365, help="Local days up to yesterday.")
    parser.add_argument("--until", type=date.fromisoformat, help="Last day (default: yesterday).")
    parser.add_argument("--batch", type=int, default=10_000, help="json: events per batch.")
    parser.add_argument("--out-dir", type=Path, help="json: one file per batch instead of JSON lines on stdout.")
    parser.add_argument("--workers", type=int, default=1, help="pg-copy: loader processes on disjoint day ranges.")
    parser.add_argument(
        "--defer-indexes",
        action="store_true",
        help="pg-copy: drop the events table's secondary indexes and constraints for the load, rebuild them after.",
    )
    parser.add_argument("--slice", nargs=2, type=date.fromisoformat, help=argparse.SUPPRESS)  # a worker's days
    parser.add_argument("--scale", type=float, help=argparse.SUPPRESS)  # the whole run's scale, given to workers
    args = parser.parse_args(argv)

    since, until = recent_period(args.days, args.until)
    scale = args.scale or scale_for(args.events, args.days, args.seed)
    if args.slice:
        since, until = args.slice
    gen = Generator(seed=args.seed, scale=scale)
    print(
        f"generator: seed {args.seed}, {since}..{until} ({args.days} days), scale {scale:.3f}, "
        f"target ~{args.events:,} events, {len(CITIES)} cities × {len(SERVICES)} services",
        file=sys.stderr,
    )
    started = time.perf_counter()
    if args.output == "json":
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
        for index, body in enumerate(json_batches(gen.events(since, until), args.batch)):
            if args.out_dir:
                (args.out_dir / f"batch-{index:06d}.json").write_bytes(body)
            else:
                sys.stdout.buffer.write(body + b"\n")
        return 0
    if args.output == "stats":
        from collections import Counter

        counts = Counter(e["type"] for e in gen.events(since, until))
        print(json.dumps({"total": sum(counts.values()), **counts}, indent=1))
        return 0
    setup_django()
    from django.db import connection

    ids = register_services()
    salt = f"bench{args.seed}"
    if args.output == "pg-copy" and connection.vendor != "postgresql":
        parser.error("pg-copy needs DATABASE_URL=postgres://…")
    if args.output == "pg-copy" and (args.workers > 1 or args.defer_indexes) and not args.slice:
        count = load_postgresql_parallel(args, since, until, scale)
    elif args.output == "pg-copy":
        count = load_postgresql(bulk_rows(gen, since, until, ids, salt))
    else:
        if connection.vendor != "sqlite":
            parser.error("sqlite needs the embedded database (no DATABASE_URL)")
        count = load_sqlite(bulk_rows(gen, since, until, ids, salt))
    elapsed = time.perf_counter() - started
    print(f"loaded {count:,} events in {elapsed:,.1f} s ({count / elapsed:,.0f} events/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
