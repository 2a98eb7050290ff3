"""Periods: presets, the previous period, and day/week/month/quarter/year buckets across a year boundary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from dikom.analytics.dashboards.periods import Period, bucket_label, bucket_start, buckets, preset_range
from dikom.analytics.dashboards.tests.conftest import auth, key_for
from dikom.analytics.models import Channel, Service, ServiceDailyStats

pytestmark = pytest.mark.django_db

GRANULARITY = st.sampled_from(["day", "week", "month", "quarter", "year"])
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(start=DAYS, length=st.integers(min_value=0, max_value=800), granularity=GRANULARITY)
def test_every_day_falls_into_exactly_one_bucket_of_the_period(start: date, length: int, granularity: str) -> None:
    period = Period(start, start + timedelta(days=length), granularity)
    starts = buckets(period)
    assert starts == sorted(set(starts))
    for offset in range(0, length + 1, max(1, length // 50)):
        day = start + timedelta(days=offset)
        assert bucket_start(day, granularity) in starts
        assert bucket_start(day, granularity) <= day


@given(start=DAYS, length=st.integers(min_value=0, max_value=400))
def test_previous_period_has_the_same_length_and_ends_the_day_before(start: date, length: int) -> None:
    period = Period(start, start + timedelta(days=length))
    previous = period.previous()
    assert previous.days == period.days
    assert previous.until == period.since - timedelta(days=1)


def test_presets() -> None:
    reference = date(2025, 5, 15)
    assert preset_range("last_7", reference) == (date(2025, 5, 9), reference)
    assert preset_range("last_30", reference) == (date(2025, 4, 16), reference)
    assert preset_range("this_month", reference) == (date(2025, 5, 1), reference)
    assert preset_range("last_month", reference) == (date(2025, 4, 1), date(2025, 4, 30))
    assert preset_range("this_quarter", reference) == (date(2025, 4, 1), reference)
    assert preset_range("this_year", reference) == (date(2025, 1, 1), reference)
    assert preset_range("last_month", date(2025, 1, 10)) == (date(2024, 12, 1), date(2024, 12, 31))


def test_labels_across_a_year_boundary() -> None:
    # 30 December 2024 is a Monday in ISO week 1 of 2025.
    assert bucket_label(bucket_start(date(2024, 12, 31), "week"), "week") == "2025-W01"
    assert bucket_label(bucket_start(date(2024, 12, 29), "week"), "week") == "2024-W52"
    assert bucket_label(bucket_start(date(2024, 12, 31), "quarter"), "quarter") == "2024-Q4"
    assert bucket_label(bucket_start(date(2025, 1, 1), "month"), "month") == "2025-01"


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        ("week", [("2024-W52", 1), ("2025-W01", 2 + 4), ("2025-W02", 8)]),
        ("month", [("2024-12", 1 + 2), ("2025-01", 4 + 8)]),
        ("quarter", [("2024-Q4", 3), ("2025-Q1", 12)]),
        ("year", [("2024", 3), ("2025", 12)]),
    ],
)
def test_timeseries_groups_rollups_across_the_year_boundary(
    client: Any, city_a: Any, granularity: str, expected: list[tuple[str, int]]
) -> None:
    # Given rollups (read-only input, built here directly) on 29 Dec 2024 (Sun), 31 Dec 2024 (Tue),
    # 2 Jan 2025 (Thu) and 6 Jan 2025 (Mon) with 1, 2, 4 and 8 visits.
    service = Service.objects.create(municipality=city_a, name="Gewerbe", external_key="gewerbe")
    for day, visits in ((date(2024, 12, 29), 1), (date(2024, 12, 31), 2), (date(2025, 1, 2), 4), (date(2025, 1, 6), 8)):
        ServiceDailyStats.objects.create(
            municipality=city_a,
            service=service,
            day=day,
            channel=Channel.WEB,
            visits=visits,
            starts=visits,
            built_at=timezone.now(),
        )
    token = key_for(city_a, "analytics:read")
    response = client.get(
        "/api/v1/analytics/timeseries",
        {"service": str(service.uuid), "from": "2024-12-29", "to": "2025-01-06", "granularity": granularity},
        **auth(token),
    )
    assert response.status_code == 200, response.content
    assert [(p["period"], p["visits"]) for p in response.json()["points"]] == expected
