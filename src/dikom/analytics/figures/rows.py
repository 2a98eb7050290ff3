"""Validating figure rows (from a file or the API) and resolving their services.

``clean_row`` turns the cells of one row into a ``FigureRow`` or a list of
errors ``(column, message)``. File rows and API rows go through it alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics.figures.models import METRIC_RULES, Metric, plain_decimal
from dikom.analytics.figures.parsing import MAX_CELL_LENGTH, CellError, parse_month, parse_number
from dikom.analytics.models import LEIKA_PATTERN, SERVICE_KEY_PATTERN, Service, ServiceKeyAlias
from dikom.municipalities.models import Municipality

_LEIKA = re.compile(LEIKA_PATTERN)
_SERVICE_KEY = re.compile(SERVICE_KEY_PATTERN)


@dataclass(frozen=True)
class FigureRow:
    month: date
    service_key: str
    leika_key: str
    metric: str
    value: Decimal
    observations: int | None

    def as_json(self, row: int) -> dict[str, Any]:
        return {
            "row": row,
            "month": self.month.isoformat(),
            "service_key": self.service_key,
            "leika_key": self.leika_key,
            "metric": self.metric,
            "value": plain_decimal(self.value),
            "observations": self.observations,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FigureRow:
        return cls(
            month=date.fromisoformat(data["month"]),
            service_key=data["service_key"],
            leika_key=data["leika_key"],
            metric=data["metric"],
            value=Decimal(data["value"]),
            observations=data["observations"],
        )


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a LeiKa key typed into Excel as a number
    text = str(raw).strip()
    if len(text) > MAX_CELL_LENGTH:
        raise CellError(_("The cell is longer than %(n)d characters.") % {"n": MAX_CELL_LENGTH})
    return text


def clean_row(
    cells: dict[str, Any], *, decimal_comma: bool, today: date | None = None
) -> FigureRow | list[tuple[str, str]]:
    """Validate one row's cells (keys: month, service, leika, metric, value, count)."""
    errors: list[tuple[str, str]] = []
    today = today or timezone.localdate()
    service_key = leika_key = metric = ""
    month_value: date | None = None
    value: Decimal | None = None
    observations: int | None = None
    try:
        month_value = parse_month(cells.get("month"))
        if month_value > today.replace(day=1):
            errors.append(("month", _("The month %(month)s lies in the future.") % {"month": f"{month_value:%Y-%m}"}))
    except CellError as exc:
        errors.append(("month", str(exc)))
    try:
        service_key = _text(cells.get("service"))
        if service_key and not _SERVICE_KEY.fullmatch(service_key):
            errors.append(("service", _("“%(value)s” is not a valid service key.") % {"value": service_key[:40]}))
    except CellError as exc:
        errors.append(("service", str(exc)))
    try:
        leika_key = _text(cells.get("leika"))
        if leika_key and not _LEIKA.fullmatch(leika_key):
            errors.append(
                ("leika", _("“%(value)s” is not a LeiKa key (14 digits starting with 99).") % {"value": leika_key[:40]})
            )
    except CellError as exc:
        errors.append(("leika", str(exc)))
    if not service_key and not leika_key and not any(c in ("service", "leika") for c, _m in errors):
        errors.append(("service", _("Name the service (its key) or its LeiKa key.")))
    try:
        metric = _text(cells.get("metric")).lower()
        if metric not in METRIC_RULES:
            errors.append(
                (
                    "metric",
                    _("Unknown metric “%(value)s”; known are: %(known)s.")
                    % {"value": metric[:40], "known": ", ".join(Metric.values)},
                )
            )
            metric = ""
    except CellError as exc:
        errors.append(("metric", str(exc)))
    try:
        value = parse_number(cells.get("value"), decimal_comma=decimal_comma)
    except CellError as exc:
        errors.append(("value", str(exc)))
    if metric and value is not None:
        errors.extend(("value", message) for message in value_errors(metric, value))
    raw_count = cells.get("count")
    if raw_count not in (None, ""):
        try:
            count = parse_number(raw_count, decimal_comma=decimal_comma)
            if count != count.to_integral_value() or count < 1 or count > Decimal(10) ** 12:
                raise CellError(_("The number of observations must be a whole number of at least 1."))
            if metric and METRIC_RULES[metric].kind != "average":
                raise CellError(_("A number of observations belongs only to averages."))
            observations = int(count)
        except CellError as exc:
            errors.append(("count", str(exc)))
    if errors:
        return errors
    assert month_value is not None and value is not None  # noqa: S101 - no errors means both parsed
    return FigureRow(month_value, service_key, leika_key, metric, value, observations)


def value_errors(metric: str, value: Decimal) -> list[str]:
    rule = METRIC_RULES[metric]
    if rule.kind == "count":
        if value != value.to_integral_value() or value < 0:
            return [_("A count must be a whole number of at least 0.")]
        if value > rule.maximum:
            return [_("The count is implausibly large.")]
        return []
    if not rule.minimum <= value <= rule.maximum:
        return [_("The value must lie between %(min)s and %(max)s.") % {"min": rule.minimum, "max": rule.maximum}]
    return []


class ServiceResolver:
    """Finds a municipality's service for a row: by key (or alias), else by a LeiKa key held by exactly one service."""

    def __init__(self, municipality: Municipality) -> None:
        services = list(Service.objects.filter(municipality=municipality))
        self.by_key: dict[str, Service] = {s.external_key: s for s in services}
        by_pk = {s.pk: s for s in services}
        for alias in ServiceKeyAlias.objects.filter(municipality=municipality):
            if alias.service_id in by_pk:
                self.by_key.setdefault(alias.key, by_pk[alias.service_id])
        leika: dict[str, list[Service]] = {}
        for s in services:
            if s.leika_key:
                leika.setdefault(s.leika_key, []).append(s)
        self.by_leika = {key: found[0] for key, found in leika.items() if len(found) == 1}

    def resolve(self, service_key: str, leika_key: str) -> Service | None:
        if service_key and service_key in self.by_key:
            return self.by_key[service_key]
        if leika_key:
            return self.by_leika.get(leika_key)
        return None


def identity(row: FigureRow, service: Service | None) -> tuple[Any, ...]:
    """What makes two rows the same figure: the month, the metric and the resolved service (else the keys)."""
    who: tuple[Any, ...] = ("service", service.pk) if service else ("keys", row.service_key, row.leika_key)
    return (row.month, row.metric, *who)


def find_duplicates(rows: Iterable[tuple[int, FigureRow, Service | None]]) -> dict[int, int]:
    """Rows that repeat an earlier row's figure: {row: first row}."""
    seen: dict[tuple[Any, ...], int] = {}
    duplicates: dict[int, int] = {}
    for number, row, service in rows:
        key = identity(row, service)
        if key in seen:
            duplicates[number] = seen[key]
        else:
            seen[key] = number
    return duplicates
