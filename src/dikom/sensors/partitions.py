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

The partition maintenance itself is shared with the usage events
(``dikom.lib.monthly_partitions``); this module applies the observations' table
and retention to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from dikom.lib.monthly_partitions import MonthlyPartitions, Partition
from dikom.lib.months import add_months, month_of, month_start

__all__ = [
    "AHEAD_MONTHS",
    "COLUMN",
    "DEFAULT_PARTITION",
    "TABLE",
    "Partition",
    "add_months",
    "apply_retention",
    "ensure_partitions",
    "is_partitioned",
    "month_of",
    "month_start",
    "partition_name",
    "partitions",
    "retention_cutoff",
]

TABLE = "sensors_observation"
COLUMN = "phenomenon_time"
OBSERVATIONS = MonthlyPartitions(table=TABLE, column=COLUMN, label="observations", adopt_default_months=True)
DEFAULT_PARTITION = OBSERVATIONS.default_partition
#: Months created beyond the current one, so that the job can miss a few runs.
AHEAD_MONTHS = OBSERVATIONS.ahead_months
#: Rows deleted per statement where the retention deletes rows (SQLite).
DELETE_CHUNK = 10_000


def partition_name(month: date) -> str:
    return OBSERVATIONS.partition_name(month)


def is_partitioned(using: str = "default") -> bool:
    """Whether the observation table is a partitioned PostgreSQL table."""
    return OBSERVATIONS.is_partitioned(using)


def partitions(using: str = "default") -> list[Partition]:
    """The monthly partitions that exist, oldest first (the default partition is not listed)."""
    return OBSERVATIONS.partitions(using)


def retention_cutoff(now: datetime) -> datetime | None:
    """Observations whose phenomenon time is before this may be removed; None: keep everything."""
    days = settings.DIKOM_STA_RAW_RETENTION_DAYS
    return now - timedelta(days=days) if days else None


def ensure_partitions(now: datetime | None = None, using: str = "default") -> list[str]:
    """Create the monthly partitions from the current month (or, with a retention, the oldest month
    within it) to AHEAD_MONTHS ahead, and the month of every row in the default partition (within
    the retention; the rows move into it). Returns the names created; idempotent; nothing on SQLite."""
    now = now or timezone.now()
    return OBSERVATIONS.ensure(now, retention_cutoff(now), using)


def apply_retention(now: datetime | None = None, using: str = "default") -> int:
    """Remove the observations past ``DIKOM_STA_RAW_RETENTION_DAYS`` (none when it is 0); returns how many.

    PostgreSQL: every monthly partition whose last moment is past the retention is dropped whole (no
    row DELETE, no VACUUM, little WAL), so observations are kept up to one month longer than the
    retention; the default partition is cleaned row by row. SQLite: rows are deleted in chunks.
    Datastreams keep their phenomenonTime span (the spec does not narrow it on deletes either).
    """
    cutoff = retention_cutoff(now or timezone.now())
    if cutoff is None:
        return 0
    if OBSERVATIONS.is_partitioned(using):
        return OBSERVATIONS.drop_expired(cutoff, using)
    from dikom.sensors.models import Observation

    removed = 0
    rows = Observation.objects.using(using).filter(phenomenon_time__lt=cutoff).order_by()
    while ids := list(rows.values_list("pk", flat=True)[:DELETE_CHUNK]):
        deleted, _ = Observation.objects.using(using).filter(pk__in=ids).delete()
        removed += deleted
    return removed
