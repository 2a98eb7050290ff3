"""The watering need of street trees: from soil probes where a tree has them, otherwise from a model.

With probes (``DOMAIN.md``, Sensors and trees): the mean of the newest soil
water tension readings of the tree's probes (30/60/90 cm; 1 cbar = 1 kPa),
each no older than ``SENSOR_MAX_AGE``: up to 33 cbar good, up to 80 moderate,
above 80 critical. A city may set its own limits per species, district, area or
single tree (``thresholds.py``); the explanation names the rule used.

Without probes (or when they fell silent), the Berlin model: outside the
vegetation period (March–October) no tree needs water. In it, a young tree
(planted at most ten years ago) needs about 100–200 litres a month; the
supply is the rain of the last 30 days (1 mm on the tree pit ≈ 1 litre, as
the model counts it) plus the litres citizens logged in those 30 days: below
100 critical, below 200 moderate, else good. An older tree has deep roots; the
model only marks it moderate after a dry month (supply below 30). A tree of
unknown age counts as older.

The computation is batched: ``needs_for`` takes a list of trees and runs a
fixed number of queries (readings, rain, waterings, and the city's thresholds
when a tree has fresh readings) whatever its length. The trees must have
``species``, ``district``, ``longitude`` and ``latitude`` loaded (``NEED_FIELDS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.sensors import service as sensors
from dikom.smartcity.models import RainDay, Tree, Watering
from dikom.smartcity.thresholds import (
    DEFAULT_GOOD_UP_TO_CBAR,
    DEFAULT_MODERATE_UP_TO_CBAR,
    WaterLimits,
    water_limits_for,
)

GOOD_UP_TO_CBAR = DEFAULT_GOOD_UP_TO_CBAR
MODERATE_UP_TO_CBAR = DEFAULT_MODERATE_UP_TO_CBAR
SENSOR_MAX_AGE = dt.timedelta(hours=72)
YOUNG_YEARS = 10
YOUNG_CRITICAL_BELOW_LITRES = 100
YOUNG_MODERATE_BELOW_LITRES = 200
OLD_MODERATE_BELOW_LITRES = 30
VEGETATION_MONTHS = range(3, 11)
WINDOW = dt.timedelta(days=30)
MANY_TREES = 500
#: The fields ``needs_for`` reads (for ``.only()`` in bulk jobs).
NEED_FIELDS = (
    "pk",
    "municipality",
    "planting_year",
    "sensor_thing_id",
    "need_level",
    "species",
    "district",
    "longitude",
    "latitude",
)


class Level(StrEnum):
    GOOD = "good"
    MODERATE = "moderate"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    Level.GOOD: _("well supplied"),
    Level.MODERATE: _("water soon"),
    Level.CRITICAL: _("needs water now"),
}


@dataclass(frozen=True)
class Need:
    level: Level
    method: str  # "sensor" or "model"
    #: sensor: mean tension (cbar); model: supply in litres over 30 days
    value: float | None
    rain_mm: float
    watered_litres: int
    age: int | None
    explanation: str


def _age(tree: Tree, today: dt.date) -> int | None:
    return today.year - tree.planting_year if tree.planting_year else None


def needs_for(trees: Sequence[Tree], now: dt.datetime | None = None) -> dict[int, Need]:
    """The need of every tree in ``trees`` (all of one city), keyed by tree id."""
    if not trees:
        return {}
    now = now or timezone.now()
    today = timezone.localdate(now)
    city_id = trees[0].municipality_id
    since = now - WINDOW
    rain = float(
        RainDay.objects.filter(municipality_id=city_id, day__gt=today - WINDOW, day__lte=today).aggregate(
            total=Sum("millimetres")
        )["total"]
        or 0.0
    )
    recent = Watering.objects.filter(watered_at__gt=since, watered_at__lte=now)
    # Few trees: by their ids; many (maps, the periodic job): the city's waterings of the window, a small set.
    recent = (
        recent.filter(tree__in=[t.pk for t in trees])
        if len(trees) <= MANY_TREES
        else recent.filter(tree__municipality_id=city_id)
    )
    litres = dict(recent.values("tree").annotate(total=Sum("litres")).values_list("tree", "total"))
    probes = sensors.soil_tension_datastreams(t.sensor_thing_id for t in trees if t.sensor_thing_id)
    readings = sensors.latest_readings(pk for ids in probes.values() for pk in ids)
    fresh: dict[int, list[float]] = {}
    for tree in trees:
        values = [
            readings[pk].value
            for pk in probes.get(tree.sensor_thing_id or 0, [])
            if pk in readings and now - readings[pk].time <= SENSOR_MAX_AGE
        ]
        if values:
            fresh[tree.pk] = values
    limits = water_limits_for([t for t in trees if t.pk in fresh])
    out = {}
    for tree in trees:
        watered = int(litres.get(tree.pk, 0))
        out[tree.pk] = (
            _from_sensors(fresh[tree.pk], rain, watered, _age(tree, today), limits[tree.pk])
            if tree.pk in fresh
            else _from_model(tree, today, rain, watered)
        )
    return out


def need_for(tree: Tree, now: dt.datetime | None = None) -> Need:
    return needs_for([tree], now)[tree.pk]


def _from_sensors(values: list[float], rain: float, watered: int, age: int | None, limits: WaterLimits) -> Need:
    mean = sum(values) / len(values)
    if mean <= limits.good_up_to:
        level = Level.GOOD
    elif mean <= limits.moderate_up_to:
        level = Level.MODERATE
    else:
        level = Level.CRITICAL
    facts = {"mean": mean, "good": limits.good_up_to, "moderate": limits.moderate_up_to}
    if limits.source:
        explanation = _(
            "Measured: the soil probes show a mean water tension of %(mean).0f cbar (%(rule)s: up to %(good)g "
            "good, up to %(moderate)g water soon, above %(moderate)g needs water now)."
        ) % {**facts, "rule": limits.source}
    else:
        explanation = (
            _(
                "Measured: the soil probes show a mean water tension of %(mean).0f cbar (default threshold: up to "
                "%(good)g good, up to %(moderate)g water soon, above %(moderate)g needs water now)."
            )
            % facts
        )
    return Need(level, "sensor", round(mean, 1), rain, watered, age, str(explanation))


def _from_model(tree: Tree, today: dt.date, rain: float, watered: int) -> Need:
    age = _age(tree, today)
    supply = rain + watered
    facts = {"rain": rain, "litres": watered}
    if today.month not in VEGETATION_MONTHS:
        text = _("Estimated: outside the vegetation period (March to October) street trees need no watering.")
        return Need(Level.GOOD, "model", supply, rain, watered, age, str(text))
    if age is not None and age <= YOUNG_YEARS:
        if supply < YOUNG_CRITICAL_BELOW_LITRES:
            level = Level.CRITICAL
        elif supply < YOUNG_MODERATE_BELOW_LITRES:
            level = Level.MODERATE
        else:
            level = Level.GOOD
        text = _(
            "Estimated: a young tree needs about 100 to 200 litres a month. In the last 30 days it got "
            "%(rain).0f mm of rain and %(litres)s litres from citizens."
        )
    else:
        level = Level.MODERATE if supply < OLD_MODERATE_BELOW_LITRES else Level.GOOD
        text = _(
            "Estimated: an established tree reaches ground water with its roots and only needs help after a dry "
            "month. In the last 30 days it got %(rain).0f mm of rain and %(litres)s litres from citizens."
        )
    return Need(level, "model", supply, rain, watered, age, str(text % facts))
