"""SensorThings API on PostgreSQL (issue 17): ingestion through CreateObservations and MQTT, next to COPY of the
same rows, and ``$filter`` on a Datastream's time window with millions of observations in the table.

Shape: one machine; PostgreSQL at ``--pg-url`` (the database ``--db-name``, default ``dikom_bench_sta``, is
dropped and created unless ``--reuse``); a Mosquitto of our own on a free loopback port (Debian's
``mosquitto`` binary; the shared broker on 1883 carries other people's ``v1.1/…`` topics).

Method:

``prepare``: ``migrate``, the demo cooperation's cities (only the cities), an API key of Fulda with
``sensors:write``, one Thing with a Location and ``--datastreams`` Datastreams (deep insert through the
platform's action), and the monthly partitions of the benchmark's time range
(``dikom.sensors.partitions``).

``http``: ``--servers`` processes of ``manage.py serve --no-worker --no-mqtt-ingest --processes 1`` (the
platform's waitress server) on 127.0.0.1, ``DIKOM_STA_MQTT_URL`` set so that every request enqueues the
MQTT notifications of its Observations as in production (the worker that publishes them is not running:
the figure is the ingestion path). ``--clients`` client threads with keep-alive connections each POST
``CreateObservations`` bodies (one Datastream block of ``--batch`` rows, a Datastream of its own per
client, one reading every 10 s, result a number) until ``--rows`` rows are sent; the bodies are built
before the clock starts. Throughput = rows / wall time from the first request to the last answer; every
answer must be 201 with one link per row, and the rows must be in the table afterwards. Then the floor:
the same rows are copied out (``COPY … TO STDOUT``), deleted, the table vacuumed, and ``COPY``ed back in
one transaction into the same partitioned table with the same indexes and foreign keys; ratio =
API rate / COPY rate.

``mqtt``: ``manage.py sta_mqtt_ingest`` (the platform's listener, persistent session, acknowledging
after the commit; ``--listeners N`` > 1 runs N of them as ``--member 1..N`` on a shared subscription)
against our Mosquitto; ``--publishers`` publishers (QoS 1, MQTT 3.1.1), one Datastream each, publish
``--mqtt-rows`` readings as fast as the broker acknowledges them (``--publisher raw``, the default: the
PUBLISH packets written to a plain socket by this script, a load generator of little CPU;
``--publisher paho``: a paho client each, as the first measurements did); the clock runs from the first
publish until every row is in the database (counted every 0.2 s). Run once with
Mosquitto's defaults (``max_inflight_messages 20``, ``max_queued_messages 1000``: the broker drops
QoS 1 messages beyond that queue, which the run reports as missing rows) and once with the settings
``docs/sensors.md`` recommends. COPY floor as above.

``filter``: ``--filter-rows`` observations (``--filter-datastreams`` Datastreams, one reading every
``--step`` seconds, going back from now) are loaded with ``COPY`` (foreign key triggers off for the
load: ``session_replication_role = replica``; the data is generated consistent), then ``ANALYZE``.
``--repeat`` GETs of ``/sta/v1.1/Datastreams(<random>)/Observations?$filter=phenomenonTime ge <t> and
phenomenonTime lt <t + window>`` (random start; default $top 100) over HTTP against one server with
keep-alive, one client; p50/p95/p99. The SQL of one such request and its ``EXPLAIN (ANALYZE)`` plan are
printed (the index used). ``--reuse`` keeps a loaded database.

``profile``: in this process, ``--profile-rows`` rows through ``CreateObservations`` (Django's test client,
batches of the first ``--batch``) and through the MQTT listener's ``store_messages`` (what follows paho),
then the MQTT notifications of those Observations (``publish_observations``, the worker's task) to a
Mosquitto of our own; CPU per row of this process and of its PostgreSQL backend; ``--profile`` prints
cProfile's 25 functions with the most own time for each (and for the ``filter`` phase's in-process
requests).

CPU: every figure carries the CPU seconds of the dikom processes under test (web servers or listeners,
with their children, from ``/proc``) and of the PostgreSQL backends of the benchmark's database
(``pg_stat_activity``; the server runs on this machine), per row or request, and the ``COPY``'s backend
CPU per row; ``cpu_ratio_to_copy`` = COPY's CPU per row / (dikom + PostgreSQL CPU per row of the path),
which, unlike the rates, does not depend on what else runs on the cores. The ``filter`` phase also runs
the same kind of request in-process through Django's test client (no HTTP, no other thread).

Every figure is one JSON line with the load average (1, 5, 15 minutes) read right after it::

    .venv/bin/python benchmarks/bench_sta.py --phases http,mqtt --rows 200000
    .venv/bin/python benchmarks/bench_sta.py --phases filter --filter-rows 10000000
    .venv/bin/python benchmarks/bench_sta.py --phases filter --reuse --repeat 400
    .venv/bin/python benchmarks/bench_sta.py --phases mqtt --listeners 2 --skip-default-broker
    .venv/bin/python benchmarks/bench_sta.py --phases profile --profile --reuse
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from sta_support import TICK, backend_seconds, mosquitto, process_cpu, processes_cpu, raw_publish, stat_fields

CITY_AGS = "06631009"  # Fulda, a city of the demo cooperation
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # ingested readings: from here, one every 10 s per Datastream
COPY_COLUMNS = (
    "id, municipality_id, datastream_id, feature_of_interest_id, phenomenon_time, phenomenon_time_end, "
    "result_time, result, result_number, result_string, result_quality, valid_time_start, valid_time_end, parameters"
)
TUNED_BROKER = "max_inflight_messages 1000\nmax_queued_messages 1000000\n"
RESULTS: list[dict[str, Any]] = []  # every figure of the run, for a summary (``bench_sta_peer.py``)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def backend_cpu(db_name: str) -> dict[int, float]:
    """CPU seconds of every PostgreSQL backend connected to ``db_name`` (the server runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [db_name])
        pids = [int(pid) for (pid,) in cursor.fetchall()]
    out = {}
    for pid in pids:
        fields = stat_fields(pid)
        if fields is not None:
            out[pid] = sum(int(x) for x in fields[11:13]) / TICK
    return out


def backend_cpu_since(db_name: str, before: dict[int, float]) -> float:
    """CPU seconds the backends of ``db_name`` spent since ``before`` (new backends counted from zero; a backend
    that ended in between is not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in backend_cpu(db_name).items())


def emit(result: dict[str, Any]) -> None:
    result["load_avg"] = load_avg()
    RESULTS.append(result)
    print(json.dumps(result), flush=True)


# --- preparation --------------------------------------------------------------------------------------------


def environment(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    env = common.bench_env(DATABASE_URL=f"{args.pg_url}/{args.db_name}", DIKOM_WEB_PROCESSES="1", **extra)
    os.environ.update(env)
    return env


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Fresh database (unless --reuse and it exists): cities, an API key, a Thing with Datastreams."""
    import psycopg

    with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db_name]).fetchone()
        if not (args.reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}"')
            conn.execute(f'CREATE DATABASE "{args.db_name}"')
    common.manage(env, "migrate", "-v0")
    setup_django()
    from dikom.accounts.actions import create_api_key
    from dikom.demo.actions import load_demo_cooperation
    from dikom.municipalities.models import Municipality
    from dikom.sensors import actions
    from dikom.sensors import models as m
    from dikom.sensors.entities import TYPES

    if not Municipality.objects.filter(ags=CITY_AGS).exists():  # again would set the demo passwords anew
        load_demo_cooperation()
    city = Municipality.objects.get(ags=CITY_AGS)
    key = create_api_key(municipality=city, name="bench_sta", scopes=["sensors:write"])
    wanted = args.filter_datastreams + args.clients + args.publishers
    have = list(m.Datastream.objects.filter(municipality=city, name__startswith="Bench ").order_by("pk"))
    if len(have) < wanted:
        datastream = {
            "name": "Bench water tension",
            "description": "benchmark",
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "http://unitsofmeasure.org"},
            "Sensor": {"name": "Bench probe", "description": "-", "encodingType": "text/plain", "metadata": "-"},
            "ObservedProperty": {
                "name": "Water tension",
                "definition": "https://example.org/tension",
                "description": "-",
            },
        }
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
            "Datastreams": [{**datastream, "name": f"Bench {n}"} for n in range(len(have), wanted)],
        }
        actions.create_entity(TYPES["Thing"], thing, city)
        have = list(m.Datastream.objects.filter(municipality=city, name__startswith="Bench ").order_by("pk"))
    feature = actions.feature_id_for_datastream(have[0])
    return {"token": key.token, "datastreams": [d.pk for d in have], "feature": feature, "city": city.pk}


def setup_django() -> None:
    import django

    sys.path.insert(0, str(common.ROOT / "src"))
    django.setup()


def ensure_months(first: dt.datetime, last: dt.datetime) -> None:
    """Monthly partitions from ``first`` to ``last`` (the periodic job only creates the months ahead)."""
    from django.db import connection, transaction

    from dikom.lib.months import add_months, month_of
    from dikom.sensors import partitions

    existing = {p.name for p in partitions.partitions()}
    month = month_of(first)
    with transaction.atomic(), connection.cursor() as cursor:
        while month <= month_of(last):
            if partitions.partition_name(month) not in existing:
                partitions.OBSERVATIONS.create_partition(cursor, month)
            month = add_months(month, 1)


def observation_count(datastreams: list[int]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sensors_observation WHERE datastream_id = ANY(%s)", [datastreams])
        return int(cursor.fetchone()[0])


def clear(datastreams: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sensors_observation WHERE datastream_id = ANY(%s)", [datastreams])
        cursor.execute(
            "UPDATE sensors_datastream SET phenomenon_time_start = NULL, phenomenon_time_end = NULL WHERE id = ANY(%s)",
            [datastreams],
        )
    vacuum()


def vacuum() -> None:
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    old = raw.autocommit
    raw.autocommit = True
    raw.execute("VACUUM ANALYZE sensors_observation")
    raw.autocommit = old


def copy_floor(datastreams: list[int]) -> tuple[int, float]:
    """The rows of ``datastreams`` copied out, deleted and ``COPY``ed back in one transaction: (rows, seconds).
    The CPU seconds of the PostgreSQL backend for the ``COPY`` are left in ``COPY_CPU[0]``."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    buffer = io.BytesIO()
    with raw.cursor() as cursor:
        with cursor.copy(
            f"COPY (SELECT {COPY_COLUMNS} FROM sensors_observation WHERE datastream_id = ANY(%s)) TO STDOUT",  # noqa: S608
            (datastreams,),
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        cursor.execute("DELETE FROM sensors_observation WHERE datastream_id = ANY(%s)", (datastreams,))
    raw.commit()
    vacuum()
    data = buffer.getvalue()
    backend = int(raw.execute("SELECT pg_backend_pid()").fetchone()[0])
    cpu = backend_seconds(backend)
    started = time.perf_counter()
    with raw.cursor() as cursor, cursor.copy(f"COPY sensors_observation ({COPY_COLUMNS}) FROM STDIN") as copy:
        copy.write(data)
    raw.commit()
    seconds = time.perf_counter() - started
    COPY_CPU[0] = backend_seconds(backend) - cpu
    return data.count(b"\n"), seconds


COPY_CPU = [0.0]


@contextmanager
def web_servers(env: dict[str, str], count: int, threads: int) -> Iterator[tuple[list[int], list[int]]]:
    """``manage.py serve`` processes without worker and listeners (``common.servers`` adds the flags we need)."""
    procs: list[subprocess.Popen[bytes]] = []
    ports = []
    try:
        for _ in range(count):
            port = common.free_port()
            command = [
                common.PYTHON,
                str(common.ROOT / "manage.py"),
                "serve",
                "--no-worker",
                "--no-mqtt-ingest",
                "--processes",
                "1",
                "--port",
                str(port),
                "--threads",
                str(threads),
            ]
            procs.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))  # noqa: S603
            ports.append(port)
        for port in ports:
            common.wait_healthy(port)
        yield ports, [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- CreateObservations over HTTP --------------------------------------------------------------------------


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bodies_for(datastream: int, rows: int, batch: int, first: int) -> list[bytes]:
    """CreateObservations bodies of one Datastream: readings ``first`` … ``first + rows - 1`` (every 10 s)."""
    out = []
    for start in range(first, first + rows, batch):
        data = [
            [iso(START + dt.timedelta(seconds=10 * n)), round(20 + (n % 997) / 10, 1)]
            for n in range(start, min(start + batch, first + rows))
        ]
        block = {"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"], "dataArray": data}
        out.append(json.dumps([block], separators=(",", ":")).encode())
    return out


def bench_http(args: argparse.Namespace, env: dict[str, str], prepared: dict[str, Any]) -> None:
    datastreams = prepared["datastreams"][args.filter_datastreams :][: args.clients]
    per_client = args.rows // args.clients
    ensure_months(START, START + dt.timedelta(seconds=10 * per_client))
    for batch in args.batch:
        clear(datastreams)
        work = [bodies_for(ds, per_client, batch, 0) for ds in datastreams]
        errors: list[str] = []
        links = [0]
        lock = threading.Lock()
        with web_servers(env, args.servers, args.threads) as (ports, pids):

            def client(  # the loop's values bound as defaults
                index: int,
                ports: list[int] = ports,
                work: list[list[bytes]] = work,
                lock: threading.Lock = lock,
                errors: list[str] = errors,
                links: list[int] = links,
            ) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=600)
                headers = {"Authorization": f"Api-Key {prepared['token']}", "Content-Type": "application/json"}
                for body in work[index]:
                    conn.request("POST", "/sta/v1.1/CreateObservations", body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    with lock:
                        if response.status != 201:
                            errors.append(f"{response.status}: {answer[:200]!r}")
                        else:
                            links[0] += len(json.loads(answer))
                conn.close()

            threads = [threading.Thread(target=client, args=(i,)) for i in range(len(datastreams))]
            cpu_before, pg_before = processes_cpu(pids), backend_cpu(args.db_name)
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            dikom_cpu = processes_cpu(pids) - cpu_before
            pg_cpu = backend_cpu_since(args.db_name, pg_before)
        stored = observation_count(datastreams)
        sent = per_client * len(datastreams)
        rate = sent / seconds
        rows, copy_seconds = copy_floor(datastreams)
        emit(
            {
                "benchmark": "CreateObservations over HTTP",
                "rows": sent,
                "batch": batch,
                "clients": len(datastreams),
                "servers": f"{args.servers} x {args.threads} threads",
                "seconds": round(seconds, 2),
                "rows_per_s": round(rate),
                "stored": stored,
                "links": links[0],
                "errors": errors[:3],
                "copy_rows": rows,
                "copy_seconds": round(copy_seconds, 2),
                "copy_rows_per_s": round(rows / copy_seconds),
                "ratio_to_copy": round(rate / (rows / copy_seconds), 3),
                **cpu_figures(sent, dikom_cpu, pg_cpu, rows),
            }
        )


def cpu_figures(rows: int, dikom_cpu: float, pg_cpu: float, copy_rows: int) -> dict[str, Any]:
    """CPU seconds of the dikom processes and of PostgreSQL, per row, next to the ``COPY``'s backend CPU per row;
    ``cpu_ratio_to_copy``: COPY's CPU per row / the path's (dikom + PostgreSQL) CPU per row, a ratio that does
    not depend on how many other processes share the cores."""
    copy_us = COPY_CPU[0] / max(copy_rows, 1) * 1e6
    path_us = (dikom_cpu + pg_cpu) / max(rows, 1) * 1e6
    return {
        "dikom_cpu_s": round(dikom_cpu, 2),
        "dikom_cpu_us_per_row": round(dikom_cpu / max(rows, 1) * 1e6, 1),
        "pg_cpu_s": round(pg_cpu, 2),
        "pg_cpu_us_per_row": round(pg_cpu / max(rows, 1) * 1e6, 1),
        "copy_pg_cpu_us_per_row": round(copy_us, 1),
        "cpu_ratio_to_copy": round(copy_us / path_us, 3) if path_us else None,
    }


# --- MQTT publish-to-create --------------------------------------------------------------------------------


def bench_mqtt(args: argparse.Namespace, env: dict[str, str], prepared: dict[str, Any]) -> None:
    import paho.mqtt.client as mqtt

    datastreams = prepared["datastreams"][args.filter_datastreams + args.clients :][: args.publishers]
    per_publisher = args.mqtt_rows // args.publishers
    ensure_months(START, START + dt.timedelta(seconds=10 * per_publisher))
    for label, extra in (("Mosquitto defaults", ""), ("tuned Mosquitto", TUNED_BROKER)):
        if label == "Mosquitto defaults" and args.skip_default_broker:
            continue
        clear(datastreams)
        with mosquitto(extra) as (port, broker_pid):
            listener_env = {**env, "DIKOM_STA_MQTT_URL": f"mqtt://127.0.0.1:{port}"}  # its notifications: tasks
            command = [common.PYTHON, str(common.ROOT / "manage.py"), "sta_mqtt_ingest"]
            members: list[list[str]] = (
                [[]] if args.listeners == 1 else [["--member", str(n)] for n in range(1, args.listeners + 1)]
            )
            listeners = [
                subprocess.Popen([*command, *member], env=listener_env, stdout=subprocess.DEVNULL)  # noqa: S603
                for member in members
            ]
            try:
                # the listener is subscribed once a probe reading arrives in the database
                probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
                probe.connect("127.0.0.1", port)
                probe.loop_start()
                deadline = time.monotonic() + 60
                while observation_count(datastreams[:1]) == 0 and time.monotonic() < deadline:
                    reading = {"phenomenonTime": "2025-12-31T00:00:00Z", "result": -1}
                    probe.publish(f"v1.1/Datastreams({datastreams[0]})/Observations", json.dumps(reading), qos=1)
                    time.sleep(0.5)
                probe.loop_stop()
                probe.disconnect()
                if len(listeners) > 1:
                    time.sleep(3)  # the other members subscribe too (a shared subscription serves who is there)
                baseline = observation_count(datastreams)
                payloads = [
                    [
                        json.dumps({"phenomenonTime": iso(START + dt.timedelta(seconds=10 * n)), "result": 20 + n % 97})
                        for n in range(per_publisher)
                    ]
                    for _ in datastreams
                ]
                acked = [0]
                lock = threading.Lock()

                def publisher(  # the loop's values bound as defaults
                    index: int,
                    port: int = port,
                    payloads: list[list[str]] = payloads,
                    lock: threading.Lock = lock,
                    acked: list[int] = acked,
                ) -> None:
                    if args.publisher == "raw":
                        topic = f"v1.1/Datastreams({datastreams[index]})/Observations"
                        count = raw_publish(port, f"bench-{index}", topic, payloads[index])
                        with lock:
                            acked[0] += count
                        return
                    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
                    client.max_inflight_messages_set(100)
                    client.max_queued_messages_set(0)
                    client.connect("127.0.0.1", port)
                    client.loop_start()
                    topic = f"v1.1/Datastreams({datastreams[index]})/Observations"
                    infos = [client.publish(topic, payload, qos=1) for payload in payloads[index]]
                    for info in infos:
                        info.wait_for_publish(timeout=600)
                    with lock:
                        acked[0] += sum(1 for info in infos if info.is_published())
                    client.loop_stop()
                    client.disconnect()

                threads = [threading.Thread(target=publisher, args=(i,)) for i in range(len(datastreams))]
                sent = per_publisher * len(datastreams)
                pids = [proc.pid for proc in listeners]
                cpu_before, pg_before = processes_cpu(pids), backend_cpu(args.db_name)
                broker_before, own_before = process_cpu(broker_pid), sum(os.times()[:2])
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                published = time.perf_counter() - started
                stored, last_change, previous = 0, time.perf_counter(), -1
                while True:
                    stored = observation_count(datastreams) - baseline
                    now = time.perf_counter()
                    if stored != previous:
                        last_change, previous = now, stored
                    if stored >= sent or now - last_change > args.mqtt_idle:
                        break
                    time.sleep(0.2)
                seconds = last_change - started
                dikom_cpu = processes_cpu(pids) - cpu_before
                pg_cpu = backend_cpu_since(args.db_name, pg_before)
                broker_cpu = process_cpu(broker_pid) - broker_before
                own_cpu = sum(os.times()[:2]) - own_before
            finally:
                for proc in listeners:
                    proc.terminate()
                for proc in listeners:
                    proc.wait(timeout=30)
        rate = stored / seconds
        rows, copy_seconds = copy_floor(datastreams)
        emit(
            {
                "benchmark": f"MQTT publish-to-create ({label})",
                "rows": sent,
                "publishers": len(datastreams),
                "listeners": len(listeners),
                "acknowledged_by_broker": acked[0],
                "stored": stored,
                "missing": sent - stored,
                "publish_seconds": round(published, 2),
                "seconds": round(seconds, 2),
                "rows_per_s": round(rate),
                "copy_rows": rows,
                "copy_rows_per_s": round(rows / copy_seconds),
                "ratio_to_copy": round(rate / (rows / copy_seconds), 3),
                **cpu_figures(stored, dikom_cpu, pg_cpu, rows),
                "broker_cpu_s": round(broker_cpu, 2),
                "publishers_and_bench_cpu_s": round(own_cpu, 2),
            }
        )


# --- $filter on a time window ------------------------------------------------------------------------------


def history_chunks(
    base_epoch: float,
    step: float,
    per: int,
    datastreams: list[int],
    first_id: int,
    line: Callable[[int, str, str, int], str],
) -> Iterator[str]:
    """The loaded history as COPY text, about 50 000 lines at a time: ``per`` instants ``step`` seconds apart, one
    reading per Datastream each, ids from ``first_id``; ``line(id, time, value, datastream)`` writes one row."""
    chunk: list[str] = []
    ident = first_id
    for n in range(per):
        when = dt.datetime.fromtimestamp(base_epoch + n * step, dt.UTC).isoformat()
        value = f"{20 + (n % 997) / 10:.1f}"
        for ds in datastreams:
            chunk.append(line(ident, when, value, ds))
            ident += 1
        if len(chunk) >= 50_000:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def load_history(args: argparse.Namespace, prepared: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """``--filter-rows`` readings over ``--filter-datastreams`` Datastreams, loaded with COPY (skipped when the
    table already holds them); returns the time range."""
    from django.db import connection

    datastreams = prepared["datastreams"][: args.filter_datastreams]
    per = args.filter_rows // len(datastreams)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    first = end - dt.timedelta(seconds=args.step * per)
    ensure_months(first, end)
    if observation_count(datastreams) >= per * len(datastreams):
        return first, end
    clear(datastreams)
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no foreign key triggers for the bulk load
        cursor.execute("SELECT nextval(pg_get_serial_sequence('sensors_observation', 'id'))")
        next_id = int(cursor.fetchone()[0])
        base_epoch = first.timestamp()
        with cursor.copy(
            "COPY sensors_observation (id, municipality_id, datastream_id, feature_of_interest_id, phenomenon_time, "
            "result, result_number) FROM STDIN"
        ) as copy:
            city, feature = prepared["city"], prepared["feature"]
            for chunk in history_chunks(
                base_epoch,
                args.step,
                per,
                datastreams,
                next_id,
                lambda ident, when, value, ds: f"{ident}\t{city}\t{ds}\t{feature}\t{when}\t{value}\t{value}\n",
            ):
                copy.write(chunk)
            next_id += per * len(datastreams)
        cursor.execute("SELECT setval(pg_get_serial_sequence('sensors_observation', 'id'), %s)", [next_id])
        cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            "UPDATE sensors_datastream SET phenomenon_time_start = %s, phenomenon_time_end = %s WHERE id = ANY(%s)",
            [first, end, datastreams],
        )
    raw.commit()
    loaded = time.perf_counter() - started
    vacuum()
    emit(
        {
            "benchmark": "load observations with COPY",
            "rows": per * len(datastreams),
            "seconds": round(loaded, 1),
            "rows_per_s": round(per * len(datastreams) / loaded),
            "with_vacuum_analyze_seconds": round(time.perf_counter() - started, 1),
        }
    )
    return first, end


def explain(url: str) -> list[str]:
    """The SQL statements one request runs (in-process), with the plan of the observations query."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        Client().get(url)
    statements = [q["sql"] for q in captured.captured_queries if "sensors_observation" in q["sql"]]
    if not statements:
        return []
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statements[-1])
        return [statements[-1], *[row[0] for row in cursor.fetchall()]]


def bench_filter(args: argparse.Namespace, env: dict[str, str], prepared: dict[str, Any]) -> None:
    first, end = load_history(args, prepared)
    datastreams = prepared["datastreams"][: args.filter_datastreams]
    total = observation_count(prepared["datastreams"])
    rng = random.Random(17)
    span = (end - first).total_seconds() - args.window

    def url() -> str:
        start = first + dt.timedelta(seconds=rng.uniform(0, span))
        stop = start + dt.timedelta(seconds=args.window)
        condition = f"phenomenonTime ge {iso(start)} and phenomenonTime lt {iso(stop)}"
        top = f"&$top={args.top}" if args.top else ""
        return f"/sta/v1.1/Datastreams({rng.choice(datastreams)})/Observations?$filter={quote(condition)}{top}"

    for line in explain(url()):
        print("  " + line, flush=True)
    latencies: list[float] = []
    returned = 0
    with web_servers(env, 1, 4) as (ports, pids):
        conn = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=60)
        for index in range(args.repeat + 10):
            if index == 10:
                cpu_before, pg_before = processes_cpu(pids), backend_cpu(args.db_name)
            target = url()
            started = time.perf_counter()
            conn.request("GET", target)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise SystemExit(f"{response.status} {body[:300]!r}")
            if index >= 10:  # the first ten warm the server up
                latencies.append(elapsed * 1000)
                returned += len(json.loads(body)["value"])
        server_cpu = processes_cpu(pids) - cpu_before
        pg_cpu = backend_cpu_since(args.db_name, pg_before)
    from profile_sta import in_process

    local = in_process([url() for _ in range(min(args.repeat, 100) + 10)], args.profile)
    emit(
        {
            "benchmark": "$filter time window over HTTP",
            "observations_in_table": total,
            "datastreams": len(datastreams),
            "window_seconds": args.window,
            "top": args.top or 100,
            "requests": len(latencies),
            "mean_rows_returned": round(returned / len(latencies), 1),
            "p50_ms": round(common.percentile(latencies, 50), 1),
            "p95_ms": round(common.percentile(latencies, 95), 1),
            "p99_ms": round(common.percentile(latencies, 99), 1),
            "server_cpu_ms_per_request": round(server_cpu / len(latencies) * 1000, 2),
            "pg_cpu_ms_per_request": round(pg_cpu / len(latencies) * 1000, 2),
            **local,
        }
    )


def build_parser() -> argparse.ArgumentParser:
    """The options of this script (``bench_sta_peer.py`` adds its own to them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="http,mqtt,filter")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_sta")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it exists")
    parser.add_argument("--rows", type=int, default=200_000, help="CreateObservations rows per batch size")
    parser.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--mqtt-rows", type=int, default=40_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument(
        "--publisher",
        choices=("raw", "paho"),
        default="raw",
        help="raw: QoS 1 PUBLISH packets written to a plain socket (little CPU); paho: a paho client per publisher",
    )
    parser.add_argument(
        "--listeners", type=int, default=1, help="sta_mqtt_ingest processes (more than one: a shared subscription)"
    )
    parser.add_argument("--mqtt-idle", type=float, default=15, help="give up when no row arrived for this long")
    parser.add_argument("--skip-default-broker", action="store_true")
    parser.add_argument("--filter-rows", type=int, default=10_000_000)
    parser.add_argument("--filter-datastreams", type=int, default=100)
    parser.add_argument("--step", type=float, default=300, help="seconds between readings of the loaded history")
    parser.add_argument("--window", type=float, default=86_400, help="$filter window in seconds")
    parser.add_argument("--top", type=int, default=0, help="$top of the filter requests (0: the default, 100)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the in-process requests")
    parser.add_argument("--profile-rows", type=int, default=20_000, help="rows of the profile phase")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    # every request enqueues the MQTT notifications of its Observations, as in production (no worker runs them)
    env = environment(args, DIKOM_STA_MQTT_URL="mqtt://127.0.0.1:1883")
    print(f"# {common.machine()}; PostgreSQL {args.db_name}", flush=True)
    prepared = prepare(args, env)
    phases = args.phases.split(",")
    if "http" in phases:
        bench_http(args, env, prepared)
    if "mqtt" in phases:
        bench_mqtt(args, env, prepared)
    if "filter" in phases:
        bench_filter(args, env, prepared)
    if "profile" in phases:
        from profile_sta import bench_profile

        bench_profile(args, env, prepared)


if __name__ == "__main__":
    main()
