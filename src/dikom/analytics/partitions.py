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

The partition maintenance itself is shared with the observations
(``dikom.lib.monthly_partitions``); this module applies the usage events' table
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
    "DEFAULT_PARTITION",
    "TABLE",
    "Partition",
    "add_months",
    "drop_expired_partitions",
    "ensure_partitions",
    "is_partitioned",
    "month_of",
    "month_start",
    "partition_name",
    "partitions",
    "retention_cutoff",
]

TABLE = "analytics_usageevent"
EVENTS = MonthlyPartitions(table=TABLE, column="occurred_at", label="usage events")
DEFAULT_PARTITION = EVENTS.default_partition
# Months created beyond the current one, so that the job can miss a few runs.
AHEAD_MONTHS = EVENTS.ahead_months


def partition_name(month: date) -> str:
    return EVENTS.partition_name(month)


def is_partitioned(using: str = "default") -> bool:
    """Whether the usage-event table is a partitioned PostgreSQL table."""
    return EVENTS.is_partitioned(using)


def partitions(using: str = "default") -> list[Partition]:
    """The monthly partitions that exist, oldest first (the default partition is not listed)."""
    return EVENTS.partitions(using)


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS)


def ensure_partitions(now: datetime | None = None, using: str = "default") -> list[str]:
    """Create the monthly partitions from the oldest month still within the retention to
    AHEAD_MONTHS after the current one; returns the names created. Idempotent; nothing on SQLite."""
    now = now or timezone.now()
    return EVENTS.ensure(now, retention_cutoff(now), using)


def drop_expired_partitions(now: datetime | None = None, using: str = "default") -> int:
    """Drop every monthly partition whose last moment is older than the retention, and delete
    expired rows from the default partition. Returns the number of events removed."""
    return EVENTS.drop_expired(retention_cutoff(now or timezone.now()), using)
