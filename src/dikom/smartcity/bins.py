"""Fill levels of litter bins from their ultrasonic sensors.

A sensor reports the distance from the lid to the waste in cm, some a
percentage (unit symbol ``%``): fill = (depth − distance) / depth, clamped to
0–100 %. Readings older than ``MAX_AGE`` count as unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from dikom.sensors import service as sensors
from dikom.smartcity.models import LitterBin

MAX_AGE = dt.timedelta(hours=48)
FULL_FROM = 80
SOON_FROM = 60


@dataclass(frozen=True)
class Fill:
    percent: int
    measured_at: dt.datetime

    @property
    def state(self) -> str:
        return "full" if self.percent >= FULL_FROM else "soon" if self.percent >= SOON_FROM else "ok"


def fill_percent(value: float, unit_symbol: str, depth_cm: int) -> int:
    if unit_symbol.strip() == "%":
        return round(min(100.0, max(0.0, value)))
    percent = (depth_cm - value) / depth_cm * 100 if depth_cm else 0.0
    return round(min(100.0, max(0.0, percent)))


def fills_for(bins: Sequence[LitterBin], now: dt.datetime | None = None) -> dict[int, Fill]:
    now = now or timezone.now()
    readings = sensors.latest_readings(b.datastream_id for b in bins if b.datastream_id)
    out = {}
    for bin_ in bins:
        reading = readings.get(bin_.datastream_id or 0)
        if reading is None or now - reading.time > MAX_AGE:
            continue
        out[bin_.pk] = Fill(fill_percent(reading.value, reading.unit_symbol, bin_.depth_cm), reading.time)
    return out
