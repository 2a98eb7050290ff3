"""Monthly partitions of the observation table on PostgreSQL, and the raw retention of observations.

On PostgreSQL ``sensors_observation`` is partitioned by range of ``phenomenon_time``,
one partition per calendar month in ``TIME_ZONE`` (``sensors_observation_pYYYY_MM``)
plus a default partition for rows outside every month. The migration
``0004_observation_monthly_partitions`` converts an existing table; from then on
the periodic job ``sensors.partitions`` creates the months ahead (and the month of
any row that reached the default partition, moving those rows into it) and, when
``DIKOM_STA_RAW_RETENTION_DAYS`` is set, drops every month whose last moment is
past the retention. The default (0) keeps every observation. SQLite keeps the plain
table; there the retention deletes rows.

Keys carry the partition key and the municipality (Citus-ready, ``docs/scaling.md``):
the primary key is ``(id, phenomenon_time, municipality_id)``; there is no other
unique key. Django addresses rows by ``id``, which the sequence keeps unique.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from dikom.lib.months import add_months, month_of, month_start

logger = logging.getLogger(__name__)

TABLE = "sensors_observation"
COLUMN = "phenomenon_time"
DEFAULT_PARTITION = f"{TABLE}_default"
#: Months created beyond the current one, so that the job can miss a few runs.
AHEAD_MONTHS = 3
#: Rows deleted per statement where the retention deletes rows (SQLite, the default partition).
DELETE_CHUNK = 10_000
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date

    @property
    def upper(self) -> datetime:
        return month_start(add_months(self.month, 1))


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def partition_bounds_sql(month: date) -> str:
    return (
        f"FOR VALUES FROM ('{month_start(month).isoformat()}') TO ('{month_start(add_months(month, 1)).isoformat()}')"
    )


def is_partitioned(using: str = "default") -> bool:
    """Whether the observation table is a partitioned PostgreSQL table."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def partitions(using: str = "default") -> list[Partition]:
    """The monthly partitions that exist, oldest first (the default partition is not listed)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = [Partition(name, date(int(match[1]), int(match[2]), 1)) for name in names if (match := _NAME.match(name))]
    return sorted(found, key=lambda partition: partition.month)


def _create_partition(cursor: Any, month: date) -> int:
    """Create the partition of ``month``; rows of that month in the default partition are moved into
    it first (PostgreSQL refuses to attach a month whose rows sit in the default partition). Returns
    the number of rows moved."""
    name, lower, upper = partition_name(month), month_start(month), month_start(add_months(month, 1))
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE {COLUMN} >= %s AND {COLUMN} < %s)",  # noqa: S608
        [lower, upper],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} {partition_bounds_sql(month)}")
        return 0
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {COLUMN} >= %s AND {COLUMN} < %s "  # noqa: S608
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        [lower, upper],
    )
    moved = int(cursor.rowcount)
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} {partition_bounds_sql(month)}")
    logger.warning("observations: moved %d rows of %s from the default partition into %s", moved, month, name)
    return moved


def retention_cutoff(now: datetime) -> datetime | None:
    """Observations whose phenomenon time is before this may be removed; None: keep everything."""
    days = settings.DIKOM_STA_RAW_RETENTION_DAYS
    return now - timedelta(days=days) if days else None


def _months_in_default(cursor: Any) -> list[date]:
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', {COLUMN} AT TIME ZONE %s)::date FROM {DEFAULT_PARTITION}",  # noqa: S608
        [settings.TIME_ZONE],
    )
    return [month for (month,) in cursor.fetchall()]


def ensure_partitions(now: datetime | None = None, using: str = "default") -> list[str]:
    """Create the monthly partitions from the current month (or, with a retention, the oldest month
    within it) to AHEAD_MONTHS ahead, and the month of every row in the default partition (within
    the retention; the rows move into it). Returns the names created; idempotent; nothing on SQLite."""
    if not is_partitioned(using):
        return []
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    existing = {partition.name for partition in partitions(using)}
    first = month_of(cutoff) if cutoff is not None else month_of(now)
    last = add_months(month_of(now), AHEAD_MONTHS)
    wanted: set[date] = set()
    month = first
    while month <= last:
        wanted.add(month)
        month = add_months(month, 1)
    created = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        earliest = month_of(cutoff) if cutoff is not None else date.min
        wanted.update(month for month in _months_in_default(cursor) if month >= earliest)
        for month in sorted(wanted):
            if partition_name(month) not in existing:
                _create_partition(cursor, month)
                created.append(partition_name(month))
    if created:
        logger.info("observations: created partitions %s", ", ".join(created))
    return created


def apply_retention(now: datetime | None = None, using: str = "default") -> int:
    """Remove the observations past ``DIKOM_STA_RAW_RETENTION_DAYS`` (none when it is 0); returns how many.

    PostgreSQL: every monthly partition whose last moment is past the retention is dropped whole (no
    row DELETE, no VACUUM, little WAL), so observations are kept up to one month longer than the
    retention; the default partition is cleaned row by row. SQLite: rows are deleted in chunks.
    Datastreams keep their phenomenonTime span (the spec does not narrow it on deletes either).
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    removed = 0
    connection = connections[using]
    if not is_partitioned(using):
        from dikom.sensors.models import Observation

        rows = Observation.objects.using(using).filter(phenomenon_time__lt=cutoff).order_by()
        while ids := list(rows.values_list("pk", flat=True)[:DELETE_CHUNK]):
            deleted, _ = Observation.objects.using(using).filter(pk__in=ids).delete()
            removed += deleted
        return removed
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for partition in partitions(using):
            if partition.upper > cutoff:
                continue
            cursor.execute(f"SELECT count(*) FROM {partition.name}")  # noqa: S608 - our own name
            (rows_in,) = cursor.fetchone()
            cursor.execute(f"DROP TABLE {partition.name}")
            removed += rows_in
            logger.info("observations: dropped partition %s (%d past the retention)", partition.name, rows_in)
        cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE {COLUMN} < %s", [cutoff])  # noqa: S608
        removed += cursor.rowcount
    return removed
