"""DataStore: a large CSV into a typed, queryable table, against PostgreSQL ``COPY``; ``datastore_search`` latency.

Method: a CSV of ``--rows`` generated rows in the shape German open-data portals
publish (semicolon-separated, Windows-1252, decimal commas, German dates; columns
Datum, Messstelle, Stadtteil, Wert, Anzahl, Kennziffer with leading zeros) is
written to a temporary file. A fresh SQLite database in a temporary data dir (or,
with ``--database-url``, an empty PostgreSQL database, migrated) gets one
organisation, one dataset and a distribution whose upload is that file. Then:

1. **Load**: ``datastore.load_from_upload`` — exactly what the background task
   runs (types guessed from a sample of 10 000 rows, then one pass that checks
   every cell and streams the typed rows with their folded words into the
   distribution's own table — ``COPY`` on PostgreSQL, ``executemany`` on SQLite —
   then the indexes and ``ANALYZE``) — timed end to end; rows/s, and the share
   of the index build.
2. **Physical limit** (PostgreSQL only): the same file (``COPY … FROM STDIN`` with
   ``FORMAT csv, DELIMITER ';', ENCODING 'WIN1252', HEADER``) into a plain table of
   six text columns, and into a typed table (date, text, text, numeric, int, text;
   the German values converted by SQL in an ``INSERT … SELECT`` from the text
   table); rows/s of each, and the ratio of the DataStore load to them.
3. **Search**: ``datastore_search`` through Django's test client (CKAN Action API,
   the whole request path, no network), then the same queries as
   ``datastore.search_table`` in-process (the database's share without the
   request path), each query ``--repeat`` times after a warm-up, p50/p95: the first page (limit 100), a filter on a column, a sort by a
   column (descending), a word (``q``), a deep page (offset 900 000 or the last
   hundred rows), and ``include_total`` as CKAN does by default.

Example (the figures of docs/benchmarks.md)::

    .venv/bin/python benchmarks/bench_datastore.py --rows 1000000
    .venv/bin/python benchmarks/bench_datastore.py --rows 1000000 \
        --database-url postgres://postgres@127.0.0.1:5432/dikom_bench_datastore

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import common

STATIONS = ["Am Dom", "Bahnhofstraße", "Schlossgarten", "Frauenberg", "Aschenberg", "Ziehers-Nord", "Löhertor"]
DISTRICTS = ["Innenstadt", "Neuenberg", "Horas", "Edelzell", "Lehnerz", "Bronnzell", "Johannesberg", "Gläserzell"]
HEADER = "Datum;Messstelle;Stadtteil;Wert;Anzahl;Kennziffer"


def write_csv(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write(HEADER + "\r\n")
        for number in range(rows):
            day = 1 + number % 28
            month = 1 + (number // 28) % 12
            value = f"{rng.uniform(0, 5000):.2f}".replace(".", ",")
            out.write(
                f"{day:02d}.{month:02d}.{2020 + number % 5};{rng.choice(STATIONS)};{rng.choice(DISTRICTS)};"
                f"{value};{rng.randint(0, 900)};{rng.randint(0, 99999):06d}\r\n"
            )


def setup_django(database_url: str | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    os.environ["DIKOM_DEBUG"] = "false"
    os.environ["DIKOM_LOG_LEVEL"] = "WARNING"
    os.environ["DIKOM_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    data_dir = tempfile.mkdtemp(prefix="dikom-bench-datastore-")
    os.environ["DIKOM_DATA_DIR"] = data_dir
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)


def timed(label: str, call: Callable[[], object], repeat: int) -> dict[str, object]:
    began = time.perf_counter()
    call()  # the first call (no earlier run of this query; the table's pages may be cached), then warm runs
    first_ms = (time.perf_counter() - began) * 1000
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    result = {
        "query": label,
        "p50_ms": round(common.percentile(samples, 50), 1),
        "p95_ms": round(common.percentile(samples, 95), 1),
        "first_ms": round(first_ms, 1),
        "repeat": repeat,
        "load": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def backend_cpu_seconds() -> float | None:
    """CPU seconds so far of this connection's PostgreSQL backend (same machine; parallel workers not included)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def executemany_limit(csv_path: Path, rows: int) -> dict[str, float]:
    """SQLite: rows/s of a plain ``executemany`` of the file's rows (``csv.reader``, no checks, no words, no
    indexes) into a table of six untyped columns, in one transaction, with the load's settings."""
    from django.db import connection, transaction

    from dikom.opendata import datastore_sql

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain")
        cursor.execute("CREATE TABLE bench_plain (c1, c2, c3, c4, c5, c6)")
    began, cpu = time.perf_counter(), time.process_time()
    with (
        datastore_sql.bulk_load(connection),
        transaction.atomic(),
        connection.cursor() as cursor,
        csv_path.open(encoding="cp1252", newline="") as handle,
    ):
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        while batch := list(itertools.islice(reader, 5000)):
            cursor.executemany("INSERT INTO bench_plain VALUES (%s, %s, %s, %s, %s, %s)", batch)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_plain")
    return {"executemany_rows_per_s": rows / seconds, "executemany_cpu_s": cpu}


def explain_q(table: object, word: str) -> None:
    """The plan of ``q``'s count as ``datastore_sql.count`` runs it (EXPLAIN ANALYZE, BUFFERS on PostgreSQL)."""
    from django.db import connection

    from dikom.opendata import datastore, datastore_sql, search

    target = datastore.physical(table)  # type: ignore[arg-type]
    query = datastore_sql.Query()
    query.words(target, search.query_stems(word))
    statement, params = datastore_sql.count_statement(target, query)
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + statement, params)
        plan = "\n".join(" | ".join(str(v) for v in row) for row in cursor.fetchall())
    print(f"# plan of the count for q={word}:\n{plan}", flush=True)


def copy_limits(csv_path: Path, rows: int) -> dict[str, float]:
    """rows/s of PostgreSQL COPY of the same file into a text table, and into a typed table."""
    from django.db import connection

    figures = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_text, bench_copy_typed")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_copy_text (datum text, messstelle text, stadtteil text, wert text, "
            "anzahl text, kennziffer text)"
        )
        cursor.execute(
            "CREATE TABLE bench_copy_typed (datum date, messstelle text, stadtteil text, wert numeric, "
            "anzahl integer, kennziffer text)"
        )
        raw = cursor.connection  # psycopg 3
        began = time.perf_counter()
        with (
            raw.cursor() as inner,
            inner.copy(
                "COPY bench_copy_text FROM STDIN WITH (FORMAT csv, DELIMITER ';', ENCODING 'WIN1252', HEADER true)"
            ) as copy,
            csv_path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        figures["copy_text_rows_per_s"] = rows / (time.perf_counter() - began)
        began = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_copy_typed SELECT to_date(datum, 'DD.MM.YYYY'), messstelle, stadtteil, "
            "replace(replace(wert, '.', ''), ',', '.')::numeric, anzahl::integer, kennziffer FROM bench_copy_text"
        )
        typed_s = time.perf_counter() - began
        figures["copy_typed_rows_per_s"] = rows / (rows / figures["copy_text_rows_per_s"] + typed_s)
        cursor.execute("DROP TABLE bench_copy_text, bench_copy_typed")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print the plan of the count of q")
    parser.add_argument("--profile", default=None, help="write a cProfile of the load to this file")
    parser.add_argument("--no-search", action="store_true", help="the load (and its limit) only")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite in /tmp)")
    args = parser.parse_args(argv)

    setup_django(args.database_url)
    from django.core.files import File
    from django.db import connection

    from dikom.opendata import actions, datastore
    from dikom.opendata.models import DatastoreTable, Organization, Resource

    print(f"# machine: {common.machine()}", flush=True)
    print(f"# database: {connection.vendor}", flush=True)
    csv_path = Path(tempfile.mkdtemp(prefix="dikom-bench-csv-")) / "messwerte.csv"
    atexit.register(shutil.rmtree, csv_path.parent, ignore_errors=True)
    write_csv(csv_path, args.rows, args.seed)
    print(f"# csv: {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB", flush=True)

    org = Organization.objects.create(name="bench", title="Benchmark")
    dataset = actions.create_dataset(
        org,
        {
            "name": "messwerte",
            "title": "Messwerte",
            "notes": "Benchmark",
            "license_id": "dl-by-de/2.0",
            "resources": [],
        },
        actor="bench",
    )
    resource = Resource(dataset=dataset, name="Messwerte", format="CSV", media_type="text/csv")
    with csv_path.open("rb") as handle:
        resource.upload.save("messwerte.csv", File(handle), save=True)
    table = DatastoreTable.objects.create(resource=resource, source="file")

    from dikom.opendata import datastore_sql

    phases = {"index_seconds": 0.0}
    build_indexes = datastore_sql.build_indexes

    def timed_indexes(*args: object, **kwargs: object) -> object:
        began = time.perf_counter()
        result = build_indexes(*args, **kwargs)  # type: ignore[arg-type]
        phases["index_seconds"] += time.perf_counter() - began
        return result

    datastore_sql.build_indexes = timed_indexes  # type: ignore[assignment]
    backend_cpu = backend_cpu_seconds()
    began, cpu = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        table = profiler.runcall(datastore.load_from_upload, table)
        profiler.dump_stats(args.profile)
    else:
        table = datastore.load_from_upload(table)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    datastore_sql.build_indexes = build_indexes
    assert table.state == DatastoreTable.State.DONE, table.message
    assert table.row_count == args.rows, table.row_count
    load = {
        "load_seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "index_seconds": round(phases["index_seconds"], 1),
        "rows_per_s_before_indexes": round(args.rows / (seconds - phases["index_seconds"])),
        "process_cpu_s": round(cpu, 1),
        "fields": table.fields,
        "load_avg": Path("/proc/loadavg").read_text().split()[:3],
    }
    if backend_cpu is not None:
        load["backend_cpu_s"] = round((backend_cpu_seconds() or 0) - backend_cpu, 1)
    print(json.dumps(load, ensure_ascii=False), flush=True)
    if connection.vendor == "sqlite":
        limit = executemany_limit(csv_path, args.rows)
        limit["ratio_to_executemany"] = args.rows / seconds / limit["executemany_rows_per_s"]
        print(json.dumps({k: round(v, 3) for k, v in limit.items()}), flush=True)
    if connection.vendor == "postgresql":
        limits = copy_limits(csv_path, args.rows)
        limits |= {
            f"ratio_to_{k.removesuffix('_rows_per_s')}": round(args.rows / seconds / v, 3) for k, v in limits.items()
        }
        print(json.dumps({k: round(v, 3) for k, v in limits.items()}), flush=True)

    if not args.no_search:
        run_searches(table, resource, args.rows, args.repeat)
    if args.explain:
        explain_q(table, "Schlossgarten")
    return 0


def run_searches(table: Any, resource: Any, rows: int, repeat: int) -> None:
    """``datastore_search`` through the CKAN Action API, then the same queries in-process."""
    from django.test import Client

    from dikom.opendata import datastore

    client = Client()
    resource_id = str(resource.uuid)

    def search(**params: object) -> Callable[[], object]:
        def call() -> object:
            response = client.post(
                "/api/3/action/datastore_search",
                json.dumps({"resource_id": resource_id, **params}),
                content_type="application/json",
            )
            assert response.status_code == 200, response.content[:300]
            return response

        return call

    deep = max(0, min(900_000, rows - 100))
    queries = {
        "first page (limit 100)": {"limit": 100},
        "filter Stadtteil=Horas (limit 100)": {"filters": {"Stadtteil": "Horas"}, "limit": 100},
        "sort Wert desc (limit 100)": {"sort": "Wert desc", "limit": 100},
        "q=Schlossgarten (limit 100)": {"q": "Schlossgarten", "limit": 100},
        f"deep page offset {deep} (limit 100)": {"offset": deep, "limit": 100},
        "filter + sort, no total": {"filters": {"Messstelle": "Am Dom"}, "sort": "Datum desc", "include_total": False},
        # CKAN's way out of counting large match sets: the planner's estimate above a threshold (PostgreSQL).
        "q=Schlossgarten, total_estimation_threshold 10000": {
            "q": "Schlossgarten",
            "total_estimation_threshold": 10000,
        },
        "filter Stadtteil=Horas, total_estimation_threshold 10000": {
            "filters": {"Stadtteil": "Horas"},
            "total_estimation_threshold": 10000,
        },
    }
    for label, params in queries.items():
        timed(f"datastore_search {label}", search(**params), repeat)
    # The same queries without the HTTP request path (datastore.search_table in-process): the database's share.
    table.refresh_from_db()
    for label, params in queries.items():
        options = dict(params)
        options["include_total"] = bool(options.get("include_total", True))
        if "total_estimation_threshold" in options:
            options["estimate_above"] = options.pop("total_estimation_threshold")
        timed(f"search_table {label}", lambda o=options: datastore.search_table(table, **o), repeat)


if __name__ == "__main__":
    raise SystemExit(main())
