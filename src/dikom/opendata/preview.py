"""Previews of uploaded distributions on the dataset page: the first rows of a CSV, XLSX or JSON file as a table,
a line chart for time series and a map for GeoJSON and point data (``preview_media``).

Safe by construction: only files stored here are read (a linked file is never
fetched for a preview), at most ``MAX_PREVIEW_BYTES`` of them, through the
bounded readers of ``tabular``; nothing is evaluated (a cell ``=HYPERLINK(…)``
is shown as that text, HTML in a cell is escaped by the template). A preview is
cached by the file's checksum, so a popular dataset page reads its files once.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _

from dikom.lib.jsonparse import loads_limited
from dikom.opendata import preview_media, tabular
from dikom.opendata.models import Resource

PREVIEW_ROWS = 20
PREVIEW_COLUMNS = 30
PREVIEW_CELL_CHARS = 200
MAX_PREVIEW_BYTES = 2 * 1024 * 1024
MAX_XLSX_PREVIEW_BYTES = 20 * 1024 * 1024
TABLE_FORMATS = {"CSV", "TSV", "XLSX"}
JSON_FORMATS = {"JSON", "GEOJSON"}
MEDIA_ROWS = max(preview_media.CHART_ROWS, preview_media.MAX_MAP_FEATURES)
CACHE_SECONDS = 24 * 3600


@dataclass
class Preview:
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    more_rows: bool = False
    hidden_columns: int = 0
    message: str = ""  # why there is no table (translated)
    chart: preview_media.Chart | None = None  # time series: an SVG line chart
    map: preview_media.MapData | None = None  # GeoJSON or lat/lon points: a Leaflet map with a list
    map_message: str = ""  # why a geodata file has no map (translated)


def supports(resource: Resource) -> bool:
    return bool(resource.upload) and resource.format.upper() in TABLE_FORMATS | JSON_FORMATS


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"


def _limited(columns: list[str], rows: list[list[Any]], more: bool) -> Preview:
    hidden = max(0, len(columns) - PREVIEW_COLUMNS)
    return Preview(
        columns=[_cell(c) for c in columns[:PREVIEW_COLUMNS]],
        rows=[[_cell(c) for c in row[:PREVIEW_COLUMNS]] for row in rows],
        more_rows=more,
        hidden_columns=hidden,
    )


def _table_preview(data: io.BytesIO, file_format: str, truncated: bool, title: str = "") -> Preview:
    table = tabular.read_table(data, file_format)
    rows: list[list[Any]] = []
    more = False
    # The table shows PREVIEW_ROWS rows; the chart and the map use up to MEDIA_ROWS.
    try:
        for row in table.rows:
            if len(rows) == MEDIA_ROWS:
                more = True
                break
            rows.append(row)
    except tabular.Unreadable:
        if not rows or not truncated:
            raise
        more = True  # the cut-off end of a large file
    if truncated and len(rows) < MEDIA_ROWS and rows:
        rows.pop()  # read up to the cut: the last row may be cut in the middle
    preview = _limited(table.columns, rows[:PREVIEW_ROWS], more or truncated or len(rows) > PREVIEW_ROWS)
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    preview.chart = preview_media.chart(table.columns, cells[: preview_media.CHART_ROWS], title)
    preview.map = preview_media.points_map(table.columns, cells)
    return preview


def _json_preview(data: bytes) -> Preview:
    try:
        document = loads_limited(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return Preview(message=_("The file is not valid JSON."))
    items: Any = None
    geodata = isinstance(document, dict) and document.get("type") == "FeatureCollection"
    if geodata:
        features: Any = document.get("features")
        items = []
        for feature in features[: PREVIEW_ROWS + 1] if isinstance(features, list) else []:
            if not isinstance(feature, dict):
                continue
            properties: dict[str, Any] = feature.get("properties") or {}
            geometry: dict[str, Any] = feature.get("geometry") or {}
            if not isinstance(properties, dict) or not isinstance(geometry, dict):
                continue
            items.append(
                {**properties, _("geometry"): geometry.get("type", ""), _("coordinates"): geometry.get("coordinates")}
            )
    elif isinstance(document, list):
        items = document[: PREVIEW_ROWS + 1]
    elif isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list) and value]
        items = lists[0][: PREVIEW_ROWS + 1] if len(lists) == 1 else None
    place_map = preview_media.geojson_map(document) if geodata else None
    map_message = _("No map: the file contains no usable geometries.") if geodata and place_map is None else ""
    if not items or not all(isinstance(item, dict) for item in items):
        message = _("The JSON file holds no list of records to show as a table.")
        return Preview(message=message, map=place_map, map_message=map_message)
    columns: list[str] = []
    for item in items:
        for key in item:
            if key not in columns and len(columns) < tabular.MAX_COLUMNS:
                columns.append(str(key))
    rows = [[item.get(column) for column in columns] for item in items[:PREVIEW_ROWS]]
    preview = _limited(columns, rows, len(items) > PREVIEW_ROWS)
    preview.map, preview.map_message = place_map, map_message
    return preview


def build(resource: Resource) -> Preview | None:
    """The preview of ``resource``, or None when its format has none or it is a link."""
    if not supports(resource):
        return None
    key = f"opendata:preview:v2:{resource.pk}:{resource.checksum or resource.updated_at.isoformat()}"
    cached = cache.get(key)
    if isinstance(cached, Preview):
        return cached
    preview = _build(resource)
    cache.set(key, preview, CACHE_SECONDS)
    return preview


def _build(resource: Resource) -> Preview:
    file_format = resource.format.upper()
    limit = MAX_XLSX_PREVIEW_BYTES if file_format == "XLSX" else MAX_PREVIEW_BYTES
    try:
        with resource.upload.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return Preview(message=_("The file cannot be read at the moment."))
    truncated = len(data) > limit
    if file_format in JSON_FORMATS:
        if truncated:
            return Preview(message=_("The file is too large for a preview; please download it."))
        return _json_preview(data)
    if file_format == "XLSX" and truncated:
        return Preview(message=_("The file is too large for a preview; please download it."))
    try:
        return _table_preview(io.BytesIO(data[:limit]), file_format, truncated, resource.name or resource.format)
    except tabular.Unreadable as error:
        return Preview(message=error.message)
