"""Retention of raw usage events on PostgreSQL: dropping a month's partition against deleting the same rows,
and the streaming replica's replay lag while the rows are loaded.

Shape: one PostgreSQL primary (DATABASE_URL's server) with the streaming replica of
``scripts/pg_replica.sh`` (``make replica``) if it runs; one machine.

Method: a throwaway database ``dikom_bench_retention`` is created (dropped first if left over). Two tables
with the columns, keys and indexes of ``analytics_usageevent`` after migration 0006: ``plain`` (one table)
and ``parted`` (monthly partitions, as the platform keeps them). The same ``--rows`` rows of one month
(random municipalities 1-420, services, visits, an event id each) are loaded into both with
``INSERT … SELECT generate_series`` (one statement each; while the partitioned table is loaded the replica's
``replay_lag`` from ``pg_stat_replication`` is sampled every 0.2 s). Then, timed and with the WAL each writes (what the replicas must replay): ``DELETE FROM plain WHERE
occurred_at < <end of month>`` (what housekeeping did before) against ``DROP TABLE <the month's partition>``
(what it does now), each committed. The database is dropped at the end. Prints one JSON line.

    .venv/bin/python benchmarks/bench_partition_retention.py --rows 300000
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import psycopg

COLUMNS = """
    id bigint NOT NULL, municipality_id bigint NOT NULL, service_id bigint, service_key varchar(100) NOT NULL,
    event_id varchar(100), type varchar(30) NOT NULL, occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL, visit varchar(32), step_key varchar(100) NOT NULL,
    channel varchar(20) NOT NULL, comment text NOT NULL
"""
INDEXES = """
    CREATE UNIQUE INDEX ON {t} (municipality_id, event_id, occurred_at) WHERE event_id IS NOT NULL;
    CREATE INDEX ON {t} (municipality_id, service_id, occurred_at);
    CREATE INDEX ON {t} (municipality_id, occurred_at);
    CREATE INDEX ON {t} (service_id);
"""
LOAD = """
INSERT INTO {t} SELECT g, 1 + g %% 420, 1 + g %% 9000, 'dienst-' || (g %% 9000), 'e-' || g,
    (ARRAY['service_started','step_viewed','step_completed','submitted'])[1 + g %% 4],
    timestamptz '2026-01-01 00:00+01' + (g %% 2678400) * interval '1 second',
    timestamptz '2026-01-01 00:00+01' + (g %% 2678400) * interval '1 second',
    md5(g::text)::varchar(32), 'schritt-' || (g %% 5), 'web', ''
FROM generate_series(1, %s) AS g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    name = "dikom_bench_retention"
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    result: dict[str, object] = {"rows": args.rows, "load_average": os.getloadavg()}
    try:
        with psycopg.connect(f"{args.server}/{name}", autocommit=True) as db:
            db.execute(f"CREATE TABLE plain ({COLUMNS}, PRIMARY KEY (id, occurred_at, municipality_id))")
            db.execute(
                f"CREATE TABLE parted ({COLUMNS}, PRIMARY KEY (id, occurred_at, municipality_id)) "
                "PARTITION BY RANGE (occurred_at)"
            )
            db.execute(
                "CREATE TABLE parted_p2026_01 PARTITION OF parted "
                "FOR VALUES FROM ('2026-01-01 00:00+01') TO ('2026-02-01 00:00+01')"
            )
            db.execute(
                "CREATE TABLE parted_p2026_02 PARTITION OF parted "
                "FOR VALUES FROM ('2026-02-01 00:00+01') TO ('2026-03-01 00:00+01')"
            )
            for table in ("plain", "parted"):
                for statement in INDEXES.format(t=table).strip().split(";"):
                    if statement.strip():
                        db.execute(statement)

            begin = time.perf_counter()
            db.execute(LOAD.format(t="plain"), [args.rows])
            result["load_plain_s"] = round(time.perf_counter() - begin, 2)

            lags: list[float] = []
            done = threading.Event()

            def sample() -> None:
                with psycopg.connect(f"{args.server}/postgres", autocommit=True) as watcher:
                    while not done.is_set():
                        row = watcher.execute(
                            "SELECT coalesce(extract(epoch FROM max(replay_lag)), 0) FROM pg_stat_replication"
                        ).fetchone()
                        lags.append(float(row[0]) if row else 0.0)
                        time.sleep(0.2)

            watcher = threading.Thread(target=sample)
            watcher.start()
            begin = time.perf_counter()
            db.execute(LOAD.format(t="parted"), [args.rows])
            result["load_partitioned_s"] = round(time.perf_counter() - begin, 2)
            time.sleep(1)
            done.set()
            watcher.join()
            replicas = db.execute("SELECT count(*) FROM pg_stat_replication").fetchone()[0]
            result["replicas_streaming"] = replicas
            if replicas:
                result["replica_replay_lag_max_s"] = round(max(lags, default=0.0), 3)
            db.execute("VACUUM ANALYZE plain")
            db.execute("VACUUM ANALYZE parted")

            def wal() -> int:
                return int(db.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])

            begin, wal_before = time.perf_counter(), wal()
            deleted = db.execute("DELETE FROM plain WHERE occurred_at < '2026-02-01 00:00+01'").rowcount
            result["delete_rows_s"] = round(time.perf_counter() - begin, 3)
            result["delete_rows_wal_kb"] = (wal() - wal_before) // 1024
            begin, wal_before = time.perf_counter(), wal()
            db.execute("DROP TABLE parted_p2026_01")
            result["drop_partition_s"] = round(time.perf_counter() - begin, 3)
            result["drop_partition_wal_kb"] = (wal() - wal_before) // 1024
            assert deleted == args.rows
            # What the DELETE leaves behind: dead rows that VACUUM must still clear (the DROP leaves none).
            begin = time.perf_counter()
            db.execute("VACUUM plain")
            result["vacuum_after_delete_s"] = round(time.perf_counter() - begin, 3)
    finally:
        with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
