"""The in-process parts of ``bench_sta.py``: requests through Django's test client and the ``profile`` phase
(``CreateObservations``, the MQTT listener's store, the MQTT notifications), with CPU per row and cProfile."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any

import common
from bench_sta import START, TUNED_BROKER, bodies_for, clear, emit, ensure_months, iso, observation_count
from sta_support import backend_seconds, mosquitto, process_cpu


def in_process(urls: list[str], profile: bool) -> dict[str, Any]:
    """The same kind of request through Django's test client in this process (no HTTP, no other thread): wall
    and CPU time per request; with ``profile`` the cProfile of these requests, 25 functions by own time."""
    import cProfile
    import pstats

    from django.test import Client

    client = Client()
    for target in urls[:10]:
        client.get(target)
    urls = urls[10:]
    profiler = cProfile.Profile() if profile else None
    walls = []
    cpu = time.process_time()
    for target in urls:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        response = client.get(target)
        if profiler:
            profiler.disable()
        walls.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"in-process: {response.status_code}")
    cpu = time.process_time() - cpu
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return {
        "in_process_requests": len(urls),
        "in_process_p50_ms": round(common.percentile(walls, 50), 2),
        "in_process_p95_ms": round(common.percentile(walls, 95), 2),
        "in_process_cpu_ms_per_request": round(cpu / len(urls) * 1000, 2),
        "in_process_profiled": profile,  # cProfile makes these slower
    }


def bench_profile(args: argparse.Namespace, env: dict[str, str], prepared: dict[str, Any]) -> None:
    """``CreateObservations`` through Django's test client and the MQTT listener's ``store_messages`` (what
    it does after paho handed it the messages), in this process: CPU per row (this process; PostgreSQL's
    backend separately) and, with ``--profile``, the 25 functions with the most own time."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    from dikom.sensors.mqtt_ingest import Outcome, store_messages

    datastream = prepared["datastreams"][args.filter_datastreams]
    rows = args.profile_rows
    ensure_months(START, START + dt.timedelta(seconds=10 * rows))
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {prepared['token']}")
    batch = args.batch[0]
    topic = f"v1.1/Datastreams({datastream})/Observations"
    messages = [
        (
            topic,
            json.dumps({"phenomenonTime": iso(START + dt.timedelta(seconds=10 * n)), "result": 20 + n % 97}).encode(),
        )
        for n in range(rows)
    ]
    created: list[int] = []
    for label in ("CreateObservations (test client)", "MQTT store_messages (after paho)"):
        clear([datastream])
        connection.ensure_connection()
        backend = int(connection.connection.execute("SELECT pg_backend_pid()").fetchone()[0])
        profiler = cProfile.Profile() if args.profile else None
        pg_before, cpu_before, started = backend_seconds(backend), time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        if label.startswith("Create"):
            for body in bodies_for(datastream, rows, batch, 0):
                response = client.post("/sta/v1.1/CreateObservations", body, content_type="application/json")
                if response.status_code != 201:
                    raise SystemExit(f"{response.status_code} {response.content[:300]!r}")
        else:
            for start in range(0, rows, 2000):
                outcome = Outcome()
                store_messages(messages[start : start + 2000], outcome)
                if outcome.refused:
                    raise SystemExit(f"refused: {outcome.refused[:3]}")
                created += outcome.created
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        pg_cpu = backend_seconds(backend) - pg_before
        if profiler:
            print(f"## {label}", flush=True)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        emit(
            {
                "benchmark": f"in-process {label}",
                "rows": rows,
                "batch": batch if label.startswith("Create") else 2000,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "python_cpu_us_per_row": round(cpu / rows * 1e6, 1),
                "pg_cpu_us_per_row": round(pg_cpu / rows * 1e6, 1),
                "stored": observation_count([datastream]),
                "profiled": bool(profiler),
            }
        )
    fan_out(created, args.profile)


def fan_out(ids: list[int], profile: bool) -> None:
    """The MQTT notifications of ``ids`` (what the worker's task ``publish_observations`` does after a commit:
    three topics per Observation, QoS 1) to a Mosquitto of our own: CPU per Observation in this process."""
    import cProfile
    import pstats

    from django.test.utils import override_settings

    from dikom.sensors.mqtt import publish_observations

    with (
        mosquitto(TUNED_BROKER) as (port, broker_pid),
        override_settings(DIKOM_STA_MQTT_URL=f"mqtt://127.0.0.1:{port}"),
    ):
        profiler = cProfile.Profile() if profile else None
        broker_before, cpu_before, started = process_cpu(broker_pid), time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        messages = sum(publish_observations(ids[start : start + 1000]) for start in range(0, len(ids), 1000))
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        broker_cpu = process_cpu(broker_pid) - broker_before
    if profiler:
        print("## MQTT notifications (publish_observations)", flush=True)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    emit(
        {
            "benchmark": "in-process MQTT notifications of new Observations (the worker's task)",
            "observations": len(ids),
            "messages": messages,
            "seconds": round(seconds, 2),
            "observations_per_s": round(len(ids) / seconds) if seconds else None,
            "python_cpu_us_per_observation": round(cpu / max(len(ids), 1) * 1e6, 1),
            "broker_cpu_us_per_observation": round(broker_cpu / max(len(ids), 1) * 1e6, 1),
        }
    )
