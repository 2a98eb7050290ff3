"""Monthly partitions of the usage-event table on PostgreSQL (SQLite keeps one plain table).

The invariant: on PostgreSQL ``analytics_usageevent`` is partitioned by range of
``occurred_at``, one partition per calendar month in ``TIME_ZONE`` (so a day's
rollup reads one partition) plus a default partition for rows outside every
month (it stays empty in normal operation). The migration
``0006_usageevent_monthly_partitions`` converts an existing table; from then on
the periodic job ``analytics.partitions`` creates the months ahead and
``housekeeping`` drops a month as a whole once its last moment is older than
``DIKOM_ANALYTICS_RAW_RETENTION_DAYS`` (no VACUUM afterwards). By default it
also deletes the events of the oldest month as they pass the retention, so the
retention holds to the hour; with ``DIKOM_ANALYTICS_RETENTION_BY_MONTH`` it
does not (no row-by-row DELETE at all), and raw events are kept between the
retention and the retention plus one month (``docs/privacy.md``).

Keys on the partitioned table carry the partition key and the municipality
(Citus-ready, ``docs/scaling.md``): primary key ``(id, occurred_at,
municipality_id)``; the idempotency key is ``(municipality_id, event_id,
occurred_at)``, so a re-sent event counts once as long as it is sent with the
same time (senders resend events unchanged; times are stored to the minute).
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

TABLE = "analytics_usageevent"
DEFAULT_PARTITION = f"{TABLE}_default"
# Months created beyond the current one, so that the job can miss a few runs.
AHEAD_MONTHS = 3
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date

    @property
    def lower(self) -> datetime:
        return month_start(self.month)

    @property
    def upper(self) -> datetime:
        return month_start(add_months(self.month, 1))


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def is_partitioned(using: str = "default") -> bool:
    """Whether the usage-event table is a partitioned PostgreSQL table."""
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
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append(Partition(name, date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda partition: partition.month)


def create_partition_sql(month: date) -> str:
    lower, upper = month_start(month), month_start(add_months(month, 1))
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
    )


def _create_partition(cursor: Any, month: date) -> None:
    """Create the partition of ``month``; rows of that month that meanwhile went to the default
    partition (the job did not run for months) are moved into it first, which PostgreSQL requires."""
    name, lower, upper = partition_name(month), month_start(month), month_start(add_months(month, 1))
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s)",  # noqa: S608
        [lower, upper],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(create_partition_sql(month))
        return
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s "  # noqa: S608
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        [lower, upper],
    )
    moved = cursor.rowcount
    cursor.execute(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
    )
    logger.warning("usage events: moved %d events of %s from the default partition into %s", moved, month, name)


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS)


def ensure_partitions(now: datetime | None = None, using: str = "default") -> list[str]:
    """Create the monthly partitions from the oldest month still within the retention to
    AHEAD_MONTHS after the current one; returns the names created. Idempotent; nothing on SQLite."""
    if not is_partitioned(using):
        return []
    now = now or timezone.now()
    existing = {partition.name for partition in partitions(using)}
    month = month_of(retention_cutoff(now))
    last = add_months(month_of(now), AHEAD_MONTHS)
    created = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        while month <= last:
            if partition_name(month) not in existing:
                _create_partition(cursor, month)
                created.append(partition_name(month))
            month = add_months(month, 1)
    if created:
        logger.info("usage events: created partitions %s", ", ".join(created))
    return created


def drop_expired_partitions(now: datetime | None = None, using: str = "default") -> int:
    """Drop every monthly partition whose last moment is older than the retention, and delete
    expired rows from the default partition. Returns the number of events removed."""
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    removed = 0
    with connections[using].cursor() as cursor:
        for partition in partitions(using):
            if partition.upper > cutoff:
                continue
            cursor.execute(f"SELECT count(*) FROM {partition.name}")  # noqa: S608 - our own name
            (rows,) = cursor.fetchone()
            cursor.execute(f"DROP TABLE {partition.name}")
            removed += rows
            logger.info("usage events: dropped partition %s (%d events past the retention)", partition.name, rows)
        cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at < %s", [cutoff])  # noqa: S608
        removed += cursor.rowcount
    return removed
