"""Fill levels of litter bins from their ultrasonic sensors.

A sensor reports the distance from the lid to the waste in cm, some a
percentage (unit symbol ``%``): fill = (depth − distance) / depth, clamped to
0–100 %. Readings older than ``MAX_AGE`` count as unknown. A bin needs
emptying from ``FULL_FROM`` percent, or from the city's own threshold for its
area or the single bin (``thresholds.py``); "soon" starts ``SOON_BELOW`` points
under that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from dikom.sensors import service as sensors
from dikom.smartcity.models import LitterBin
from dikom.smartcity.thresholds import DEFAULT_FULL_FROM_PERCENT, bin_limits_for

MAX_AGE = dt.timedelta(hours=48)
FULL_FROM = DEFAULT_FULL_FROM_PERCENT
SOON_BELOW = 20


@dataclass(frozen=True)
class Fill:
    percent: int
    measured_at: dt.datetime
    full_from: int = FULL_FROM
    #: The city's rule that set ``full_from`` in words, empty for the default.
    threshold_source: str = ""

    @property
    def needs_emptying(self) -> bool:
        return self.percent >= self.full_from

    @property
    def state(self) -> str:
        if self.needs_emptying:
            return "full"
        return "soon" if self.percent >= self.full_from - SOON_BELOW else "ok"


def fill_percent(value: float, unit_symbol: str, depth_cm: int) -> int:
    if unit_symbol.strip() == "%":
        return round(min(100.0, max(0.0, value)))
    percent = (depth_cm - value) / depth_cm * 100 if depth_cm else 0.0
    return round(min(100.0, max(0.0, percent)))


def fills_for(bins: Sequence[LitterBin], now: dt.datetime | None = None) -> dict[int, Fill]:
    now = now or timezone.now()
    readings = sensors.latest_readings(b.datastream_id for b in bins if b.datastream_id)
    limits = bin_limits_for(bins)
    out = {}
    for bin_ in bins:
        reading = readings.get(bin_.datastream_id or 0)
        if reading is None or now - reading.time > MAX_AGE:
            continue
        limit = limits[bin_.pk]
        out[bin_.pk] = Fill(
            fill_percent(reading.value, reading.unit_symbol, bin_.depth_cm), reading.time, limit.full_from, limit.source
        )
    return out
