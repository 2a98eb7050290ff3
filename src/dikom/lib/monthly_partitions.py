"""Monthly range partitions of a PostgreSQL table: create the months ahead, adopt rows from the
default partition, drop months past a retention. SQLite keeps the plain table (nothing to do here).

A table ``<table>`` partitioned by range of a timestamp column has one partition
per calendar month in ``TIME_ZONE`` (``<table>_pYYYY_MM``, months from
``dikom.lib.months``) plus ``<table>_default`` for rows outside every month,
which stays empty in normal operation. Used by the usage events
(``dikom.analytics.partitions``) and the observations (``dikom.sensors.partitions``);
each app's migration creates its table and its job calls ``ensure`` and ``drop_expired``.

Names in SQL are our own constants (never user input); values are parameters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connections, transaction

from dikom.lib.months import add_months, month_of, month_start

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class MonthlyPartitions:
    """The monthly partitions of ``table`` by ``column``; ``label`` names the rows in log lines."""

    table: str
    column: str
    label: str
    #: Months created beyond the current one, so that the job can miss a few runs.
    ahead_months: int = 3
    #: Also create the month of every row found in the default partition (within the retention).
    adopt_default_months: bool = False
    _name: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_name", re.compile(rf"^{self.table}_p(\d{{4}})_(\d{{2}})$"))

    @property
    def default_partition(self) -> str:
        return f"{self.table}_default"

    def partition_name(self, month: date) -> str:
        return f"{self.table}_p{month.year:04d}_{month.month:02d}"

    @staticmethod
    def bounds_sql(month: date) -> str:
        lower, upper = month_start(month), month_start(add_months(month, 1))
        return f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"

    def is_partitioned(self, using: str = "default") -> bool:
        """Whether the table is a partitioned PostgreSQL table."""
        connection = connections[using]
        if connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [self.table])
            row = cursor.fetchone()
        return bool(row and row[0] == "p")

    def partitions(self, using: str = "default") -> list[Partition]:
        """The monthly partitions that exist, oldest first (the default partition is not listed)."""
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(%s)",
                [self.table],
            )
            names = [name for (name,) in cursor.fetchall()]
        found = [
            Partition(name, date(int(match[1]), int(match[2]), 1))
            for name in names
            if (match := self._name.match(name))
        ]
        return sorted(found, key=lambda partition: partition.month)

    def create_partition(self, cursor: Any, month: date) -> int:
        """Create the partition of ``month``; rows of that month in the default partition (the job did
        not run for a while) are moved into it first, which PostgreSQL requires. Returns the rows moved."""
        name, lower, upper = self.partition_name(month), month_start(month), month_start(add_months(month, 1))
        table, column, default = self.table, self.column, self.default_partition
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {column} >= %s AND {column} < %s)",  # noqa: S608
            [lower, upper],
        )
        if not cursor.fetchone()[0]:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} {self.bounds_sql(month)}")
            return 0
        cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE {column} >= %s AND {column} < %s "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [lower, upper],
        )
        moved = int(cursor.rowcount)
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} {self.bounds_sql(month)}")
        logger.warning("%s: moved %d rows of %s from the default partition into %s", self.label, moved, month, name)
        return moved

    def _months_in_default(self, cursor: Any) -> list[date]:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', {self.column} AT TIME ZONE %s)::date "  # noqa: S608
            f"FROM {self.default_partition}",
            [settings.TIME_ZONE],
        )
        return [month for (month,) in cursor.fetchall()]

    def ensure(self, now: datetime, cutoff: datetime | None, using: str = "default") -> list[str]:
        """Create the monthly partitions from the month of ``cutoff`` (None: the current month) to
        ``ahead_months`` after the current one, and with ``adopt_default_months`` the month of every
        row in the default partition not before the cutoff's month. Returns the names created;
        idempotent; nothing when the table is not partitioned (SQLite)."""
        if not self.is_partitioned(using):
            return []
        existing = {partition.name for partition in self.partitions(using)}
        wanted: set[date] = set()
        month = month_of(cutoff) if cutoff is not None else month_of(now)
        last = add_months(month_of(now), self.ahead_months)
        while month <= last:
            wanted.add(month)
            month = add_months(month, 1)
        created = []
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            if self.adopt_default_months:
                earliest = month_of(cutoff) if cutoff is not None else date.min
                wanted.update(month for month in self._months_in_default(cursor) if month >= earliest)
            for month in sorted(wanted):
                if self.partition_name(month) not in existing:
                    self.create_partition(cursor, month)
                    created.append(self.partition_name(month))
        if created:
            logger.info("%s: created partitions %s", self.label, ", ".join(created))
        return created

    def drop_expired(self, cutoff: datetime, using: str = "default") -> int:
        """Drop every monthly partition whose last moment is not after ``cutoff`` (whole: no row
        DELETE, no VACUUM) and delete older rows from the default partition; returns the rows removed."""
        removed = 0
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            for partition in self.partitions(using):
                if partition.upper > cutoff:
                    continue
                cursor.execute(f"SELECT count(*) FROM {partition.name}")  # noqa: S608 - our own name
                (rows,) = cursor.fetchone()
                cursor.execute(f"DROP TABLE {partition.name}")
                removed += rows
                logger.info("%s: dropped partition %s (%d rows past the retention)", self.label, partition.name, rows)
            cursor.execute(f"DELETE FROM {self.default_partition} WHERE {self.column} < %s", [cutoff])  # noqa: S608
            removed += cursor.rowcount
        return removed
