"""The city comparison (GoDonu): one LeiKa key, every city that offers the service.

Figures come from ``metrics.service_summary`` (rollups only). Rules, explained in
``docs/analytics.md`` ("City comparison"):

* a city enters the rates with at least ``DIKOM_ANALYTICS_COMPARISON_MIN_STARTS``
  starts in the period;
* averages are the unweighted mean of the city rates (each city counts once),
  shown with the number of cities, and only over three cities or more;
* only cities that opted in for the service (and the viewing city itself) are
  named; the others only count inside averages, and an average is withheld when
  the viewer could isolate one unnamed city's value from it — alone or together
  with the other averages shown (a linear-algebra check, ``isolates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from django.conf import settings

from dikom.analytics.metrics import service_summary
from dikom.analytics.models import Service
from dikom.analytics.sharing.models import ComparisonShare
from dikom.municipalities.models import Municipality

MIN_CITIES = 3
GROUPS = ("all", "district", "size_class")


def min_starts() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_COMPARISON_MIN_STARTS", 20))


def isolates(groups: Sequence[frozenset[int]]) -> bool:
    """Whether knowing the sum over each of ``groups`` pins down a single member's value.

    True when some unit vector lies in the span of the groups' indicator
    vectors (exact Gaussian elimination over the rationals).
    """
    items = sorted(set().union(*groups)) if groups else []
    position = {item: i for i, item in enumerate(items)}
    basis: list[tuple[int, list[Fraction]]] = []

    def reduce(vector: list[Fraction]) -> list[Fraction]:
        vector = list(vector)
        for pivot, row in basis:
            if vector[pivot]:
                factor = vector[pivot]
                vector = [a - factor * b for a, b in zip(vector, row, strict=True)]
        return vector

    for group in groups:
        vector = reduce([Fraction(1 if item in group else 0) for item in items])
        pivot = next((i for i, value in enumerate(vector) if value), None)
        if pivot is None:
            continue
        vector = [value / vector[pivot] for value in vector]
        basis = [
            (p, [a - row[pivot] * b for a, b in zip(row, vector, strict=True)]) if row[pivot] else (p, row)
            for p, row in basis
        ]
        basis.append((pivot, vector))
    for item in items:
        unit = [Fraction(0)] * len(items)
        unit[position[item]] = Fraction(1)
        if not any(reduce(unit)):
            return True
    return False


@dataclass
class CityFigures:
    municipality: Municipality
    service: Service
    shared: bool
    summary: dict[str, Any]
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def starts(self) -> int:
        return int(self.summary["starts"])

    @property
    def abandonment_step(self) -> dict[str, Any] | None:
        steps = [s for s in self.summary["funnel"] if s["drop_off"] > 0]
        if not steps:
            return None
        step = max(steps, key=lambda s: (s["drop_off"], -(s["position"] or 0)))
        return {"step_key": step["step_key"], "position": step["position"], "drop_off_rate": step["drop_off_rate"]}

    def public(self) -> dict[str, Any]:
        """What may be shown of a named city."""
        return {
            "municipality": self.municipality.name,
            "ags": self.municipality.ags,
            "service": self.service.name,
            "starts": self.starts,
            "conversion_rate": self.summary["conversion_rate"],
            "abandonment_rate": self.summary["abandonment_rate"],
            "abandonment_step": self.abandonment_step,
            "satisfaction_average": self.summary["satisfaction"]["average"],
            "authentication": {m["key"]: m["share"] for m in self.summary["authentication"]},
            "payment": {m["key"]: m["share"] for m in self.summary["payment"]["methods"]},
        }


def _metrics(city: CityFigures, position: int | None) -> dict[str, float | None]:
    summary = city.summary
    values: dict[str, float | None] = {
        "conversion_rate": summary["conversion_rate"],
        "abandonment_rate": summary["abandonment_rate"],
        "satisfaction_average": summary["satisfaction"]["average"],
        "drop_off_rate_at_step": None,
    }
    if position is not None:
        for step in summary["funnel"]:
            if step["position"] == position:
                values["drop_off_rate_at_step"] = step["drop_off_rate"]
    for prefix, shares in (
        ("authentication", summary["authentication"]),
        ("payment", summary["payment"]["methods"]),
    ):
        for share in shares:
            values[f"{prefix}:{share['key']}"] = share["share"]
    return values


def _city_figures(leika_key: str, since: date, until: date) -> list[CityFigures]:
    services = Service.objects.filter(leika_key=leika_key).select_related("municipality__district")
    shared = set(ComparisonShare.objects.filter(service__leika_key=leika_key).values_list("service_id", flat=True))
    best: dict[int, CityFigures] = {}
    for service in services:
        summary = service_summary(
            municipality_id=service.municipality_id, service_id=service.pk, since=since, until=until
        )
        figures = CityFigures(service.municipality, service, service.pk in shared, summary)
        current = best.get(service.municipality_id)
        # A city with two services of one LeiKa key is represented by the busier one.
        if current is None or figures.starts > current.starts:
            best[service.municipality_id] = figures
    return sorted(best.values(), key=lambda c: c.municipality.name)


def _average(values: list[float]) -> float:
    return round(sum(values) / len(values), 4)


def compare(viewer: Municipality, leika_key: str, since: date, until: date) -> dict[str, Any]:
    """Own figures, the three averages and the named ranking for ``viewer``."""
    threshold = min_starts()
    cities = _city_figures(leika_key, since, until)
    own = next((c for c in cities if c.municipality.pk == viewer.pk), None)
    eligible = [c for c in cities if c.starts >= threshold]
    own_step = own.abandonment_step if own else None
    position = own_step["position"] if own_step else None
    for city in eligible:
        city.metrics = _metrics(city, position)
    known = {c.municipality.pk for c in eligible if c.shared or c.municipality.pk == viewer.pk}
    members = {
        "all": eligible,
        "district": [c for c in eligible if c.municipality.district_id == viewer.district_id],
        "size_class": [c for c in eligible if c.municipality.size_class == viewer.size_class],
    }
    metric_names = sorted({name for c in eligible for name in c.metrics})
    averages: dict[str, dict[str, dict[str, Any]]] = {group: {} for group in GROUPS}
    for name in metric_names:
        shown: list[frozenset[int]] = []
        for group in GROUPS:
            contributors = [c for c in members[group] if c.metrics.get(name) is not None]
            entry: dict[str, Any] = {"value": None, "cities": None, "status": "too_few_cities"}
            if len(contributors) >= MIN_CITIES:
                unknown = frozenset(c.municipality.pk for c in contributors) - known
                if isolates([*shown, unknown]):
                    entry["status"] = "withheld"
                else:
                    if unknown:
                        shown.append(unknown)
                    entry = {
                        "value": _average([c.metrics[name] for c in contributors]),  # type: ignore[misc]
                        "cities": len(contributors),
                        "status": "ok",
                    }
            averages[group][name] = entry
    ranking = [
        c.public() | {"own": c.municipality.pk == viewer.pk}
        for c in sorted(
            (c for c in eligible if c.municipality.pk in known and c.summary["conversion_rate"] is not None),
            key=lambda c: (-(c.summary["conversion_rate"] or 0), -c.starts, c.municipality.name),
        )
    ]
    return {
        "leika_key": leika_key,
        "period": {"from": since, "to": until},
        "min_starts": threshold,
        "min_cities": MIN_CITIES,
        "own": (own.public() | {"enough_starts": own.starts >= threshold}) if own else None,
        "abandonment_position": position,
        "district": viewer.district.name,
        "size_class": str(viewer.size_class.label),
        "averages": averages,
        "ranking": ranking,
    }
