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
    span_x = max((max(lons) - min(lons)) * shrink, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
    off_x = (WIDTH - span_x * scale) / 2
    off_y = (HEIGHT - span_y * scale) / 2
    return [
        MapPoint(
            round(off_x + (i.longitude - min(lons)) * shrink * scale, 1),
            round(HEIGHT - off_y - (i.latitude - min(lats)) * scale, 1),
            i,
        )
        for i in items
    ]
