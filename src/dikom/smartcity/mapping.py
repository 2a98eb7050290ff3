"""A map without JavaScript: points projected into an SVG ``viewBox`` (plate carrée scaled by the latitude).

Good enough for a city's extent; the list beside it carries the same content.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 600
HEIGHT = 400
MARGIN = 16
MIN_SPAN = 0.002  # degrees, about 150-220 m


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    item: Any


def project(items: Sequence[Any]) -> list[MapPoint]:
    """Place ``items`` (with ``longitude``/``latitude``) inside the box, keeping the aspect ratio."""
    if not items:
        return []
    lons = [i.longitude for i in items]
    lats = [i.latitude for i in items]
    shrink = math.cos(math.radians(sum(lats) / len(lats)))
    # A single point (or points on one spot) sits in the middle of a small square of the city.
    span_lon = max(max(lons) - min(lons), MIN_SPAN)
    span_lat = max(max(lats) - min(lats), MIN_SPAN)
    west = (max(lons) + min(lons)) / 2 - span_lon / 2
    south = (max(lats) + min(lats)) / 2 - span_lat / 2
    scale = min((WIDTH - 2 * MARGIN) / (span_lon * shrink), (HEIGHT - 2 * MARGIN) / span_lat)
    off_x = (WIDTH - span_lon * shrink * scale) / 2
    off_y = (HEIGHT - span_lat * scale) / 2
    return [
        MapPoint(
            round(off_x + (i.longitude - west) * shrink * scale, 1),
            round(HEIGHT - off_y - (i.latitude - south) * scale, 1),
            i,
        )
        for i in items
    ]
