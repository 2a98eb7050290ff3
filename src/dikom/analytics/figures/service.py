"""What other apps may use of the aggregated figures: read them for dashboards, feed them from case processing.

Combining sources: counts of the same (month, service, metric) from several
sources are added (each source counts its own system). Averages are combined
from their sums and numbers of observations (a weighted mean); an average sent
without its number of observations can only stand alone — when it would have to
be mixed with others, the result is marked ``approximate`` and uses the
weighted parts only (or the plain mean if none has a weight).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from dikom.analytics.figures import actions
from dikom.analytics.figures.models import METRIC_RULES, Metric, MonthlyFigure
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

__all__ = ["Metric", "MonthlyValue", "monthly_figures", "record_processing"]


@dataclass
class MonthlyValue:
    month: date
    metric: str
    service: Service | None
    service_key: str
    leika_key: str
    value: Decimal
    observations: int | None = None
    sources: list[str] = field(default_factory=list)
    approximate: bool = False


def monthly_figures(
    municipality: Municipality,
    *,
    service: Service | None = None,
    months: tuple[date, date] | None = None,
    metrics: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> list[MonthlyValue]:
    """Figures of ``municipality`` per (month, service, metric), sources combined; ``months`` is (first, last) inclusive."""
    figures = MonthlyFigure.objects.filter(municipality=municipality).select_related("service")
    if service is not None:
        figures = figures.filter(service=service)
    if months is not None:
        figures = figures.filter(month__gte=months[0].replace(day=1), month__lte=months[1].replace(day=1))
    if metrics is not None:
        figures = figures.filter(metric__in=list(metrics))
    if sources is not None:
        figures = figures.filter(source__in=list(sources))
    groups: dict[tuple[object, ...], list[MonthlyFigure]] = {}
    for figure in figures.order_by("month", "metric", "pk"):
        who = ("s", figure.service_id) if figure.service_id else ("k", figure.service_key, figure.leika_key)
        groups.setdefault((figure.month, figure.metric, *who), []).append(figure)
    return [_combine(parts) for parts in groups.values()]


def _combine(parts: list[MonthlyFigure]) -> MonthlyValue:
    first = parts[0]
    result = MonthlyValue(
        month=first.month,
        metric=first.metric,
        service=first.service,
        service_key=first.service_key,
        leika_key=first.leika_key,
        value=first.value,
        observations=first.observations,
        sources=sorted({p.source for p in parts}),
    )
    if len(parts) == 1:
        return result
    if METRIC_RULES[first.metric].kind == "count":
        result.value = sum((p.value for p in parts), Decimal(0))
        return result
    weighted = [p for p in parts if p.observations and p.total is not None]
    result.approximate = len(weighted) != len(parts)
    if weighted:
        count = sum(p.observations or 0 for p in weighted)
        result.value = (sum((p.total or Decimal(0) for p in weighted), Decimal(0)) / count).quantize(
            actions.AVERAGE_PLACES
        )
        result.observations = count
    else:
        result.value = (sum((p.value for p in parts), Decimal(0)) / len(parts)).quantize(actions.AVERAGE_PLACES)
        result.observations = None
    return result


def record_processing(
    municipality: Municipality,
    service: Service,
    decided_at: datetime | date,
    processing_days: Decimal | int | float,
    media_breaks: int = 0,
) -> None:
    """Count one decided case in its month (local time): processing days join the average, media breaks add up.

    Case processing calls this once per decision (source ``cases``). Averages are
    kept as sum and count, so they stay exact however many cases come in.
    """
    if service.municipality_id != municipality.pk:
        raise ValueError("The service belongs to another municipality.")
    if isinstance(decided_at, datetime):
        decided_on = timezone.localdate(decided_at) if timezone.is_aware(decided_at) else decided_at.date()
    else:
        decided_on = decided_at
    days = Decimal(str(processing_days))
    if days < 0 or media_breaks < 0:
        raise ValueError("Processing days and media breaks cannot be negative.")
    actions.record_processing(
        municipality=municipality,
        service=service,
        decided_on=decided_on,
        processing_days=days,
        media_breaks=int(media_breaks),
    )
