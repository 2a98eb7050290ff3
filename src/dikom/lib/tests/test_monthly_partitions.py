"""The shared monthly partition maintenance, on a table of its own (PostgreSQL; SQLite has no partitions).

The usage events and the observations each test it again on their own tables
(``analytics/tests/test_partitions.py``, ``sensors/tests/test_partitions.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from dikom.lib.monthly_partitions import MonthlyPartitions
from dikom.lib.months import add_months, month_of, month_start

pytestmark = pytest.mark.django_db

TABLE = "lib_test_readings"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 5, 15, 12, 0, tzinfo=BERLIN)


@pytest.fixture
def table() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's (make test-postgres)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {TABLE} (id bigserial, taken_at timestamptz NOT NULL, value integer, "
            "PRIMARY KEY (id, taken_at)) PARTITION BY RANGE (taken_at)"
        )
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def insert(*moments: datetime) -> None:
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(f"INSERT INTO {TABLE} (taken_at, value) VALUES (%s, 1)", [moment])  # noqa: S608


def placement() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text, count(*) FROM {TABLE} GROUP BY 1")  # noqa: S608
        return dict(cursor.fetchall())


def test_a_table_that_is_not_partitioned_is_left_alone() -> None:
    readings = MonthlyPartitions(table="auth_user", column="date_joined", label="users")
    assert not readings.is_partitioned()
    assert readings.ensure(NOW, None) == []


def test_months_from_the_cutoff_to_ahead_are_created_once(table: None) -> None:
    readings = MonthlyPartitions(table=TABLE, column="taken_at", label="readings", ahead_months=2)
    assert readings.is_partitioned()
    created = readings.ensure(NOW, NOW - timedelta(days=40))
    assert created == [f"{TABLE}_p2026_{month:02d}" for month in (4, 5, 6, 7)]
    assert [p.name for p in readings.partitions()] == created
    assert readings.ensure(NOW, NOW - timedelta(days=40)) == []
    # Without a retention the current month is the first.
    assert readings.ensure(NOW, None) == []
    # A month boundary is midnight in TIME_ZONE: the last second of April stays in April.
    insert(month_start(month_of(NOW)) - timedelta(seconds=1), month_start(month_of(NOW)))
    assert placement() == {f"{TABLE}_p2026_04": 1, f"{TABLE}_p2026_05": 1}


def test_rows_in_the_default_partition_move_into_their_new_month(table: None) -> None:
    plain = MonthlyPartitions(table=TABLE, column="taken_at", label="readings", ahead_months=0)
    adopting = MonthlyPartitions(
        table=TABLE, column="taken_at", label="readings", ahead_months=0, adopt_default_months=True
    )
    late = add_months(month_of(NOW), 3)  # beyond the months created ahead
    insert(NOW, NOW, month_start(late) + timedelta(days=2))
    assert placement() == {f"{TABLE}_default": 3}
    assert plain.ensure(NOW, None) == [f"{TABLE}_p2026_05"]
    assert placement() == {f"{TABLE}_p2026_05": 2, f"{TABLE}_default": 1}
    assert adopting.ensure(NOW, None) == [f"{TABLE}_p2026_08"]
    assert placement() == {f"{TABLE}_p2026_05": 2, f"{TABLE}_p2026_08": 1}


def test_months_past_the_cutoff_are_dropped_whole_and_the_default_is_cleaned(table: None) -> None:
    readings = MonthlyPartitions(table=TABLE, column="taken_at", label="readings", ahead_months=0)
    readings.ensure(NOW, NOW - timedelta(days=80))  # February … May
    insert(datetime(2026, 2, 10, tzinfo=BERLIN), datetime(2026, 3, 31, 23, 0, tzinfo=BERLIN), NOW)
    insert(datetime(2025, 12, 1, tzinfo=BERLIN), datetime(2027, 1, 1, tzinfo=BERLIN))  # the default partition
    cutoff = datetime(2026, 4, 1, 0, 30, tzinfo=BERLIN)  # March has ended, April not
    assert readings.drop_expired(cutoff) == 3
    assert [p.name for p in readings.partitions()] == [f"{TABLE}_p2026_04", f"{TABLE}_p2026_05"]
    assert placement() == {f"{TABLE}_p2026_05": 1, f"{TABLE}_default": 1}
    assert readings.drop_expired(cutoff) == 0
