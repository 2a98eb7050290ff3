"""Chart and map previews of a distribution, built on the server so they work without JavaScript.

- **Chart**: a table with a date or time column and numeric columns (time series)
  becomes an SVG line chart (one line per numeric column, at most ``MAX_SERIES``,
  from the first ``CHART_ROWS`` rows). The SVG has a title and description; its
  text alternative is the table of the plotted values under it.
- **Map**: a GeoJSON FeatureCollection, or a table with latitude/longitude columns
  (``lat``/``latitude``/``breite``, ``lon``/``lng``/``longitude``/``laenge``), becomes
  GeoJSON for a Leaflet map (vendored under ``web/static/dikom/vendor/leaflet``, no
  CDN, no third-party tiles: the page's Content-Security-Policy allows only this
  site). Without JavaScript the map stays hidden and the list of places is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dikom.opendata import datastore

CHART_ROWS = 500
MAX_SERIES = 4
MAX_MAP_FEATURES = 1000
MAX_LIST_ITEMS = 50
WIDTH = 640
HEIGHT = 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
LAT_NAMES = {"lat", "latitude", "breite", "breitengrad", "y_wgs84", "geo_lat"}
LON_NAMES = {"lon", "lng", "long", "longitude", "laenge", "länge", "laengengrad", "längengrad", "x_wgs84", "geo_lon"}


@dataclass
class Series:
    name: str
    points: str  # SVG polyline "x,y x,y …"
    css: str


@dataclass
class Chart:
    title: str
    time_column: str
    columns: list[str]
    rows: list[list[str]]  # the plotted values, the chart's text alternative
    series: list[Series]
    y_ticks: list[tuple[float, str]] = field(default_factory=list)  # (y position, label)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT


@dataclass
class MapData:
    geojson: dict[str, Any]
    items: list[str]  # the list alternative: one line per place
    more: int = 0  # places not in the list


def _moment(text: str, kind: str) -> datetime | None:
    value = datastore.convert_text(text, kind)
    if value is None:
        return None
    try:
        moment = (
            datetime.fromisoformat(value)
            if kind == "timestamp"
            else datetime.combine(date.fromisoformat(value), datetime.min.time())
        )
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _nice_label(value: float) -> str:
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def chart(columns: list[str], rows: list[list[str]], title: str) -> Chart | None:
    """A line chart when the rows are a time series (a date/time column and numeric columns), else None."""
    if len(rows) < 2:
        return None
    guesses = [datastore.ColumnGuess() for _ in columns]
    for row in rows:
        for guess, cell in zip(guesses, row, strict=False):
            guess.add(cell or "")
    kinds = [g.result(prefer_german=True) for g in guesses]
    time_index = next((i for i, k in enumerate(kinds) if k in ("date", "timestamp")), None)
    numeric = [i for i, k in enumerate(kinds) if k == "int" or k.startswith("numeric")][:MAX_SERIES]
    if time_index is None or not numeric:
        return None
    points: list[tuple[datetime, list[float | None]]] = []
    for row in rows:
        if time_index >= len(row):
            continue
        moment = _moment(row[time_index], kinds[time_index])
        if moment is None:
            continue
        values: list[float | None] = []
        for i in numeric:
            value = datastore.convert_text(row[i], kinds[i]) if i < len(row) else None
            values.append(float(value) if value is not None and math.isfinite(float(value)) else None)
        points.append((moment, values))
    points.sort(key=lambda p: p[0])
    found = [v for _m, vs in points for v in vs if v is not None]
    if len(points) < 2 or not found or points[0][0] == points[-1][0]:
        return None
    low, high = min(found), max(found)
    if low == high:
        low, high = low - 1, high + 1
    start, end = points[0][0], points[-1][0]
    span = (end - start).total_seconds()
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() / span * inner_w, 1)

    def y(value: float) -> float:
        return round(TOP + (high - value) / (high - low) * inner_h, 1)

    series = []
    for number, i in enumerate(numeric):
        coords = " ".join(f"{x(m)},{y(v)}" for m, vs in points if (v := vs[number]) is not None)
        series.append(Series(name=columns[i], points=coords, css=f"opendata-chart__line--{number + 1}"))
    fmt = "%d.%m.%Y" if kinds[time_index] == "date" else "%d.%m.%Y %H:%M"
    middle = start + (end - start) / 2
    return Chart(
        title=title,
        time_column=columns[time_index],
        columns=[columns[time_index], *[columns[i] for i in numeric]],
        rows=[[m.strftime(fmt), *["" if v is None else _nice_label(v) for v in vs]] for m, vs in points],
        series=series,
        y_ticks=[(y(low + (high - low) * k / 4), _nice_label(low + (high - low) * k / 4)) for k in range(5)],
        x_ticks=[(x(m), m.strftime(fmt)) for m in (start, middle, end)],
    )


def _coordinate(text: Any, low: float, high: float) -> float | None:
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def points_map(columns: list[str], rows: list[list[str]]) -> MapData | None:
    """Point features from a table with latitude and longitude columns, else None."""
    lowered = [c.strip().lower() for c in columns]
    lat = next((i for i, c in enumerate(lowered) if c in LAT_NAMES), None)
    lon = next((i for i, c in enumerate(lowered) if c in LON_NAMES), None)
    if lat is None or lon is None:
        return None
    label_index = next((i for i in range(len(columns)) if i not in (lat, lon)), None)
    features = []
    items = []
    for row in rows[:MAX_MAP_FEATURES]:
        if max(lat, lon) >= len(row):
            continue
        la, lo = _coordinate(row[lat], -90, 90), _coordinate(row[lon], -180, 180)
        if la is None or lo is None:
            continue
        label = row[label_index] if label_index is not None and label_index < len(row) else ""
        properties = {columns[i]: row[i] for i in range(min(len(columns), len(row))) if i not in (lat, lon)}
        features.append(
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lo, la]}, "properties": properties}
        )
        items.append(f"{label} ({la:.5f}, {lo:.5f})".strip())
    if not features:
        return None
    return MapData(
        geojson={"type": "FeatureCollection", "features": features},
        items=items[:MAX_LIST_ITEMS],
        more=max(0, len(items) - MAX_LIST_ITEMS),
    )


GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _valid_geometry(geometry: Any) -> bool:
    return (
        isinstance(geometry, dict)
        and geometry.get("type") in GEOMETRY_TYPES
        and isinstance(geometry.get("coordinates"), list)
    )


def geojson_map(document: Any) -> MapData | None:
    """The features of a GeoJSON FeatureCollection with usable geometries (at most MAX_MAP_FEATURES), else None."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return None
    raw = document.get("features")
    features: list[dict[str, Any]] = []
    items: list[str] = []
    for feature in raw if isinstance(raw, list) else []:
        if len(features) == MAX_MAP_FEATURES:
            break
        if not isinstance(feature, dict) or not _valid_geometry(feature.get("geometry")):
            continue
        given = feature.get("properties")
        properties: dict[str, Any] = given if isinstance(given, dict) else {}
        # Only plain values travel to the browser (shown as text, never as HTML).
        clean = {
            str(k)[:100]: str(v)[:200] for k, v in list(properties.items())[:20] if not isinstance(v, (dict, list))
        }
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": clean})
        label = next(iter(clean.values()), "") if clean else ""
        items.append(f"{label} ({feature['geometry']['type']})".strip())
    if not features:
        return None
    return MapData(
        geojson={"type": "FeatureCollection", "features": features},
        items=items[:MAX_LIST_ITEMS],
        more=max(0, len(items) - MAX_LIST_ITEMS),
    )
