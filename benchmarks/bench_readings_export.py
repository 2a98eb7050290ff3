"""The staff's readings export (``dikom.sensors.export``): throughput and peak Python memory against the row count,
and against ``COPY … TO STDOUT`` of the same rows (the physical limit: the server writing them without Python).

Shape: one PostgreSQL server (``DATABASE_URL``, a database of its own, migrated with ``manage.py migrate``
first), one machine; the Python process and the server share its cores.

Method: one city, one Thing with one Datastream; ``--rows`` observations one minute apart are loaded with
``INSERT … SELECT generate_series`` (monthly partitions made first with ``ensure_partitions``). Then, each
after one warm-up run: (1) the CSV export with decimal comma, as the view streams it
(``sensors.service.readings_export`` → every chunk consumed and counted), timed, then once more with
``tracemalloc`` tracing Python's peak allocation (tracing slows allocation, so not timed); (2) the JSON export the same way; (3) ``COPY (SELECT phenomenon_time, result_number …
ORDER BY phenomenon_time, id) TO STDOUT WITH CSV`` read through psycopg. The rows are deleted at the end.
Prints one JSON line.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_bench_export .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_bench_export \\
        .venv/bin/python benchmarks/bench_readings_export.py --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def _consume(chunks: Any) -> tuple[int, int]:
    size = pieces = 0
    for chunk in chunks:
        size += len(chunk)
        pieces += 1
    return size, pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.db import connection

    from dikom.municipalities.models import Municipality
    from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory
    from dikom.sensors import service as sensors
    from dikom.sensors.partitions import ensure_partitions

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(minutes=args.rows)
    city = Municipality.objects.filter(slug="bench-export").first() or MunicipalityFactory(
        name="Bench Export (Benchmark)", slug="bench-export", ags="99999001", district=DistrictFactory(key="99999")
    )
    thing = sensors.create_thing(
        {
            "name": "Benchmark-Sonde",
            "description": "benchmark",
            "Locations": [
                {
                    "name": "Standort",
                    "description": "benchmark",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [9.68, 50.55]},
                }
            ],
            "Datastreams": [
                {
                    "name": "Saugspannung",
                    "description": "benchmark",
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
                    "Sensor": {"name": "S", "description": "s", "encodingType": "text/plain", "metadata": "x"},
                    "ObservedProperty": {"name": "Bodenwasserspannung", "definition": "t", "description": "t"},
                    "Observations": [{"phenomenonTime": (start - dt.timedelta(days=1)).isoformat(), "result": 1}],
                }
            ],
        },
        city,
    )
    ds = thing.datastreams.get()
    foi = ds.observations.get().feature_of_interest_id
    month = start
    while month <= end:
        ensure_partitions(month)
        month = (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    result: dict[str, Any] = {"rows": args.rows, "load_average": os.getloadavg()}
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(
            "INSERT INTO sensors_observation (municipality_id, datastream_id, feature_of_interest_id, "
            "phenomenon_time, result, result_number) SELECT %s, %s, %s, %s + g * interval '1 minute', "
            "to_jsonb(round((20 + 60 * random())::numeric, 2)), round((20 + 60 * random())::numeric, 2) "
            "FROM generate_series(0, %s - 1) AS g",
            [city.pk, ds.pk, foi, start, args.rows],
        )
        cursor.execute("ANALYZE sensors_observation")
        result["load_s"] = round(time.perf_counter() - t0, 2)
    try:
        for fmt in ("csv", "json"):
            _consume(sensors.readings_export(city, [ds.pk], start, end, fmt, True)[1])  # warm-up
            t0 = time.perf_counter()
            size, pieces = _consume(sensors.readings_export(city, [ds.pk], start, end, fmt, True)[1])
            seconds = time.perf_counter() - t0
            tracemalloc.start()  # a separate run: tracing slows every allocation
            _consume(sensors.readings_export(city, [ds.pk], start, end, fmt, True)[1])
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            result[fmt] = {
                "seconds": round(seconds, 2),
                "rows_per_s": round(args.rows / seconds),
                "mb": round(size / 1e6, 1),
                "chunks": pieces,
                "python_peak_mb": round(peak / 1e6, 2),
            }
        raw = connection.cursor().connection  # psycopg connection
        for _ in range(2):  # warm-up, then timed
            t0 = time.perf_counter()
            size = 0
            with (
                raw.cursor() as cur,
                cur.copy(
                    "COPY (SELECT phenomenon_time, result_number FROM sensors_observation WHERE datastream_id = %s "
                    "AND phenomenon_time >= %s AND phenomenon_time < %s ORDER BY phenomenon_time, id) TO STDOUT WITH CSV",
                    [ds.pk, start, end],
                ) as copy,
            ):
                for block in copy:
                    size += len(block)
            seconds = time.perf_counter() - t0
        result["copy_to_stdout"] = {"seconds": round(seconds, 2), "rows_per_s": round(args.rows / seconds)}
        result["csv_ratio_to_copy"] = round(result["csv"]["rows_per_s"] / result["copy_to_stdout"]["rows_per_s"], 3)
    finally:
        thing.delete()
        district = city.district
        city.delete()
        district.delete()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
