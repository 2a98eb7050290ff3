"""The open usage tables: monthly and yearly counts per city and service, protected by the cell key method.

Read from ``ServiceDailyStats`` only (never raw events). A month is frozen the
first time it is served (``actions.publish_month``): its perturbed counts are
stored in ``PublishedMonth`` and never change again except through a marked
correction. Every count in a table is a perturbed block (``cellkey``) or a sum
of them; rates and averages are computed from perturbed counts only. Comments
(free text) never enter here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.analytics.models import Service, ServiceDailyStats
from dikom.analytics.sharing import cellkey
from dikom.analytics.sharing.models import OpenDataPublication, PublishedMonth
from dikom.municipalities.models import Municipality

COUNTS = ("visits", "starts", "completions", "feedback_count")
# Perturbed like the counts but only published through the satisfaction average.
RATINGS = ("rating_sum", "rating_count")
BLOCK_METRICS = (*COUNTS, *RATINGS)

# (name, type, description) — shown at /opendata/nutzungsstatistik/spalten and in the JSON index.
COLUMNS: list[tuple[str, str, Any]] = [
    ("row_type", "string", _("“service” for a service, “total” for the city's total over all listed services.")),
    ("period", "string", _("The month (YYYY-MM) or, in yearly files, the year (YYYY).")),
    ("ags", "string", _("Official municipality key (AGS), 8 digits.")),
    ("municipality", "string", _("Name of the municipality.")),
    ("service", "string", _("Name of the online service (empty in total rows).")),
    ("leika_key", "string", _("LeiKa key of the service, 14 digits, if it has one.")),
    ("visits", "integer", _("Visits: distinct visits per day, added up over the days (perturbed).")),
    ("starts", "integer", _("Times the service was started (perturbed).")),
    ("completions", "integer", _("Applications submitted (perturbed).")),
    (
        "conversion_rate",
        "number",
        _("Perturbed completions divided by perturbed starts (0 to 1); empty when no starts are published."),
    ),
    (
        "feedback_count",
        "integer",
        _("Number of feedbacks (ratings and/or comments; comments are never published), perturbed."),
    ),
    (
        "satisfaction_average",
        "number",
        _(
            "Average rating 1 (poor) to 5 (very good) from the perturbed sum and number of ratings; "
            "only with at least k perturbed ratings, empty in total rows."
        ),
    ),
    ("withheld", "string", _("Names of the columns of this row that are left empty, separated by spaces.")),
]
COLUMN_NAMES = [name for name, _type, _description in COLUMNS]


def k_threshold() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_OPEN_DATA_K", 5))


def method_parameters() -> dict[str, Any]:
    """The published description of the noise, with the threshold for averages."""
    return cellkey.parameters() | {"k": k_threshold()}


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
    """Complete past months (YYYY-MM) with usage of assigned services or already published, oldest first."""
    months = set(
        ServiceDailyStats.objects.filter(municipality=municipality, service__isnull=False, day__lt=_today())
        .values_list("day__year", "day__month")
        .order_by()
        .distinct()
    )
    months |= {
        (m.year, m.month)
        for m in PublishedMonth.objects.filter(municipality=municipality).values_list("month", flat=True)
    }
    return sorted(f"{y:04d}-{m:02d}" for y, m in months if is_complete_month(y, m))


def period_of(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def true_blocks(municipality: Municipality, year: int, month: int) -> dict[str, dict[str, Any]]:
    """The true counts of one month from the rollups: service id (as text) → metric → count.

    Besides the table's counts: ``step:<key>`` (viewers of a form step), ``auth:<key>`` and
    ``payment:<key>`` (completions per method) for the city comparison, and ``_positions``
    (step → position, not a count).
    """
    first, last = _month_bounds(year, month)
    rows = ServiceDailyStats.objects.filter(
        municipality=municipality, service__isnull=False, day__gte=first, day__lte=last
    ).values_list("service_id", *BLOCK_METRICS, "funnel", "auth_mix", "payment_mix")
    blocks: dict[str, dict[str, Any]] = {}
    for service_id, *counts, funnel, auth_mix, payment_mix in rows:
        block = blocks.setdefault(str(service_id), {"_positions": {}})
        for name, value in zip(BLOCK_METRICS, counts, strict=True):
            block[name] = block.get(name, 0) + int(value or 0)
        for step, values in (funnel or {}).items():
            block[f"step:{step}"] = block.get(f"step:{step}", 0) + int(values.get("viewed", 0) or 0)
            if values.get("position") is not None:
                block["_positions"][step] = max(block["_positions"].get(step) or 0, int(values["position"]))
            else:
                block["_positions"].setdefault(step, None)
        for prefix, mix in (("auth", auth_mix), ("payment", payment_mix)):
            for key, values in (mix or {}).items():
                block[f"{prefix}:{key}"] = block.get(f"{prefix}:{key}", 0) + int(values.get("completed", 0) or 0)
    return {
        service_id: block
        for service_id, block in blocks.items()
        if any(value for name, value in block.items() if not name.startswith("_"))
    }


def months_without_usage(municipality: Municipality, first: date, last: date) -> list[tuple[int, int]]:
    """Months between the months of ``first`` and ``last`` without any rollup of an assigned service."""
    end = _month_bounds(last.year, last.month)[1]
    used = set(
        ServiceDailyStats.objects.filter(
            municipality=municipality, service__isnull=False, day__gte=first.replace(day=1), day__lte=end
        )
        .values_list("day__year", "day__month")
        .order_by()
        .distinct()
    )
    result = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        if (year, month) not in used:
            result.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def count_names(cells: dict[str, Any]) -> list[str]:
    """The perturbed metrics of one service's cells (everything but ``_``-prefixed details)."""
    return [name for name in cells if not name.startswith("_")]


def perturb_blocks(municipality_id: int, period: str, blocks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The cells of a first publication: true and perturbed count per service and metric."""
    return {
        service_id: {
            name: value
            if name.startswith("_")
            else {
                "true": value,
                "published": cellkey.perturb(
                    cellkey.block_identity(municipality_id, int(service_id), name, period), value
                ),
            }
            for name, value in counts.items()
        }
        for service_id, counts in blocks.items()
    }


@dataclass
class Table:
    rows: list[dict[str, Any]]
    last_modified: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)


def _rate(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return round(min(part / whole, 1.0), 4)


def _satisfaction(rating_sum: int, rating_count: int, k: int) -> float | None:
    if rating_count < k:
        return None
    return round(min(max(rating_sum / rating_count, 1.0), 5.0), 2)


def _row(
    municipality: Municipality, period: str, service: Service | None, values: dict[str, int], k: int
) -> dict[str, Any]:
    conversion = _rate(values["completions"], values["starts"])
    satisfaction = _satisfaction(values["rating_sum"], values["rating_count"], k) if service else None
    withheld = [name for name, value in (("conversion_rate", conversion),) if value is None]
    if service is not None and satisfaction is None:
        withheld.append("satisfaction_average")
    return {
        "row_type": "service" if service else "total",
        "period": period,
        "ags": municipality.ags,
        "municipality": municipality.name,
        "service": service.name if service else "",
        "leika_key": service.leika_key if service else "",
        "visits": values["visits"],
        "starts": values["starts"],
        "completions": values["completions"],
        "conversion_rate": conversion,
        "feedback_count": values["feedback_count"],
        "satisfaction_average": satisfaction,
        "withheld": withheld,
    }


def _published(months: list[PublishedMonth]) -> dict[int, dict[str, int]]:
    """Perturbed counts per service id, added up over ``months``."""
    totals: dict[int, dict[str, int]] = {}
    for publication in months:
        for service_id, cells in publication.cells.items():
            target = totals.setdefault(int(service_id), dict.fromkeys(BLOCK_METRICS, 0))
            for name in BLOCK_METRICS:
                target[name] += int(cells.get(name, {}).get("published", 0))
    return totals


def _table(municipality: Municipality, period: str, months: list[PublishedMonth]) -> Table:
    k = k_threshold()
    values = _published(months)
    services = {s.pk: s for s in Service.objects.filter(pk__in=values.keys())}
    ordered = sorted(
        (pk for pk in values if pk in services and any(values[pk][name] for name in COUNTS)),
        key=lambda pk: (services[pk].name, pk),
    )
    rows = [_row(municipality, period, services[pk], values[pk], k) for pk in ordered]
    totals = {name: sum(values[pk][name] for pk in ordered) for name in BLOCK_METRICS}
    rows.append(_row(municipality, period, None, totals, k))
    last = max((m.updated_at for m in months), default=None)
    metadata = {
        "period": period,
        "protection": method_parameters(),
        "months": [
            {
                "month": period_of(m.month),
                "version": m.version,
                "published_at": m.published_at.isoformat(),
                "corrections": m.corrections,
            }
            for m in months
        ],
    }
    return Table(rows, last, metadata)


def month_table(municipality: Municipality, year: int, month: int) -> Table:
    """The protected table of one complete month: a row per service with usage, then the total row."""
    from dikom.analytics.sharing.actions import publish_month

    publication = publish_month(municipality=municipality, year=year, month=month)
    return _table(municipality, f"{year:04d}-{month:02d}", [publication])


def year_table(municipality: Municipality, year: int) -> Table:
    """The per-service sums of a complete year's published months, then the city's yearly total."""
    from dikom.analytics.sharing.actions import publish_month

    months = [int(m[5:]) for m in available_months(municipality) if m.startswith(f"{year:04d}-")]
    publications = [publish_month(municipality=municipality, year=year, month=m) for m in months]
    return _table(municipality, f"{year:04d}", publications)
