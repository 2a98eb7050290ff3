"""The figures the dashboards show, read from the daily rollups (``ServiceDailyStats``) only.

Every function issues a small, constant number of queries whatever the period
or the number of services: sums are grouped in SQL where possible, JSON
columns (funnel, mixes) are merged in Python from one query.

``summarize`` is the post-query half of ``dikom.analytics.metrics.service_summary``
generalised to any set of rollup rows (several services, one bucket, one
channel). Reported as a core change: split ``service_summary`` into a query and
this function so both share one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from django.db import connection
from django.db.models import Q, QuerySet, Sum

from dikom.analytics.dashboards.periods import Period, bucket_label, bucket_start, buckets, display_label
from dikom.analytics.metrics import ROLLUP_FIELDS, _funnel, _rate, add_funnel
from dikom.analytics.models import Service, ServiceDailyStats
from dikom.lib.prepared import PreparedQuery

ALL_FIELDS = ROLLUP_FIELDS
UNASSIGNED = "unassigned"


def stats(
    municipality_id: int, since: date, until: date, *, service_id: int | None = None, channel: str = ""
) -> QuerySet:
    rows = ServiceDailyStats.objects.filter(municipality_id=municipality_id, day__gte=since, day__lte=until)
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    if channel:
        rows = rows.filter(channel=channel)
    return rows


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change from ``previous`` to ``current`` (None when there is nothing to compare)."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous, 4)


# --- overview ------------------------------------------------------------------------------------


@dataclass
class ServiceRow:
    key: str  # service uuid, or "unassigned"
    name: str
    service: Service | None
    visits: int = 0
    starts: int = 0
    completions: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    previous_visits: int = 0
    previous_starts: int = 0
    previous_completions: int = 0
    previous_rating_sum: int = 0
    previous_rating_count: int = 0
    # bucket start -> [visits, starts, completions]
    series: dict[date, list[int]] = field(default_factory=dict)
    funnel: dict[str, Any] = field(default_factory=dict)
    # False while the period reaches today: a running day is not compared with whole days.
    comparable: bool = True

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.completions, self.starts)

    @property
    def abandonment_rate(self) -> float | None:
        return _rate(max(self.starts - self.completions, 0), self.starts)

    @property
    def satisfaction(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    @property
    def visits_change(self) -> float | None:
        return change(self.visits, self.previous_visits) if self.comparable else None

    @property
    def previous_conversion_rate(self) -> float | None:
        return _rate(self.previous_completions, self.previous_starts)


SORT_KEYS = {
    "name": lambda r: (r.name.casefold(),),
    "visits": lambda r: (r.visits,),
    "starts": lambda r: (r.starts,),
    "completions": lambda r: (r.completions,),
    "conversion": lambda r: (r.conversion_rate is None, r.conversion_rate or 0),
    "abandonment": lambda r: (r.abandonment_rate is None, r.abandonment_rate or 0),
    "satisfaction": lambda r: (r.satisfaction is None, r.satisfaction or 0),
}


def sort_rows(rows: list[ServiceRow], sort: str) -> tuple[list[ServiceRow], str, bool]:
    """Rows sorted by ``sort`` (``-visits`` = descending); unknown keys fall back to ``-visits``."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        key, descending = "visits", True
    ordered = sorted(rows, key=lambda r: r.name.casefold())
    if key != "name":
        # None values stay last in both directions.
        present = [r for r in ordered if SORT_KEYS[key](r)[0] is not True]
        missing = [r for r in ordered if SORT_KEYS[key](r)[0] is True]
        present.sort(key=lambda r: SORT_KEYS[key](r)[-1], reverse=descending)
        return present + missing, key, descending
    if descending:
        ordered.reverse()
    return ordered, key, descending


# The city's services, compiled once per thread (``dikom.lib.prepared``; read on every overview, issue 21).
_SERVICES = PreparedQuery(
    Service,
    lambda municipality_id: Service.objects.filter(municipality_id=municipality_id).order_by("name", "pk"),
    fields=(Service._meta.get_field("municipality"),),
    samples=(-7201,),
)


def overview(municipality_id: int, period: Period, channel: str = "") -> list[ServiceRow]:
    """One row per service of the city (and one for unassigned events, if any): three queries."""
    previous = period.previous()
    rows: dict[Any, ServiceRow] = {}
    for service in _SERVICES.all(municipality_id):
        rows[service.pk] = ServiceRow(key=str(service.uuid), name=service.name, service=service)

    def row_for(service_id: int | None) -> ServiceRow:
        if service_id is None:
            if None not in rows:
                rows[None] = ServiceRow(key=UNASSIGNED, name="", service=None)
            return rows[None]
        return rows[service_id]

    sums = (
        stats(municipality_id, previous.since, period.until, channel=channel)
        .values("service_id", "day")
        .annotate(v=Sum("visits"), s=Sum("starts"), c=Sum("completions"), rs=Sum("rating_sum"), rc=Sum("rating_count"))
        .order_by()
    )
    for item in sums:
        row = row_for(item["service_id"])
        if item["day"] >= period.since:
            row.visits += item["v"]
            row.starts += item["s"]
            row.completions += item["c"]
            row.rating_sum += item["rs"]
            row.rating_count += item["rc"]
            point = row.series.setdefault(bucket_start(item["day"], period.granularity), [0, 0, 0])
            point[0] += item["v"]
            point[1] += item["s"]
            point[2] += item["c"]
        else:
            row.previous_visits += item["v"]
            row.previous_starts += item["s"]
            row.previous_completions += item["c"]
            row.previous_rating_sum += item["rs"]
            row.previous_rating_count += item["rc"]
    # A funnel per service, day and channel of the period (over a thousand rows for a city's
    # month): read on the cursor and decoded with orjson, the ORM's per-row work cost more
    # than the merge (18 against 5 ms at 1 178 rows, measured, docs/benchmarks.md).
    funnels = (
        stats(municipality_id, period.since, period.until, channel=channel)
        .exclude(Q(funnel={}))
        .values_list("service_id", "funnel")
    )
    sql, params = funnels.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for service_id, funnel in cursor.fetchall():
            add_funnel(row_for(service_id).funnel, orjson.loads(funnel) if isinstance(funnel, str | bytes) else funnel)
    return list(rows.values())


def biggest_drop_off(rows: list[ServiceRow]) -> dict[str, Any] | None:
    """The (service, step) where most visits were lost in the period, with its rate."""
    best: dict[str, Any] | None = None
    for row in rows:
        for step in _funnel(row.funnel, row.completions):
            if step["drop_off"] and (best is None or step["drop_off"] > best["drop_off"]):
                label = row.service.step_label(step["step_key"]) if row.service else step["step_key"]
                best = {**step, "row": row, "step_label": label}
    return best


# --- time series ---------------------------------------------------------------------------------

SERIES_FIELDS = ("visits", "starts", "completions")


def timeseries(
    municipality_id: int, period: Period, *, service_id: int | None = None, channel: str = ""
) -> list[dict[str, Any]]:
    """Visits, starts and completions per bucket of the period (empty buckets as zeros): one query."""
    per_day = (
        stats(municipality_id, period.since, period.until, service_id=service_id, channel=channel)
        .values("day")
        .annotate(**{name: Sum(name) for name in SERIES_FIELDS})
        .order_by()
    )
    points = {start: dict.fromkeys(SERIES_FIELDS, 0) for start in buckets(period)}
    for item in per_day:
        point = points[bucket_start(item["day"], period.granularity)]
        for name in SERIES_FIELDS:
            point[name] += item[name]
    return [
        {
            "period": bucket_label(start, period.granularity),
            "label": display_label(start, period.granularity),
            "start": start,
            **values,
        }
        for start, values in points.items()
    ]


def rows_for(
    municipality_id: int, period: Period, *, service_id: int | None = None, channel: str = ""
) -> list[dict[str, Any]]:
    """Every rollup row of the period with the columns ``summarize`` needs (one query)."""
    return list(
        stats(municipality_id, period.since, period.until, service_id=service_id, channel=channel).values(
            "service_id", "day", "channel", *ALL_FIELDS
        )
    )


def split(rows: list[dict[str, Any]], since: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows from ``since`` on, and the rows before."""
    return [r for r in rows if r["day"] >= since], [r for r in rows if r["day"] < since]
