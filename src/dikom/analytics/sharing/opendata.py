"""The open usage tables: monthly and yearly counts per city and service, suppressed.

Read from ``ServiceDailyStats`` only (never raw events); suppression is the
pure algorithm in ``suppression.py``. Comments (free text) never enter here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, Sum
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.analytics.models import Service, ServiceDailyStats
from dikom.analytics.sharing.models import OpenDataPublication
from dikom.analytics.sharing.suppression import suppress_line, suppress_year
from dikom.municipalities.models import Municipality

COUNTS = ("visits", "starts", "completions", "feedback_count")

# (name, type, description) — shown at /opendata/nutzungsstatistik/spalten and in the JSON index.
COLUMNS: list[tuple[str, str, Any]] = [
    ("row_type", "string", _("“service” for a service, “total” for the city's total over all listed services.")),
    ("period", "string", _("The month (YYYY-MM) or, in yearly files, the year (YYYY).")),
    ("ags", "string", _("Official municipality key (AGS), 8 digits.")),
    ("municipality", "string", _("Name of the municipality.")),
    ("service", "string", _("Name of the online service (empty in total rows).")),
    ("leika_key", "string", _("LeiKa key of the service, 14 digits, if it has one.")),
    ("visits", "integer", _("Visits: distinct visits per day, added up over the days.")),
    ("starts", "integer", _("Times the service was started.")),
    ("completions", "integer", _("Applications submitted.")),
    ("conversion_rate", "number", _("Completions divided by starts (0 to 1); empty if either is suppressed.")),
    ("feedback_count", "integer", _("Number of feedbacks (ratings and/or comments; comments are never published).")),
    (
        "satisfaction_average",
        "number",
        _("Average rating 1 (poor) to 5 (very good); only with at least k ratings, empty in total rows."),
    ),
    ("suppressed", "string", _("Names of the suppressed columns of this row, separated by spaces.")),
]
COLUMN_NAMES = [name for name, _type, _description in COLUMNS]


def k_threshold() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_OPEN_DATA_K", 5))


def published_municipalities() -> list[Municipality]:
    return list(Municipality.objects.filter(usage_open_data__enabled=True).select_related("district").order_by("name"))


def published_municipality(ags: str) -> Municipality | None:
    return Municipality.objects.filter(ags=ags, usage_open_data__enabled=True).first()


def is_published(municipality: Municipality) -> bool:
    return OpenDataPublication.objects.filter(municipality=municipality, enabled=True).exists()


def _today() -> date:
    return timezone.localdate()


def is_complete_month(year: int, month: int) -> bool:
    """A month is complete once its last day is over (local time)."""
    return date(year, month, calendar.monthrange(year, month)[1]) < _today()


def is_complete_year(year: int) -> bool:
    return year < _today().year


def available_months(municipality: Municipality) -> list[str]:
    """Complete past months (YYYY-MM) with usage of assigned services, oldest first."""
    months = (
        ServiceDailyStats.objects.filter(municipality=municipality, service__isnull=False, day__lt=_today())
        .values_list("day__year", "day__month")
        .order_by()
        .distinct()
    )
    return sorted(f"{y:04d}-{m:02d}" for y, m in months if is_complete_month(y, m))


@dataclass
class _YearData:
    services: list[Service]
    # counts[metric][month 1..12][service index]
    counts: dict[str, list[list[int]]]
    rating_sum: list[list[int]]
    rating_count: list[list[int]]
    last_modified: datetime | None


def _year_data(municipality: Municipality, year: int) -> _YearData:
    queryset = (
        ServiceDailyStats.objects.filter(
            municipality=municipality, service__isnull=False, day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
        )
        .annotate(month=ExtractMonth("day"))
        .values("service_id", "month")
        .annotate(
            **{name: Sum(name) for name in (*COUNTS, "rating_sum", "rating_count")},
            built=Max("built_at"),
        )
        .order_by()
    )
    rows: list[dict[str, Any]] = [dict(row) for row in queryset]
    service_ids = {row["service_id"] for row in rows}
    services = list(Service.objects.filter(pk__in=service_ids).order_by("name", "pk"))
    index = {service.pk: i for i, service in enumerate(services)}

    def grid() -> list[list[int]]:
        return [[0] * len(services) for _month in range(13)]

    counts = {name: grid() for name in COUNTS}
    rating_sum, rating_count = grid(), grid()
    last: datetime | None = None
    for row in rows:
        i, m = index[row["service_id"]], row["month"]
        for name in COUNTS:
            counts[name][m][i] = row[name] or 0
        rating_sum[m][i] = row["rating_sum"] or 0
        rating_count[m][i] = row["rating_count"] or 0
        if row["built"] and (last is None or row["built"] > last):
            last = row["built"]
    return _YearData(services, counts, rating_sum, rating_count, last)


def _rate(part: int | None, whole: int | None) -> float | None:
    if part is None or whole is None or not whole:
        return None
    return round(part / whole, 4)


def _row(
    municipality: Municipality,
    period: str,
    service: Service | None,
    values: dict[str, int],
    hidden: set[str],
    satisfaction: float | None,
) -> dict[str, Any]:
    published: dict[str, int | None] = {name: None if name in hidden else values[name] for name in COUNTS}
    suppressed = [name for name in COUNTS if name in hidden]
    conversion = _rate(published["completions"], published["starts"])
    if "starts" in hidden or "completions" in hidden:
        suppressed.append("conversion_rate")
    return {
        "row_type": "service" if service else "total",
        "period": period,
        "ags": municipality.ags,
        "municipality": municipality.name,
        "service": service.name if service else "",
        "leika_key": service.leika_key if service else "",
        "visits": published["visits"],
        "starts": published["starts"],
        "completions": published["completions"],
        "conversion_rate": conversion,
        "feedback_count": published["feedback_count"],
        "satisfaction_average": satisfaction,
        "suppressed": suppressed,
    }


def _satisfaction(rating_sum: int, rating_count: int, k: int) -> float | None:
    return round(rating_sum / rating_count, 2) if rating_count >= k else None


@dataclass
class Table:
    rows: list[dict[str, Any]]
    last_modified: datetime | None


def month_table(municipality: Municipality, year: int, month: int) -> Table:
    """The suppressed table of one complete month: a row per service with usage, then the total row."""
    data = _year_data(municipality, year)
    k = k_threshold()
    period = f"{year:04d}-{month:02d}"
    active = [i for i in range(len(data.services)) if any(data.counts[name][month][i] for name in COUNTS)]
    results = {name: suppress_line(data.counts[name][month], k) for name in COUNTS}
    rows = []
    for i in active:
        values = {name: data.counts[name][month][i] for name in COUNTS}
        hidden = {name for name in COUNTS if i in results[name].hidden}
        satisfaction = _satisfaction(data.rating_sum[month][i], data.rating_count[month][i], k)
        rows.append(_row(municipality, period, data.services[i], values, hidden, satisfaction))
    totals = {name: sum(data.counts[name][month]) for name in COUNTS}
    hidden_totals = {name for name in COUNTS if results[name].total_hidden}
    rows.append(_row(municipality, period, None, totals, hidden_totals, None))
    return Table(rows, data.last_modified)


def year_table(municipality: Municipality, year: int) -> Table:
    """The suppressed per-service totals of a complete year, then the city's yearly total."""
    data = _year_data(municipality, year)
    k = k_threshold()
    period = f"{year:04d}"
    months = range(1, 13)
    results = {}
    for name in COUNTS:
        grid = [data.counts[name][m] for m in months]
        results[name] = suppress_year(grid, [suppress_line(line, k) for line in grid], k)
    rows = []
    for i, service in enumerate(data.services):
        values = {name: sum(data.counts[name][m][i] for m in months) for name in COUNTS}
        hidden = {name for name in COUNTS if i in results[name].hidden}
        satisfaction = _satisfaction(
            sum(data.rating_sum[m][i] for m in months), sum(data.rating_count[m][i] for m in months), k
        )
        rows.append(_row(municipality, period, service, values, hidden, satisfaction))
    totals = {name: sum(sum(data.counts[name][m]) for m in months) for name in COUNTS}
    hidden_totals = {name for name in COUNTS if results[name].total_hidden}
    rows.append(_row(municipality, period, None, totals, hidden_totals, None))
    return Table(rows, data.last_modified)
