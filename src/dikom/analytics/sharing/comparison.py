"""The city comparison (GoDonu): one LeiKa key, every city that offers the service.

Figures come from the same frozen, perturbed monthly counts as the open usage
tables (``PublishedMonth``, cell key method in ``cellkey``): the complete
calendar months that overlap the chosen period. Every rate, share and average
is computed from perturbed counts, never from true ones, so no figure — nor any
combination of figures, shares that add up to 1 included — tells more about a
count than its perturbed value. Rules, explained in ``docs/analytics.md``
("City comparison"):

* a city enters the rates with at least ``DIKOM_ANALYTICS_COMPARISON_MIN_STARTS``
  starts in the period;
* averages are the unweighted mean of the city rates (each city counts once),
  shown with the number of cities, and only over three cities or more;
* only cities that opted in for the service (and the viewing city itself) are
  named; the others only count inside averages, and an average is withheld when
  the viewer could isolate one unnamed city's value from it — alone or together
  with the other averages shown and the relations between figures (a city's
  shares of one kind add up to 1, its conversion and abandonment rates too) — a
  linear-algebra check over (city, figure) pairs, ``isolates``. This protects
  the city's choice not to be named; the people behind the counts are
  protected by the perturbation either way.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from django.conf import settings

from dikom.analytics.metrics import funnel_steps, method_shares
from dikom.analytics.models import Service
from dikom.analytics.sharing import actions, opendata
from dikom.analytics.sharing.models import ComparisonShare, PublishedMonth
from dikom.municipalities.models import Municipality

MIN_CITIES = 3
GROUPS = ("all", "district", "size_class")


def min_starts() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_COMPARISON_MIN_STARTS", 20))


class Isolation:
    """Incremental check whether published sums over groups of unknowns pin down a single unknown.

    Keeps the row space of the groups' indicator vectors in reduced row echelon
    form (exact, over the rationals). A unit vector lies in that space exactly
    when one of the reduced rows is a unit vector, so each check is linear in
    the size of the basis.
    """

    def __init__(self) -> None:
        self.basis: dict[Hashable, dict[Hashable, Fraction]] = {}  # pivot → sparse row

    def _reduce(self, vector: dict[Hashable, Fraction]) -> dict[Hashable, Fraction]:
        vector = dict(vector)
        for pivot, row in self.basis.items():
            factor = vector.get(pivot)
            if factor:
                for item, value in row.items():
                    vector[item] = vector.get(item, Fraction(0)) - factor * value
        return {item: value for item, value in vector.items() if value}

    def _with(self, group: frozenset[Hashable]) -> dict[Hashable, dict[Hashable, Fraction]] | None:
        vector = self._reduce({item: Fraction(1) for item in group})
        if not vector:
            return None
        pivot = min(vector, key=repr)
        vector = {item: value / vector[pivot] for item, value in vector.items()}
        basis = {}
        for p, row in self.basis.items():
            factor = row.get(pivot)
            if factor:
                row = dict(row)
                for item, value in vector.items():
                    row[item] = row.get(item, Fraction(0)) - factor * value
                row = {item: value for item, value in row.items() if value}
            basis[p] = row
        basis[pivot] = vector
        return basis

    def isolates_with(self, group: frozenset[Hashable]) -> bool:
        """Whether adding ``group`` would pin down a single unknown (the basis is not changed)."""
        basis = self._with(group)
        rows = self.basis.values() if basis is None else basis.values()
        return any(len(row) == 1 for row in rows)

    def add(self, group: frozenset[Hashable]) -> None:
        basis = self._with(group)
        if basis is not None:
            self.basis = basis


def isolates(groups: Sequence[frozenset[Hashable]]) -> bool:
    """Whether knowing the sum over each of ``groups`` pins down a single member's value."""
    check = Isolation()
    for group in groups[:-1]:
        check.add(group)
    return check.isolates_with(groups[-1]) if groups else False


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


def complete_months(since: date, until: date) -> list[tuple[int, int]]:
    """The complete calendar months that overlap ``since``..``until``, oldest first."""
    months = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        if opendata.is_complete_month(year, month):
            months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def perturbed_summary(publications: Sequence[PublishedMonth], service_id: int) -> dict[str, Any]:
    """A service's comparison figures from its perturbed monthly counts (never the true ones)."""
    counts: dict[str, int] = {}
    positions: dict[str, int | None] = {}
    for publication in publications:
        cells = publication.cells.get(str(service_id), {})
        for name in opendata.count_names(cells):
            counts[name] = counts.get(name, 0) + int(cells[name]["published"])
        for step, position in cells.get("_positions", {}).items():
            if position is not None:
                positions[step] = max(positions.get(step) or 0, position)
            else:
                positions.setdefault(step, None)
    starts, completions = counts.get("starts", 0), counts.get("completions", 0)
    rating_count = counts.get("rating_count", 0)

    def rate(part: int, whole: int) -> float | None:
        return round(min(part / whole, 1.0), 4) if whole else None

    steps = {
        name[5:]: {"position": positions.get(name[5:]), "viewed": value}
        for name, value in counts.items()
        if name.startswith("step:")
    }

    def mix(prefix: str) -> list[dict[str, Any]]:
        return method_shares(
            {
                name[len(prefix) + 1 :]: value
                for name, value in counts.items()
                if name.startswith(f"{prefix}:") and value
            }
        )

    average = None
    if rating_count >= opendata.k_threshold():
        average = round(min(max(counts.get("rating_sum", 0) / rating_count, 1.0), 5.0), 2)
    return {
        "starts": starts,
        "completions": completions,
        "conversion_rate": rate(completions, starts),
        "abandonment_rate": rate(max(starts - completions, 0), starts),
        "satisfaction": {"average": average},
        "funnel": funnel_steps(steps, completions),
        "authentication": mix("auth"),
        "payment": {"methods": mix("payment")},
    }


def _city_figures(leika_key: str, months: list[tuple[int, int]]) -> list[CityFigures]:
    services = Service.objects.filter(leika_key=leika_key).select_related("municipality__district")
    shared = set(ComparisonShare.objects.filter(service__leika_key=leika_key).values_list("service_id", flat=True))
    published: dict[int, list[PublishedMonth]] = {}
    best: dict[int, CityFigures] = {}
    for service in services:
        if service.municipality_id not in published:
            published[service.municipality_id] = actions.publish_months(
                municipality=service.municipality, months=months
            )
        summary = perturbed_summary(published[service.municipality_id], service.pk)
        figures = CityFigures(service.municipality, service, service.pk in shared, summary)
        current = best.get(service.municipality_id)
        # A city with two services of one LeiKa key is represented by the busier one.
        if current is None or figures.starts > current.starts:
            best[service.municipality_id] = figures
    return sorted(best.values(), key=lambda c: c.municipality.name)


RELATED = (("conversion_rate", "abandonment_rate"),)
SHARE_FAMILIES = ("authentication:", "payment:")


def _relations(eligible: list[CityFigures], known: set[int]) -> tuple[Isolation, set[tuple[int, str]]]:
    """What a viewer knows without any average: a city's shares of one kind add up to 1, and so do its
    conversion and abandonment rates. A share that is a city's only one of its kind is known outright (1)."""
    check = Isolation()
    known_items: set[tuple[int, str]] = set()
    for city in eligible:
        pk = city.municipality.pk
        if pk in known:
            continue
        names = [name for name, value in city.metrics.items() if value is not None]
        families = [[n for n in names if n.startswith(prefix)] for prefix in SHARE_FAMILIES]
        families += [[n for n in related if n in names] for related in RELATED]
        for family in families:
            if len(family) == 1:
                known_items.add((pk, family[0]))
            elif family:
                check.add(frozenset((pk, n) for n in family))
    return check, known_items


def _average(values: list[float]) -> float:
    return round(sum(values) / len(values), 4)


def compare(viewer: Municipality, leika_key: str, since: date, until: date) -> dict[str, Any]:
    """Own figures, the three averages and the named ranking for ``viewer``, over the complete months in the period."""
    threshold = min_starts()
    months = complete_months(since, until)
    cities = _city_figures(leika_key, months)
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
    check, known_items = _relations(eligible, known)
    averages: dict[str, dict[str, dict[str, Any]]] = {group: {} for group in GROUPS}
    for name in metric_names:
        for group in GROUPS:
            contributors = [c for c in members[group] if c.metrics.get(name) is not None]
            entry: dict[str, Any] = {"value": None, "cities": None, "status": "too_few_cities"}
            if len(contributors) >= MIN_CITIES:
                unknown = frozenset(
                    (c.municipality.pk, name)
                    for c in contributors
                    if c.municipality.pk not in known and (c.municipality.pk, name) not in known_items
                )
                if unknown and check.isolates_with(unknown):
                    entry["status"] = "withheld"
                else:
                    if unknown:
                        check.add(unknown)
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
    first = date(*months[0], 1) if months else since
    last = date(*months[-1], calendar.monthrange(*months[-1])[1]) if months else until
    return {
        "leika_key": leika_key,
        "period": {"from": first, "to": last},
        "min_starts": threshold,
        "min_cities": MIN_CITIES,
        "own": (own.public() | {"enough_starts": own.starts >= threshold}) if own else None,
        "abandonment_position": position,
        "district": viewer.district.name,
        "size_class": str(viewer.size_class.label),
        "averages": averages,
        "ranking": ranking,
    }
