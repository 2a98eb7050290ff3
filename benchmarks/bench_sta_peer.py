"""SensorThings API: dikom and a peer server (istSOS4) under the same workload in the same run (issue 17).

The dikom side is ``bench_sta.py`` (its options and method apply unchanged); ``--peer-url`` adds the same
workload against a running istSOS4, through the standard SensorThings API, and a side-by-side summary.

Setting up the peer (it is not part of the project and nothing of it is committed)
-----------------------------------------------------------------------------------

istSOS4 ships as Docker images (TimescaleDB on PostgreSQL 18, FastAPI under uvicorn). Docker is not used
here; the API runs from a source checkout in a virtual environment of its own, on the local PostgreSQL 15
with PostGIS, in a database of its own (``istsos4_bench``)::

    # source: a checkout of the istSOS/istSOS4 repository (GitHub) outside the project (measured: 4924510d9bb2).
    # From a bare git directory whose copy lacks a few large data files (tutorial CSVs), where
    # ``git clone`` stops at the checkout, write the tree file by file and skip what is missing:
    G=<bare git dir>; mkdir -p /work/peers/istsos4 && cd /work/peers/istsos4
    git --git-dir=$G ls-tree -r HEAD | while read mode type sha path; do mkdir -p "$(dirname "$path")"
        git --git-dir=$G cat-file blob $sha > "$path" 2>/dev/null || rm -f "$path"; done
    apt-get install -y postgresql-15-postgis-3            # PostGIS for the local PostgreSQL 15
    python3 -m venv /work/peers/istsos4-venv
    /work/peers/istsos4-venv/bin/pip install -r /work/peers/istsos4/api/requirements.txt
    # database and schema: this script, once (drops and creates istsos4_bench, see "Schema" below)
    .venv/bin/python benchmarks/bench_sta_peer.py --peer-init /work/peers/istsos4 --phases none
    # the API: the command of istSOS4's docker-compose.yml (uvicorn, 2 workers), settings as there
    cd /work/peers/istsos4/api && env HOSTNAME=http://127.0.0.1:8018 SUBPATH=/istsos4 VERSION=/v1.1 \\
        POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=5432 POSTGRES_DB=istsos4_bench ISTSOS_ADMIN=postgres \\
        ISTSOS_ADMIN_PASSWORD=unused AUTHORIZATION=0 VERSIONING=0 NETWORK=0 REDIS=0 DEBUG=0 \\
        PG_POOL_SIZE=10 PG_MAX_OVERFLOW=0 COUNT_MODE=FULL TOP_VALUE=100 \\
        /work/peers/istsos4-venv/bin/uvicorn --timeout-keep-alive 75 --workers 2 \\
        --host 127.0.0.1 --port 8018 app.main:app
    # then the benchmark (dikom's database dikom_bench_sta as in bench_sta.py)
    .venv/bin/python benchmarks/bench_sta_peer.py --peer-url http://127.0.0.1:8018/istsos4/v1.1 \\
        --phases single,http --single-rows 1000
    .venv/bin/python benchmarks/bench_sta_peer.py --peer-url http://127.0.0.1:8018/istsos4/v1.1 \\
        --phases filter --reuse --filter-rows 5000000   # each side loads its history with COPY first
    # --peer-init again before a run with more --filter-datastreams or --clients than the last

Schema (``--peer-init <checkout>``): istSOS4's own ``database/istsos_schema.sql`` with five changes, the first
four checked to apply exactly once: (1) no ``timescaledb`` extension (Debian has no package of it for
PostgreSQL 15, and the database image cannot be pulled); (2) the Observation table's ``create_hypertable``
(30-day chunks on ``phenomenonTimeStart``) becomes native range partitioning on the same column with
30-day partitions (epoch-aligned like its chunks, 2025-09 to 2027-01, plus a default partition): the closest stock
PostgreSQL equivalent, with the same keys, indexes and unique constraint per partition; (3) and (4) no
cluster-wide roles (``administrator``, the API user): the objects belong to ``postgres`` and the API
connects as ``postgres`` (the server trusts loopback), which is what istSOS4 does with
``AUTHORIZATION=0``, the setting used here; and (5) its indexes lose the explicit ``TABLESPACE
pg_default`` (the default anyway), which PostgreSQL refuses on a partitioned table. Its ``custom.*`` settings (epsg 4326, duplicates 0, network
0, versioning 0, authorization 0: the defaults of its ``.env.example``) are set on the database only.

Method (per workload, the peer right after dikom, same machine, same PostgreSQL):

``prepare``: on the peer, through the API: one Sensor, one ObservedProperty, one Thing with a Location
and ``--filter-datastreams + --clients`` Datastreams (deep insert of the Thing, Datastreams linked to the
Sensor and ObservedProperty by id; istSOS4 refuses two Sensors of the same name); one Observation through
``POST /Observations`` makes istSOS4 generate the FeatureOfInterest from the Location.

``single``: ``--single-rows`` Observations, one ``POST /Observations`` each, ``--clients`` threads with
keep-alive connections (dikom: ``/sta/v1.1/Observations`` with the city's API key; peer: no
authentication). Every answer must be 201; rows counted in the table afterwards.

``http``: ``CreateObservations`` as in ``bench_sta.py`` (same bodies: one Datastream block of
``--batch`` rows per request, ``--clients`` threads); the peer gets ``--peer-rows`` rows per batch size
(its ``CreateObservations`` inserts row by row, so dikom's 200 000 would take many minutes); an answer
must be 201 and list no ``"error"`` entry (istSOS4 answers 201 with ``"error"`` in place of a link for a
row it did not store). Then istSOS4's own bulk extension ``POST /BulkObservations`` (same rows, same
bodies; not part of the standard: its fastest documented write path). ``COPY`` floor as in
``bench_sta.py``: the same rows copied out of the peer's Observation table, deleted, vacuumed and copied
back in one transaction; ratio = API rate / COPY rate, each server against its own floor.

``mqtt``: dikom only (``bench_sta.py``). istSOS4 has no MQTT extension of the SensorThings API in the
server; its ``utils/mqtt2istsos4`` is a separate bridge that reads CSV payloads of its own format and
posts one Observation per value over HTTP, so ``single`` is the ceiling of that path.

``filter``: the same history (``--filter-rows`` readings over ``--filter-datastreams`` Datastreams, one
every ``--step`` seconds, same instants and values) is loaded into the peer's Observation table directly
with ``COPY`` (its fastest path: its API would take hours for 10 million rows; foreign key triggers off
as on the dikom side), ``phenomenonTime`` of the Datastreams set, ``VACUUM ANALYZE``; then ``--repeat``
GETs of ``<peer>/Datastreams(<random>)/Observations?$filter=phenomenonTime ge <t> and phenomenonTime lt
<t + window>`` with the same random windows (seed 17) and ``$top``, one keep-alive client, ten warm-up
requests; p50/p95/p99. A difference in the mean number of rows returned is printed.

Every figure is one JSON line with the load average; a table of both servers closes the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sta
import common
from bench_sta import emit, iso

PEER_COLUMNS = (
    'id, "phenomenonTimeStart", "phenomenonTimeEnd", "resultTime", "resultType", "resultString", '
    '"resultNumber", "resultBoolean", "resultJSON", "resultQuality", "validTime", parameters, '
    "datastream_id, featuresofinterest_id"
)
PARTITION_DAYS = 30
PARTITIONS_FROM = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
PARTITIONS_TO = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --- the peer's database ------------------------------------------------------------------------------------


def adapted_schema(checkout: Path) -> str:
    """istSOS4's schema for stock PostgreSQL 15 with PostGIS (the changes of the docstring, each exactly once)."""
    text = (checkout / "database" / "istsos_schema.sql").read_text()

    def replace_once(pattern: str, replacement: str, text: str) -> str:
        new, count = re.subn(pattern, lambda _: replacement, text, flags=re.DOTALL)
        if count != 1:
            raise SystemExit(f"istSOS4 schema changed: {pattern!r} matched {count} times")
        return new

    text = replace_once(r"CREATE EXTENSION IF NOT EXISTS timescaledb;\n", "", text)
    text = replace_once(r'CREATE ROLE "administrator" WITH CREATEROLE;\n.*?SET ROLE "administrator";\n', "", text)
    text = replace_once(
        r'(PRIMARY KEY \("id", "phenomenonTimeStart"\)\n)\);',
        'PRIMARY KEY ("id", "phenomenonTimeStart")\n) PARTITION BY RANGE ("phenomenonTimeStart");',
        text,
    )
    text = replace_once(r"SELECT create_hypertable\(.*?\);", partitions_sql(), text)
    text = replace_once(r"\nRESET ROLE;\n.*\Z", "\n", text)
    # PostgreSQL refuses an explicit default tablespace on a partitioned table's index (pg_default is the default)
    return text.replace(" TABLESPACE pg_default", "")


def partitions_sql() -> str:
    """30-day range partitions, aligned on the epoch like TimescaleDB's chunks, and a default partition."""
    step = dt.timedelta(days=PARTITION_DAYS)
    start = EPOCH + step * ((PARTITIONS_FROM - EPOCH) // step)
    statements = []
    while start < PARTITIONS_TO:
        name = f"Observation_{start:%Y%m%d}"
        statements.append(
            f'CREATE TABLE sensorthings."{name}" PARTITION OF sensorthings."Observation" '
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + step).isoformat()}');"
        )
        start += step
    statements.append(
        'CREATE TABLE sensorthings."Observation_default" PARTITION OF sensorthings."Observation" DEFAULT;'
    )
    return "\n".join(statements)


def init_peer_database(args: argparse.Namespace) -> None:
    import psycopg

    schema = adapted_schema(Path(args.peer_init))
    name = args.peer_db.rsplit("/", 1)[1]
    server = args.peer_db.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        for setting, value in (
            ("epsg", "4326"),
            ("duplicates", "0"),
            ("network", "0"),
            ("versioning", "0"),
            ("authorization", "0"),
        ):
            conn.execute(f'ALTER DATABASE "{name}" SET custom."{setting}" = \'{value}\'')
    done = subprocess.run(  # noqa: S603 - Debian's psql, the schema text above
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", args.peer_db],  # noqa: S607
        input=schema,
        text=True,
        check=False,
        capture_output=True,
    )
    if done.returncode:
        raise SystemExit(f"psql failed on the adapted istSOS4 schema: {done.stderr[-1000:]}")
    print(f"# peer database {name} created with istSOS4's schema (adapted, see the docstring)", flush=True)


# --- talking to the peer -------------------------------------------------------------------------------------


class Peer:
    """The peer's base URL and database."""

    def __init__(self, url: str, db_url: str) -> None:
        parts = urlsplit(url.rstrip("/"))
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.base = parts.path
        self.db_url = db_url

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=900)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, dict[str, str]]:
        conn = self.connection()
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, self.base + path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        conn.close()
        return response.status, answer, headers

    def create(self, path: str, body: dict[str, Any]) -> int:
        status, answer, headers = self.request("POST", path, body)
        if status != 201:
            raise SystemExit(f"peer: POST {path} answered {status}: {answer[:300]!r}")
        found = re.search(r"\((\d+)\)\s*$", headers.get("location", ""))
        if not found:
            raise SystemExit(f"peer: POST {path} gave no Location header: {headers}")
        return int(found.group(1))

    def get(self, path: str) -> dict[str, Any]:
        status, answer, _ = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"peer: GET {path} answered {status}: {answer[:300]!r}")
        result: dict[str, Any] = json.loads(answer)
        return result

    def db(self) -> Any:
        import psycopg

        return psycopg.connect(self.db_url)


def prepare_peer(args: argparse.Namespace, peer: Peer) -> dict[str, Any]:
    """Sensor, ObservedProperty, a Thing with Location and Datastreams (reused when they exist), the FOI."""
    wanted = args.filter_datastreams + args.clients
    with peer.db() as conn:
        rows = conn.execute(
            "SELECT id, name FROM sensorthings.\"Datastream\" WHERE name LIKE 'Bench %%' ORDER BY id"
        ).fetchall()
    if len(rows) < wanted:
        if rows:
            raise SystemExit("peer holds fewer Bench Datastreams than wanted: start again with --peer-init")
        sensor = peer.create(
            "/Sensors", {"name": "Bench probe", "description": "-", "encodingType": "text/plain", "metadata": "-"}
        )
        observed = peer.create(
            "/ObservedProperties",
            {"name": "Water tension", "definition": "https://example.org/tension", "description": "-"},
        )
        thing = {
            "name": "Bench thing",
            "description": "generated benchmark data",
            "Locations": [
                {
                    "name": "Bench location",
                    "description": "-",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [9.68, 50.55]},
                }
            ],
            "Datastreams": [
                {
                    "name": f"Bench {n}",
                    "description": "benchmark",
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "unitOfMeasurement": {
                        "name": "Centibar",
                        "symbol": "cbar",
                        "definition": "http://unitsofmeasure.org",
                    },
                    "Sensor": {"@iot.id": sensor},
                    "ObservedProperty": {"@iot.id": observed},
                }
                for n in range(wanted)
            ],
        }
        peer.create("/Things", thing)
        with peer.db() as conn:
            rows = conn.execute(
                "SELECT id, name FROM sensorthings.\"Datastream\" WHERE name LIKE 'Bench %%' ORDER BY id"
            ).fetchall()
    datastreams = [row[0] for row in rows]
    # a probe reading (before every benchmark's time range) makes istSOS4 generate the FeatureOfInterest
    with peer.db() as conn:
        foi = conn.execute(
            'SELECT featuresofinterest_id FROM sensorthings."Observation" WHERE datastream_id = %s LIMIT 1',
            [datastreams[0]],
        ).fetchone()
    if foi is None:
        probe = {"phenomenonTime": "2024-01-01T00:00:00Z", "result": -1, "Datastream": {"@iot.id": datastreams[0]}}
        peer.create("/Observations", probe)
        with peer.db() as conn:
            foi = conn.execute(
                'SELECT featuresofinterest_id FROM sensorthings."Observation" WHERE datastream_id = %s LIMIT 1',
                [datastreams[0]],
            ).fetchone()
    assert foi is not None
    return {"datastreams": datastreams, "feature": foi[0]}


def peer_count(peer: Peer, datastreams: list[int]) -> int:
    with peer.db() as conn:
        row = conn.execute(
            'SELECT count(*) FROM sensorthings."Observation" WHERE datastream_id = ANY(%s)', [datastreams]
        ).fetchone()
    assert row is not None
    return int(row[0])


def peer_vacuum(peer: Peer) -> None:
    import psycopg

    with psycopg.connect(peer.db_url, autocommit=True) as conn:
        conn.execute('VACUUM ANALYZE sensorthings."Observation"')


def peer_clear(peer: Peer, datastreams: list[int]) -> None:
    with peer.db() as conn:
        conn.execute('DELETE FROM sensorthings."Observation" WHERE datastream_id = ANY(%s)', [datastreams])
        conn.execute(
            'UPDATE sensorthings."Datastream" SET "phenomenonTime" = NULL, "resultTime" = NULL WHERE id = ANY(%s)',
            [datastreams],
        )
    peer_vacuum(peer)


def peer_copy_floor(peer: Peer, datastreams: list[int]) -> tuple[int, float]:
    """The peer's rows of ``datastreams`` copied out, deleted and ``COPY``ed back in one transaction."""
    buffer = io.BytesIO()
    with peer.db() as conn:
        with conn.cursor() as cursor:
            with cursor.copy(
                f'COPY (SELECT {PEER_COLUMNS} FROM sensorthings."Observation" WHERE datastream_id = ANY(%s)) TO STDOUT',  # noqa: S608
                (datastreams,),
            ) as copy:
                for chunk in copy:
                    buffer.write(chunk)
            cursor.execute('DELETE FROM sensorthings."Observation" WHERE datastream_id = ANY(%s)', (datastreams,))
        conn.commit()
    peer_vacuum(peer)
    data = buffer.getvalue()
    with peer.db() as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f'COPY sensorthings."Observation" ({PEER_COLUMNS}) FROM STDIN') as copy,
        ):
            copy.write(data)
        conn.commit()
        seconds = time.perf_counter() - started
    return data.count(b"\n"), seconds


# --- client threads ------------------------------------------------------------------------------------------


def run_clients(
    connect: Any, path: str, headers: dict[str, str], work: list[list[bytes]], check: Any
) -> tuple[float, list[str], int]:
    """One thread per ``work`` list, each POSTing its bodies in order over one keep-alive connection.

    ``check(status, answer)`` returns (rows confirmed, error or None). Returns (seconds, errors, confirmed).
    """
    errors: list[str] = []
    confirmed = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        conn = connect(index)
        for body in work[index]:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            rows, error = check(response.status, answer)
            with lock:
                confirmed[0] += rows
                if error:
                    errors.append(error)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(work))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors, confirmed[0]


def check_links(status: int, answer: bytes) -> tuple[int, str | None]:
    """CreateObservations: 201 and one link per row; istSOS4 puts ``"error"`` in place of a row it lost."""
    if status != 201:
        return 0, f"{status}: {answer[:200]!r}"
    links = json.loads(answer)
    failed = sum(1 for link in links if link == "error")
    return len(links) - failed, (f"201 with {failed} 'error' entries" if failed else None)


def check_created(rows: int) -> Any:
    def check(status: int, answer: bytes) -> tuple[int, str | None]:
        if status != 201:
            return 0, f"{status}: {answer[:200]!r}"
        return rows, None

    return check


def single_bodies(datastream: int, rows: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "phenomenonTime": iso(bench_sta.START + dt.timedelta(seconds=10 * n)),
                "result": round(20 + (n % 997) / 10, 1),
                "Datastream": {"@iot.id": datastream},
            },
            separators=(",", ":"),
        ).encode()
        for n in range(rows)
    ]


def figure(name: str, server: str, sent: int, seconds: float, stored: int, errors: list[str], **extra: Any) -> None:
    emit(
        {
            "benchmark": name,
            "server": server,
            "rows": sent,
            "seconds": round(seconds, 2),
            "rows_per_s": round(stored / seconds) if seconds else 0,
            "stored": stored,
            "errors": len(errors),
            "first_errors": errors[:3],
            **extra,
        }
    )


def floor_extra(rate: float, rows: int, seconds: float) -> dict[str, Any]:
    if not rows or not seconds:
        return {"copy_rows": rows}
    return {
        "copy_rows": rows,
        "copy_rows_per_s": round(rows / seconds),
        "ratio_to_copy": round(rate / (rows / seconds), 3),
    }


# --- the workloads -------------------------------------------------------------------------------------------


def single_dikom(args: argparse.Namespace, env: dict[str, str], prepared: dict[str, Any]) -> None:
    datastreams = prepared["datastreams"][args.filter_datastreams :][: args.clients]
    per = args.single_rows // len(datastreams)
    bench_sta.ensure_months(bench_sta.START, bench_sta.START + dt.timedelta(seconds=10 * per))
    bench_sta.clear(datastreams)
    work = [single_bodies(ds, per) for ds in datastreams]
    headers = {"Authorization": f"Api-Key {prepared['token']}", "Content-Type": "application/json"}
    with bench_sta.web_servers(env, args.servers, args.threads) as (ports, _pids):
        seconds, errors, _ = run_clients(
            lambda i: http.client.HTTPConnection("127.0.0.1", ports[i % len(ports)], timeout=600),
            "/sta/v1.1/Observations",
            headers,
            work,
            check_created(1),
        )
    stored = bench_sta.observation_count(datastreams)
    figure(
        "POST /Observations, one per request",
        "dikom",
        per * len(datastreams),
        seconds,
        stored,
        errors,
        clients=len(datastreams),
        servers=f"{args.servers} x {args.threads} threads",
    )
    bench_sta.clear(datastreams)


def single_peer(args: argparse.Namespace, peer: Peer, prepared: dict[str, Any]) -> None:
    datastreams = prepared["datastreams"][args.filter_datastreams :][: args.clients]
    per = args.single_rows // len(datastreams)
    peer_clear(peer, datastreams)
    work = [single_bodies(ds, per) for ds in datastreams]
    seconds, errors, _ = run_clients(
        lambda i: peer.connection(),
        peer.base + "/Observations",
        {"Content-Type": "application/json"},
        work,
        check_created(1),
    )
    stored = peer_count(peer, datastreams)
    figure(
        "POST /Observations, one per request",
        "istSOS4",
        per * len(datastreams),
        seconds,
        stored,
        errors,
        clients=len(datastreams),
    )
    peer_clear(peer, datastreams)


def http_peer(args: argparse.Namespace, peer: Peer, prepared: dict[str, Any]) -> None:
    datastreams = prepared["datastreams"][args.filter_datastreams :][: args.clients]
    per = args.peer_rows // len(datastreams)
    paths = [("CreateObservations", "/CreateObservations", check_links)]
    if not args.no_peer_bulk:
        paths.append(("BulkObservations (istSOS4 extension)", "/BulkObservations", None))
    for label, path, check in paths:
        for batch in args.batch:
            peer_clear(peer, datastreams)
            work = [bench_sta.bodies_for(ds, per, batch, 0) for ds in datastreams]
            seconds, errors, _ = run_clients(
                lambda i: peer.connection(),
                peer.base + path,
                {"Content-Type": "application/json"},
                work,
                check or check_created(batch),
            )
            stored = peer_count(peer, datastreams)
            rate = stored / seconds
            rows, copy_seconds = peer_copy_floor(peer, datastreams) if stored else (0, 0.0)
            figure(
                label,
                "istSOS4",
                per * len(datastreams),
                seconds,
                stored,
                errors,
                batch=batch,
                clients=len(datastreams),
                **floor_extra(rate, rows, copy_seconds),
            )
    peer_clear(peer, datastreams)


def load_peer_history(
    args: argparse.Namespace, peer: Peer, prepared: dict[str, Any]
) -> tuple[dt.datetime, dt.datetime, list[int]]:
    """The history of ``bench_sta.load_history`` (same instants and values) COPYed into the peer's table."""
    datastreams = prepared["datastreams"][: args.filter_datastreams]
    per = args.filter_rows // len(datastreams)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    first = end - dt.timedelta(seconds=args.step * per)
    if first < PARTITIONS_FROM:
        raise SystemExit(f"history starts {first:%Y-%m-%d}, before the peer's partitions: lower --filter-rows")
    window_rows = peer_count_between(peer, datastreams, first, end)
    if window_rows >= per * len(datastreams):
        return first, end, datastreams
    peer_clear(peer, datastreams[1:])  # the first keeps its probe reading (2024), as dikom's keeps its own
    with peer.db() as conn:
        conn.execute(
            'DELETE FROM sensorthings."Observation" WHERE datastream_id = %s AND "phenomenonTimeStart" >= %s',
            [datastreams[0], PARTITIONS_FROM],
        )
    peer_vacuum(peer)
    started = time.perf_counter()
    with peer.db() as conn, conn.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no foreign key triggers for the bulk load
        cursor.execute("SELECT nextval(pg_get_serial_sequence('sensorthings.\"Observation\"', 'id'))")
        row = cursor.fetchone()
        assert row is not None
        next_id = int(row[0])
        base_epoch = first.timestamp()
        feature = prepared["feature"]
        with cursor.copy(
            'COPY sensorthings."Observation" (id, "phenomenonTimeStart", "phenomenonTimeEnd", "resultType", '
            '"resultNumber", datastream_id, featuresofinterest_id) FROM STDIN'
        ) as copy:
            for chunk in bench_sta.history_chunks(
                base_epoch,
                args.step,
                per,
                datastreams,
                next_id,
                lambda ident, when, value, ds: f"{ident}\t{when}\t{when}\t0\t{value}\t{ds}\t{feature}\n",
            ):
                copy.write(chunk)
            next_id += per * len(datastreams)
        cursor.execute("SELECT setval(pg_get_serial_sequence('sensorthings.\"Observation\"', 'id'), %s)", [next_id])
        cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            'UPDATE sensorthings."Datastream" SET "phenomenonTime" = tstzrange(%s, %s, \'[]\') WHERE id = ANY(%s)',
            [first, end, datastreams],
        )
        conn.commit()
    loaded = time.perf_counter() - started
    peer_vacuum(peer)
    emit(
        {
            "benchmark": "load observations with COPY",
            "server": "istSOS4",
            "rows": per * len(datastreams),
            "seconds": round(loaded, 1),
            "rows_per_s": round(per * len(datastreams) / loaded),
            "with_vacuum_analyze_seconds": round(time.perf_counter() - started, 1),
        }
    )
    return first, end, datastreams


def peer_count_between(peer: Peer, datastreams: list[int], first: dt.datetime, end: dt.datetime) -> int:
    with peer.db() as conn:
        row = conn.execute(
            'SELECT count(*) FROM sensorthings."Observation" WHERE datastream_id = ANY(%s) '
            'AND "phenomenonTimeStart" >= %s AND "phenomenonTimeStart" < %s',
            [datastreams, first, end],
        ).fetchone()
    assert row is not None
    return int(row[0])


def filter_peer(args: argparse.Namespace, peer: Peer, prepared: dict[str, Any]) -> None:
    first, end, datastreams = load_peer_history(args, peer, prepared)
    with peer.db() as conn:
        row = conn.execute('SELECT count(*) FROM sensorthings."Observation"').fetchone()
    total = int(row[0]) if row else 0
    rng = random.Random(17)  # the windows of bench_sta.bench_filter (same seed, same draws)
    span = (end - first).total_seconds() - args.window

    def url() -> str:
        start = first + dt.timedelta(seconds=rng.uniform(0, span))
        stop = start + dt.timedelta(seconds=args.window)
        condition = f"phenomenonTime ge {iso(start)} and phenomenonTime lt {iso(stop)}"
        top = f"&$top={args.top}" if args.top else ""
        return f"{peer.base}/Datastreams({rng.choice(datastreams)})/Observations?$filter={quote(condition)}{top}"

    url()  # bench_sta draws one window for its EXPLAIN first
    latencies: list[float] = []
    returned = 0
    conn = peer.connection()
    for index in range(args.repeat + 10):
        target = url()
        started = time.perf_counter()
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"peer: {response.status} {body[:300]!r}")
        if index >= 10:
            latencies.append(elapsed * 1000)
            returned += len(json.loads(body)["value"])
    conn.close()
    ours = [r for r in bench_sta.RESULTS if r["benchmark"] == "$filter time window over HTTP" and "server" not in r]
    mean = round(returned / len(latencies), 1)
    if ours and ours[-1]["mean_rows_returned"] != mean:
        print(f"# rows returned differ: dikom {ours[-1]['mean_rows_returned']}, istSOS4 {mean}", flush=True)
    emit(
        {
            "benchmark": "$filter time window over HTTP",
            "server": "istSOS4",
            "observations_in_table": total,
            "datastreams": len(datastreams),
            "window_seconds": args.window,
            "top": args.top or 100,
            "requests": len(latencies),
            "mean_rows_returned": mean,
            "p50_ms": round(common.percentile(latencies, 50), 1),
            "p95_ms": round(common.percentile(latencies, 95), 1),
            "p99_ms": round(common.percentile(latencies, 99), 1),
        }
    )


# --- summary -------------------------------------------------------------------------------------------------


def summary() -> None:
    """Both servers' figures side by side (Markdown, for docs/benchmarks.md)."""
    print("\n| workload | server | rows/s | COPY rows/s | ratio to COPY | p50 / p95 ms | errors | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in bench_sta.RESULTS:
        name = r["benchmark"] + (f", batch {r['batch']}" if "batch" in r else "")
        latency = f"{r['p50_ms']} / {r['p95_ms']}" if "p50_ms" in r else ""
        errors = r.get("errors", "")
        errors = len(errors) if isinstance(errors, list) else errors
        print(
            f"| {name} | {r.get('server', 'dikom')} | {r.get('rows_per_s', '')} | {r.get('copy_rows_per_s', '')} "
            f"| {r.get('ratio_to_copy', '')} | {latency} | {errors} | {r['load_avg'][0]} |"
        )


def main() -> None:
    parser = bench_sta.build_parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--peer-url", help="the peer's SensorThings root, e.g. http://127.0.0.1:8018/istsos4/v1.1")
    parser.add_argument("--peer-db", default="postgres://postgres@127.0.0.1:5432/istsos4_bench")
    parser.add_argument("--peer-init", metavar="CHECKOUT", help="(re)create the peer's database from its schema")
    parser.add_argument("--peer-rows", type=int, default=8_000, help="CreateObservations rows per batch size (peer)")
    parser.add_argument("--no-peer-bulk", action="store_true", help="skip istSOS4's BulkObservations")
    parser.add_argument("--single-rows", type=int, default=4_000, help="POST /Observations requests per server")
    parser.add_argument("--no-dikom", action="store_true", help="the peer alone")
    args = parser.parse_args()
    if args.peer_init:
        init_peer_database(args)
    phases = [p for p in args.phases.split(",") if p and p != "none"]
    if not phases:
        return
    env = bench_sta.environment(args, DIKOM_STA_MQTT_URL="mqtt://127.0.0.1:1883")
    print(f"# {common.machine()}; PostgreSQL {args.db_name} and {args.peer_db.rsplit('/', 1)[1]}", flush=True)
    prepared = None if args.no_dikom else bench_sta.prepare(args, env)
    peer = Peer(args.peer_url, args.peer_db) if args.peer_url else None
    peer_prepared = prepare_peer(args, peer) if peer else None
    for phase in phases:
        if phase == "single":
            if prepared:
                single_dikom(args, env, prepared)
            if peer and peer_prepared:
                single_peer(args, peer, peer_prepared)
        elif phase == "http":
            if prepared:
                bench_sta.bench_http(args, env, prepared)
            if peer and peer_prepared:
                http_peer(args, peer, peer_prepared)
        elif phase == "mqtt":
            if prepared:
                bench_sta.bench_mqtt(args, env, prepared)
            if peer:
                print("# mqtt: istSOS4 has no MQTT ingestion in its server (see the docstring)", flush=True)
        elif phase == "filter":
            if prepared:
                bench_sta.bench_filter(args, env, prepared)
            if peer and peer_prepared:
                filter_peer(args, peer, peer_prepared)
        else:
            raise SystemExit(f"unknown phase {phase}")
    summary()


if __name__ == "__main__":
    main()
