"""Computing the daily rollups of one municipality and day from raw events.

Every aggregation runs in SQL (GROUP BY with COUNT / COUNT DISTINCT / MIN),
the same on SQLite and PostgreSQL; Python only merges the grouped rows. The one
per-visit query (time from start to submission) returns one row per completed
visit of that day, never one per event.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, CharField, Count, F, Max, Min, Q, QuerySet, Value, When

from dikom.analytics.models import EventType, UsageEvent

# Fine buckets (lower bounds in seconds) of the completion time: mergeable across
# days and services, fine enough to estimate the median within seconds to minutes.
COMPLETION_BOUNDS: tuple[int, ...] = (
    *range(0, 180, 10),
    *range(180, 600, 30),
    *range(600, 1800, 60),
    *range(1800, 3600, 300),
    3600,
    4500,
    5400,
    7200,
    10800,
    14400,
    21600,
    43200,
)
# The distribution shown to people: <60, <180, <300, <600, <1200, <1800, <3600, ≥3600 seconds.
DISPLAY_BOUNDS: tuple[int, ...] = (0, 60, 180, 300, 600, 1200, 1800, 3600)

AUTH_KINDS = {EventType.AUTH_CHOSEN: "chosen", EventType.AUTH_COMPLETED: "completed"}
PAYMENT_KINDS = {
    EventType.PAYMENT_CHOSEN: "chosen",
    EventType.PAYMENT_COMPLETED: "completed",
    EventType.PAYMENT_FAILED: "failed",
}
COUNTERS = {
    EventType.SERVICE_STARTED: "starts",
    EventType.SUBMITTED: "completions",
    EventType.ABORTED: "aborts",
    EventType.TRANSMISSION_ERROR: "transmission_errors",
    EventType.FEEDBACK: "feedback_count",
}
UNKNOWN = "unknown"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the local day ``day`` (Europe/Berlin), DST-correct."""
    zone = local_zone()
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def completion_bucket(seconds: float) -> int:
    return COMPLETION_BOUNDS[max(bisect_right(COMPLETION_BOUNDS, seconds) - 1, 0)]


def empty_stats() -> dict[str, Any]:
    return {
        "visits": 0,
        "starts": 0,
        "completions": 0,
        "aborts": 0,
        "transmission_errors": 0,
        "feedback_count": 0,
        "rating_sum": 0,
        "rating_count": 0,
        "rating_histogram": {},
        "funnel": {},
        "auth_mix": {},
        "payment_mix": {},
        "device_mix": {},
        "completion_seconds": {},
    }


def _events(municipality_id: int, day: date) -> QuerySet[UsageEvent]:
    start, end = day_bounds(day)
    return (
        UsageEvent.objects.filter(municipality_id=municipality_id, occurred_at__gte=start, occurred_at__lt=end)
        .annotate(
            rollup_key=Case(
                When(service__isnull=True, then=F("service_key")), default=Value(""), output_field=CharField()
            )
        )
        .order_by()
    )


GROUP = ("service_id", "rollup_key", "channel")
# A visit is a distinct visit key; an event without one counts alone (only starts count as visits).
LONE_START = Count("id", filter=Q(visit__isnull=True, type=EventType.SERVICE_STARTED))


def compute_daily_stats(municipality_id: int, day: date) -> dict[tuple[int | None, str, str], dict[str, Any]]:
    """The rollups of one municipality and local day, keyed by (service id, unassigned key, channel)."""
    events = _events(municipality_id, day)
    groups: dict[tuple[int | None, str, str], dict[str, Any]] = {}

    def stats(row: dict[str, Any]) -> dict[str, Any]:
        return groups.setdefault((row["service_id"], row["rollup_key"], row["channel"]), empty_stats())

    for row in events.values(*GROUP).annotate(distinct=Count("visit", distinct=True), lone=LONE_START):
        stats(row)["visits"] = row["distinct"] + row["lone"]

    for row in events.filter(type__in=list(COUNTERS)).values(*GROUP, "type").annotate(n=Count("id")):
        stats(row)[COUNTERS[row["type"]]] += row["n"]

    steps = events.filter(type__in=[EventType.STEP_VIEWED, EventType.STEP_COMPLETED])
    for row in steps.values(*GROUP, "step_key", "type").annotate(
        distinct=Count("visit", distinct=True), lone=Count("id", filter=Q(visit__isnull=True)), pos=Max("step_position")
    ):
        step = stats(row)["funnel"].setdefault(
            row["step_key"], {"position": None, "viewed": 0, "completed": 0, "aborted": 0}
        )
        step["viewed" if row["type"] == EventType.STEP_VIEWED else "completed"] = row["distinct"] + row["lone"]
        if row["pos"] is not None:
            step["position"] = max(step["position"] or 0, row["pos"])

    aborted = events.filter(type=EventType.ABORTED).exclude(step_key="")
    for row in aborted.values(*GROUP, "step_key").annotate(n=Count("id")):
        step = stats(row)["funnel"].setdefault(
            row["step_key"], {"position": None, "viewed": 0, "completed": 0, "aborted": 0}
        )
        step["aborted"] = row["n"]

    ratings = events.filter(type=EventType.FEEDBACK, rating__isnull=False)
    for row in ratings.values(*GROUP, "rating").annotate(n=Count("id")):
        s = stats(row)
        s["rating_histogram"][str(row["rating"])] = row["n"]
        s["rating_sum"] += row["rating"] * row["n"]
        s["rating_count"] += row["n"]

    for row in events.filter(type__in=list(AUTH_KINDS)).values(*GROUP, "auth_method", "type").annotate(n=Count("id")):
        mix = stats(row)["auth_mix"].setdefault(row["auth_method"] or UNKNOWN, {"chosen": 0, "completed": 0})
        mix[AUTH_KINDS[row["type"]]] += row["n"]

    payments = events.filter(type__in=list(PAYMENT_KINDS)).values(*GROUP, "payment_method", "type")
    for row in payments.annotate(n=Count("id")):
        mix = stats(row)["payment_mix"].setdefault(
            row["payment_method"] or UNKNOWN, {"chosen": 0, "completed": 0, "failed": 0}
        )
        mix[PAYMENT_KINDS[row["type"]]] += row["n"]

    # Visits per device class named on any of their events; visits that never name one are "unknown".
    known = events.exclude(device_class="").values(*GROUP, "device_class")
    for row in known.annotate(distinct=Count("visit", distinct=True), lone=LONE_START):
        if row["distinct"] + row["lone"]:
            stats(row)["device_mix"][row["device_class"]] = row["distinct"] + row["lone"]
    for group in groups.values():
        unknown = group["visits"] - sum(group["device_mix"].values())
        if unknown > 0:
            group["device_mix"][UNKNOWN] = unknown

    journeys = (
        events.filter(visit__isnull=False, type__in=[EventType.SERVICE_STARTED, EventType.SUBMITTED])
        .values(*GROUP, "visit")
        .annotate(
            started=Min("occurred_at", filter=Q(type=EventType.SERVICE_STARTED)),
            submitted=Min("occurred_at", filter=Q(type=EventType.SUBMITTED)),
        )
        .filter(started__isnull=False, submitted__isnull=False)
        .values_list(*GROUP, "started", "submitted")
    )
    for service_id, rollup_key, channel, started, submitted in journeys:
        if submitted < started:
            continue
        histogram = groups.setdefault((service_id, rollup_key, channel), empty_stats())["completion_seconds"]
        bucket = str(completion_bucket((submitted - started).total_seconds()))
        histogram[bucket] = histogram.get(bucket, 0) + 1

    return groups
