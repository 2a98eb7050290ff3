"""The emptying round: the bins that need emptying in a short driving order.

The order is a heuristic for the travelling-salesman tour, good enough for a
few hundred bins and computed in the request: nearest neighbour from the
city's start point (``RouteStart``, a depot; the tour returns there), then
2-opt (reverse a stretch of the tour while that shortens it) until no
reversal helps or ``MAX_PASSES`` passes ran. Without a start point the round
is an open path that starts at the bin furthest from the bins' centre.
Distances are great-circle distances (haversine), not road distances; the
page says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
MAX_PASSES = 50


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Stop:
    item: Any
    #: From the previous stop (or the start point), metres.
    leg_m: float
    cumulative_m: float

    @property
    def cumulative_km(self) -> float:
        return self.cumulative_m / 1000


@dataclass(frozen=True)
class Route:
    stops: list[Stop]
    #: Back to the start point after the last stop (0 for an open path).
    return_m: float
    total_m: float


def tour_length(order: Sequence[int], dist: list[list[float]], closed: bool) -> float:
    total = sum(dist[order[i]][order[i + 1]] for i in range(len(order) - 1))
    return total + (dist[order[-1]][order[0]] if closed and len(order) > 1 else 0.0)


def _nearest_neighbour(n: int, dist: list[list[float]], first: int) -> list[int]:
    order, left = [first], set(range(n)) - {first}
    while left:
        here = order[-1]
        nxt = min(left, key=lambda j: (dist[here][j], j))
        order.append(nxt)
        left.remove(nxt)
    return order


def _two_opt(order: list[int], dist: list[list[float]], closed: bool) -> list[int]:
    """Reverse ``order[i:j+1]`` while that shortens the tour; position 0 (the start) stays put."""
    n = len(order)
    for _pass in range(MAX_PASSES):
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                a, b = order[i - 1], order[i]
                c = order[j]
                if j + 1 < n:
                    d: int | None = order[j + 1]
                elif closed:
                    d = order[0]
                else:
                    d = None
                before = dist[a][b] + (dist[c][d] if d is not None else 0.0)
                after = dist[a][c] + (dist[b][d] if d is not None else 0.0)
                if after < before - 1e-9:
                    order[i : j + 1] = reversed(order[i : j + 1])
                    improved = True
        if not improved:
            break
    return order


def plan(items: Sequence[Any], start: tuple[float, float] | None = None) -> Route:
    """The round through ``items`` (with ``longitude``/``latitude``), from and back to ``start`` (lon, lat)."""
    if not items:
        return Route([], 0.0, 0.0)
    points = [(i.longitude, i.latitude) for i in items]
    closed = start is not None
    if start is not None:
        points = [start, *points]
    n = len(points)
    dist = [[haversine_m(*points[i], *points[j]) for j in range(n)] for i in range(n)]
    if closed:
        first = 0
    else:
        centre = (sum(p[0] for p in points) / n, sum(p[1] for p in points) / n)
        first = max(range(n), key=lambda k: (haversine_m(*points[k], *centre), -k))
    order = _two_opt(_nearest_neighbour(n, dist, first), dist, closed)
    stops, cumulative, previous = [], 0.0, order[0]
    for k in order[1:] if closed else order:
        leg = dist[previous][k]  # 0 for the first bin of an open path
        cumulative += leg
        stops.append(Stop(items[k - 1] if closed else items[k], leg, cumulative))
        previous = k
    back = dist[order[-1]][order[0]] if closed and n > 1 else 0.0
    return Route(stops, back, cumulative + back)
