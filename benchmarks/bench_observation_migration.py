"""Migrating an existing installation's sensor observations on PostgreSQL: the municipality column
(sensors 0003) and the monthly partitions (sensors 0004), forwards and back.

Shape: one PostgreSQL server (``--server``), one machine.

Method: a throwaway database ``dikom_bench_observations`` is created (dropped first if left over) and
migrated with the real migrations to ``sensors 0002`` (before this change). Ten cities with five
Datastreams each are created through ``dikom.sensors.service.create_thing`` (deep insert), then
``--rows`` observations are inserted in one ``INSERT … SELECT generate_series`` statement, spread over
the 50 Datastreams and 24 months. Then, each timed: ``migrate sensors 0003`` (add the column, fill it
from the Datastreams with one UPDATE, NOT NULL), ``migrate sensors 0004`` (rename, partitioned table,
25+3 monthly partitions, copy, keys and indexes), and back to ``0002``. The rows and ids are compared
before and after. The database is dropped at the end. Prints one JSON line.

    DJANGO_SETTINGS_MODULE=dikom.conf.ci .venv/bin/python benchmarks/bench_observation_migration.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psycopg

NAME = "dikom_bench_observations"
LOAD = """
INSERT INTO sensors_observation (datastream_id, feature_of_interest_id, phenomenon_time, result, result_number)
SELECT d.id, d.feature, timestamptz '2025-01-01 00:00+01' + (g %% (730 * 24)) * interval '1 hour',
       to_jsonb(g %% 100), g %% 100
FROM generate_series(1, %s) AS g
JOIN (SELECT row_number() OVER (ORDER BY ds.id) - 1 AS n, ds.id, f.id AS feature
      FROM sensors_datastream ds JOIN sensors_featureofinterest f ON f.municipality_id = ds.municipality_id) AS d
  ON d.n = g %% 50
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
        admin.execute(f"CREATE DATABASE {NAME}")
    os.environ["DATABASE_URL"] = f"{args.server}/{NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.ci")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    result: dict[str, object] = {"rows": args.rows, "load_average": os.getloadavg()}
    try:
        call_command("migrate", verbosity=0)
        call_command("migrate", "sensors", "0002", verbosity=0)
        _cities_and_datastreams()
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(LOAD, [args.rows])
            result["load_s"] = round(time.perf_counter() - begin, 2)
            cursor.execute("ANALYZE sensors_observation")
            cursor.execute("SELECT pg_total_relation_size('sensors_observation') / 1048576")
            result["table_with_indexes_mb"] = cursor.fetchone()[0]
        before = _fingerprint()
        for step in ("0003", "0004", "0002"):
            begin = time.perf_counter()
            call_command("migrate", "sensors", step, verbosity=0)
            result[f"migrate_to_{step}_s"] = round(time.perf_counter() - begin, 2)
            if step == "0004":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'sensors_observation'::regclass")
                    result["partitions"] = cursor.fetchone()[0]
                    cursor.execute("SELECT count(*) FROM sensors_observation_default")
                    result["rows_in_default_partition"] = cursor.fetchone()[0]
            assert _fingerprint() == before, step
        result["rows_and_ids_unchanged"] = True
    finally:
        connection.close()
        with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {NAME}")
    print(json.dumps(result))


def _fingerprint() -> tuple[int, int, int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(id), max(id), md5(string_agg(id::text || phenomenon_time::text, ',' ORDER BY id)) "
            "FROM sensors_observation"
        )
        return tuple(cursor.fetchone())  # type: ignore[return-value]


def _cities_and_datastreams() -> None:
    from dikom.municipalities.models import District, Municipality
    from dikom.sensors import service
    from dikom.sensors.actions import feature_id_for_datastream
    from dikom.sensors.models import Datastream

    district = District.objects.create(key="06631", name="Landkreis Fulda")
    for number in range(10):
        city = Municipality.objects.create(
            name=f"Stadt {number}", slug=f"stadt-{number}", ags=f"0663100{number}", district=district, population=1
        )
        datastream = {
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": "Grad Celsius", "symbol": "°C", "definition": "ucum:Cel"},
            "Sensor": {"name": "Fühler", "description": "x", "encodingType": "text/html", "metadata": "x"},
            "ObservedProperty": {"name": "Temperatur", "definition": "temperature", "description": "x"},
        }
        service.create_thing(
            {
                "name": f"Wetterstation {number}",
                "description": "x",
                "Locations": [
                    {
                        "name": "Standort",
                        "description": "x",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [9.68, 50.55]},
                    }
                ],
                "Datastreams": [{**datastream, "name": f"Reihe {n}", "description": "x"} for n in range(5)],
            },
            city,
        )
        # The FeatureOfInterest the spec generates from the Location (one per city)
        feature_id_for_datastream(Datastream.objects.filter(municipality=city).first())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
