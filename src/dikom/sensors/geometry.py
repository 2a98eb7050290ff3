"""Planar geometry on GeoJSON for the spatial ``$filter`` functions, in pure Python.

Coordinates are compared as given (longitude/latitude in degrees, like a
PostGIS ``geometry`` in CRS84), so ``geo.distance`` answers in degrees, as
FROST-Server does. Supported: Point, LineString, Polygon (outer ring and
holes) and their Multi* forms, GeometryCollection, and GeoJSON Features.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

Point = tuple[float, float]
Segment = tuple[Point, Point]


class GeometryError(ValueError):
    pass


# --- WKT literals -------------------------------------------------------------------------------

_WKT_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
}


def parse_wkt(text: str) -> dict[str, Any]:
    """GeoJSON for a WKT literal such as ``POINT(8.4 49.0)`` or ``POLYGON((0 0, 1 0, 1 1, 0 0))``."""
    match = re.fullmatch(r"\s*(?:SRID=\d+;)?\s*([A-Za-z]+)\s*(\(.*\))\s*", text, re.S)
    if not match or match.group(1).upper() not in _WKT_TYPES:
        raise GeometryError(f"Not a supported WKT geometry: {text!r}")
    kind = _WKT_TYPES[match.group(1).upper()]
    body = match.group(2)
    try:
        nested = _parse_wkt_lists(body)
    except (ValueError, IndexError) as exc:
        raise GeometryError(f"Malformed WKT geometry: {text!r}") from exc
    coordinates: Any
    if kind == "Point":
        coordinates = nested[0]
    elif kind == "MultiPoint":
        coordinates = [p[0] if isinstance(p[0], list) else p for p in nested]
    else:
        coordinates = nested
    geometry = {"type": kind, "coordinates": coordinates}
    validate(geometry)
    return geometry


def _parse_wkt_lists(body: str) -> Any:
    stack: list[list[Any]] = [[]]
    token = ""
    for char in body:
        if char == "(":
            stack.append([])
        elif char in ",)":
            if token.strip():
                stack[-1].append([float(v) for v in token.split()][:2])
            token = ""
            if char == ")":
                done = stack.pop()
                stack[-1].append(done)
        else:
            token += char
    if len(stack) != 1 or token.strip():
        raise ValueError("unbalanced")
    # Unwrap the outer parenthesis: [[...]] -> [...]; a single point list [[x, y]] stays a list.
    result = stack[0][0]
    return result


# --- GeoJSON access ---------------------------------------------------------------------------


def geometry_of(value: Any) -> dict[str, Any] | None:
    """The geometry of a GeoJSON Geometry or Feature, or None."""
    if not isinstance(value, dict):
        return None
    if value.get("type") == "Feature":
        return geometry_of(value.get("geometry"))
    if value.get("type") in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"):
        return value
    if value.get("type") == "GeometryCollection":
        return value
    return None


def validate(geometry: dict[str, Any]) -> None:
    try:
        points = list(_points(geometry))
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise GeometryError("Malformed coordinates") from exc
    if not points or any(not (math.isfinite(x) and math.isfinite(y)) for x, y in points):
        raise GeometryError("Malformed coordinates")


def _pt(c: Any) -> Point:
    return (float(c[0]), float(c[1]))


def _parts(geometry: dict[str, Any]) -> list[dict[str, Any]]:
    kind = geometry["type"]
    coords = geometry.get("coordinates")
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _parts(g)]
    if kind.startswith("Multi"):
        return [{"type": kind[5:], "coordinates": c} for c in coords]  # type: ignore[union-attr]
    return [geometry]


def _points(geometry: dict[str, Any]) -> list[Point]:
    out: list[Point] = []
    for part in _parts(geometry):
        coords = part["coordinates"]
        if part["type"] == "Point":
            out.append(_pt(coords))
        elif part["type"] == "LineString":
            out.extend(_pt(c) for c in coords)
        elif part["type"] == "Polygon":
            out.extend(_pt(c) for ring in coords for c in ring)
        else:
            raise ValueError(part["type"])
    return out


def _segments(geometry: dict[str, Any]) -> list[Segment]:
    out: list[Segment] = []
    for part in _parts(geometry):
        rings = []
        if part["type"] == "LineString":
            rings = [part["coordinates"]]
        elif part["type"] == "Polygon":
            rings = part["coordinates"]
        for ring in rings:
            pts = [_pt(c) for c in ring]
            out.extend(itertools.pairwise(pts))
    return out


def _polygons(geometry: dict[str, Any]) -> list[list[list[Point]]]:
    return [[[_pt(c) for c in ring] for ring in p["coordinates"]] for p in _parts(geometry) if p["type"] == "Polygon"]


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    pts = _points(geometry)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


# --- predicates and measures ------------------------------------------------------------------


def _in_ring(p: Point, ring: list[Point]) -> bool:
    x, y = p
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=False):
        if (y1 > y) != (y2 > y):
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross:
                inside = not inside
    return inside


def _on_segment(p: Point, s: Segment) -> bool:
    return _point_segment_distance(p, s) < 1e-12


def _in_polygon(p: Point, polygon: list[list[Point]]) -> bool:
    """Inside or on the boundary of the polygon (outer ring minus holes)."""
    rings_segments = [list(zip(r, r[1:] + r[:1], strict=False)) for r in polygon]
    if any(_on_segment(p, s) for segs in rings_segments for s in segs):
        return True
    return _in_ring(p, polygon[0]) and not any(_in_ring(p, hole) for hole in polygon[1:])


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _segments_cross(s: Segment, t: Segment) -> bool:
    (a, b), (c, d) = s, t
    d1, d2, d3, d4 = _orient(c, d, a), _orient(c, d, b), _orient(a, b, c), _orient(a, b, d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return any(_on_segment(p, seg) for p, seg in ((a, t), (b, t), (c, s), (d, s)))


def _point_segment_distance(p: Point, s: Segment) -> float:
    (x1, y1), (x2, y2) = s
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(p[0] - x1, p[1] - y1)
    t = max(0.0, min(1.0, ((p[0] - x1) * dx + (p[1] - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(p[0] - (x1 + t * dx), p[1] - (y1 + t * dy))


def _covered_by(p: Point, g: dict[str, Any]) -> bool:
    if any(_in_polygon(p, poly) for poly in _polygons(g)):
        return True
    if any(_on_segment(p, s) for s in _segments(g)):
        return True
    return any(p == q for part in _parts(g) if part["type"] == "Point" for q in [_pt(part["coordinates"])])


def intersects(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if any(_covered_by(p, b) for p in _points(a)) or any(_covered_by(p, a) for p in _points(b)):
        return True
    segs_b = _segments(b)
    return any(_segments_cross(s, t) for s in _segments(a) for t in segs_b)


def within(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Every point of ``a`` lies in ``b`` and no edge of ``a`` leaves it (planar, boundary included)."""
    if not all(_covered_by(p, b) for p in _points(a)):
        return False
    polys = _polygons(b)
    if not polys:
        return True
    # An edge of a whose midpoint lies outside b leaves b (concave polygons, holes).
    for p, q in _segments(a):
        mid = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
        if not _covered_by(mid, b):
            return False
    return True


def equals(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return within(a, b) and within(b, a)


def distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    if intersects(a, b):
        return 0.0
    best = math.inf
    segs_a, segs_b = _segments(a), _segments(b)
    for p in _points(a):
        best = min(best, *(math.hypot(p[0] - q[0], p[1] - q[1]) for q in _points(b)))
        for s in segs_b:
            best = min(best, _point_segment_distance(p, s))
    for p in _points(b):
        for s in segs_a:
            best = min(best, _point_segment_distance(p, s))
    return best


def length(a: dict[str, Any]) -> float:
    return sum(math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in _segments(a))
