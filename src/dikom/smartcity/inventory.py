"""Reading a tree inventory (Baumkataster) file: CSV or GeoJSON → cleaned rows or rejections.

Pure functions, no database. Files come from city staff and from open data
portals, so everything is streamed and bounded: a CSV is read through the open
data portal's safe table reader (``;``/``,``/tab separators, UTF-8 or
Windows-1252, line and cell limits), a GeoJSON FeatureCollection is split into
its features one at a time (never loaded whole; one feature may hold at most
``MAX_FEATURE_CHARS``). A problem with the whole file raises ``Unreadable``
with a German message; a problem with one row yields a ``Rejected`` with the
row number, the tree number (if any) and a German reason.

Columns are recognised by their usual German and English names (case, spaces,
hyphens, underscores and umlauts do not matter), see ``ALIASES``. Coordinates
are WGS 84 longitude/latitude (decimal point or comma), a WKT ``POINT``, a
GeoJSON Point, or UTM zone 32 (ETRS89, EPSG:25832, as most German cadastres
publish them; also with the zone prefix ``32`` in the easting), converted to
WGS 84 here. Every tree must lie in Germany.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from dikom.opendata.service import TableUnreadable, read_csv_table

MAX_FEATURE_CHARS = 1024 * 1024
MAX_PREFIX_CHARS = 1024 * 1024
CHUNK_CHARS = 256 * 1024
MAX_NUMBER_CHARS = 40
# Germany with a margin (WGS 84 degrees).
LON_RANGE = (5.5, 15.6)
LAT_RANGE = (47.2, 55.1)

#: Normalised column name → field. The first listed alias that a file has wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "baumnummer",
        "baumnr",
        "baumid",
        "baumkatasternummer",
        "treeid",
        "gisid",
        "objektid",
        "objectid",
        "kennung",
        "nummer",
        "nr",
        "id",
    ),
    "species": (
        "artdeutsch",
        "artdtsch",
        "baumartdeutsch",
        "deutschername",
        "namedeutsch",
        "baumart",
        "art",
        "species",
    ),
    "species_latin": (
        "artbotanisch",
        "artbot",
        "artlatein",
        "botanischername",
        "lateinischername",
        "gattungart",
        "botname",
        "speciesbotanical",
        "scientificname",
    ),
    "planting_year": ("pflanzjahr", "pflanzungsjahr", "jahrderpflanzung", "pflanzdatum", "plantingyear", "planted"),
    "street": ("strasse", "strassenname", "strname", "standort", "lage", "street", "adresse"),
    "district": ("stadtteil", "ortsteil", "bezirk", "stadtbezirk", "district", "quartier"),
    "longitude": ("longitude", "lon", "lng", "laenge", "laengengrad", "geolaenge", "x"),
    "latitude": ("latitude", "lat", "breite", "breitengrad", "geobreite", "y"),
    "easting": ("rechtswert", "ostwert", "easting", "utmx", "utme"),
    "northing": ("hochwert", "nordwert", "northing", "utmy", "utmn"),
    "wkt": ("wkt", "geometrie", "geometry", "geom", "thegeom", "koordinaten"),
}


class Unreadable(Exception):
    """The file cannot be imported at all; ``message`` says why (German in the UI)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TreeRow:
    row: int
    number: str
    species: str
    species_latin: str
    planting_year: int | None
    street: str
    district: str
    longitude: float
    latitude: float


@dataclass(frozen=True)
class Rejected:
    row: int
    number: str
    message: str


def normalise(name: str) -> str:
    text = name.strip().lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    return re.sub(r"[^a-z0-9]", "", text)


def column_map(names: list[str]) -> dict[str, str]:
    """Field → the file's column (original spelling) for each field the file has."""
    return dict(_column_map(tuple(names)))


@functools.lru_cache(maxsize=256)
def _column_map(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    by_normal: dict[str, str] = {}
    for name in names:
        by_normal.setdefault(normalise(name), name)
    found: dict[str, str] = {}
    taken: set[str] = set()
    for field, aliases in ALIASES.items():
        for alias in aliases:
            if alias in by_normal and by_normal[alias] not in taken:
                found[field] = by_normal[alias]
                taken.add(by_normal[alias])
                break
    return tuple(found.items())


def _number(text: str) -> float | None:
    text = text.strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def utm32_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """ETRS89 / UTM zone 32N (EPSG:25832) → (longitude, latitude) in degrees (Snyder's series, < 1 m)."""
    k0, a, f = 0.9996, 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    x, y = easting - 500_000.0, northing
    mu = y / k0 / (a * (1 - e2 / 4 - 3 * e2**2 / 64 - 5 * e2**3 / 256))
    e1 = (1 - math.sqrt(1 - e2)) / (1 + math.sqrt(1 - e2))
    phi = (
        mu
        + (3 * e1 / 2 - 27 * e1**3 / 32) * math.sin(2 * mu)
        + (21 * e1**2 / 16 - 55 * e1**4 / 32) * math.sin(4 * mu)
        + (151 * e1**3 / 96) * math.sin(6 * mu)
        + (1097 * e1**4 / 512) * math.sin(8 * mu)
    )
    sin, cos, tan = math.sin(phi), math.cos(phi), math.tan(phi)
    n1 = a / math.sqrt(1 - e2 * sin**2)
    t1 = tan**2
    c1 = ep2 * cos**2
    r1 = a * (1 - e2) / (1 - e2 * sin**2) ** 1.5
    d = x / (n1 * k0)
    lat = phi - (n1 * tan / r1) * (
        d**2 / 2
        - (5 + 3 * t1 + 10 * c1 - 4 * c1**2 - 9 * ep2) * d**4 / 24
        + (61 + 90 * t1 + 298 * c1 + 45 * t1**2 - 252 * ep2 - 3 * c1**2) * d**6 / 720
    )
    lon = (
        d - (1 + 2 * t1 + c1) * d**3 / 6 + (5 - 2 * c1 + 28 * t1 - 3 * c1**2 + 8 * ep2 + 24 * t1**2) * d**5 / 120
    ) / cos
    return round(9.0 + math.degrees(lon), 7), round(math.degrees(lat), 7)


def _looks_utm(x: float, y: float) -> bool:
    return 100_000 <= x <= 900_000 and 5_200_000 <= y <= 6_200_000


def locate(x: float | None, y: float | None) -> tuple[float, float] | str:
    """(longitude, latitude) from a pair of coordinates, or a German reason why they are broken."""
    if x is None or y is None:
        return _("Coordinates are missing or not numbers.")
    if 32_000_000 <= x < 33_000_000:  # UTM easting with its zone prefix
        x -= 32_000_000
    if _looks_utm(x, y):
        x, y = utm32_to_wgs84(x, y)
    elif abs(x) > 180 or abs(y) > 90:
        return _("Coordinates are neither WGS 84 degrees nor UTM zone 32 (EPSG:25832).")
    if LAT_RANGE[0] <= x <= LAT_RANGE[1] and LON_RANGE[0] <= y <= LON_RANGE[1]:
        return _("Longitude and latitude seem to be swapped.")
    if not (LON_RANGE[0] <= x <= LON_RANGE[1] and LAT_RANGE[0] <= y <= LAT_RANGE[1]):
        return _("The location %(lon).5f, %(lat).5f lies outside Germany.") % {"lon": x, "lat": y}
    return round(x, 7), round(y, 7)


POINT = re.compile(r"^\s*POINT\s*Z?\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)(?:\s+[-+0-9.eE]+)?\s*\)\s*$", re.IGNORECASE)


def _planting_year(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})(?:\.0+)?|\d{1,2}\.\d{1,2}\.(\d{4})|(\d{4})-\d{2}-\d{2}(?:[T ].*)?", text)
    if not match:
        return _("The planting year “%(value)s” is not a year.") % {"value": text[:20]}
    year = int(next(g for g in match.groups() if g))
    if not 1500 <= year <= time.localtime().tm_year:
        return _("The planting year %(year)d is not plausible.") % {"year": year}
    return year


def clean(values: dict[str, Any], row: int, point: tuple[Any, Any] | None = None) -> TreeRow | Rejected:
    """One row (field → raw value, see ``ALIASES``) → a tree or the reason it is rejected."""

    def text(field: str, limit: int) -> str:
        value = values.get(field)
        return " ".join(str(value).split())[:limit] if value not in (None, "") else ""

    number = text("number", 200)
    if not number:
        return Rejected(row, "", _("The tree number is missing."))
    if len(number) > MAX_NUMBER_CHARS:
        return Rejected(row, number[:MAX_NUMBER_CHARS], _("The tree number is longer than 40 characters."))
    if point is not None:
        located = locate(_number(str(point[0])), _number(str(point[1])))
    elif values.get("wkt"):
        match = POINT.match(str(values["wkt"]))
        if not match:
            return Rejected(row, number, _("The geometry is not a point (WKT POINT expected)."))
        located = locate(_number(match.group(1)), _number(match.group(2)))
    elif values.get("easting") not in (None, "") or values.get("northing") not in (None, ""):
        located = locate(_number(str(values.get("easting", ""))), _number(str(values.get("northing", ""))))
    else:
        located = locate(_number(str(values.get("longitude", ""))), _number(str(values.get("latitude", ""))))
    if isinstance(located, str):
        return Rejected(row, number, located)
    year = _planting_year(text("planting_year", 40))
    if isinstance(year, str):
        return Rejected(row, number, year)
    species_latin = text("species_latin", 120)
    species = text("species", 120) or species_latin or _("unknown species")
    return TreeRow(
        row=row,
        number=number,
        species=species,
        species_latin=species_latin,
        planting_year=year,
        street=text("street", 200),
        district=text("district", 120),
        longitude=located[0],
        latitude=located[1],
    )


# --- files ---------------------------------------------------------------------------------------


def file_format(file_name: str) -> str | None:
    name = file_name.lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith((".csv", ".txt")):
        return "csv"
    return None


def count_rows(stream: IO[bytes], fmt: str) -> Iterator[None]:
    """One item per row or feature, without cleaning (the import's counting pass); same file-level errors."""
    if fmt == "geojson":
        for _feature in iter_features(stream):
            yield None
        return
    try:
        table = read_csv_table(stream)
        _check_columns(column_map(table.columns))
        for _cells in table.rows:
            yield None
    except TableUnreadable as error:
        raise Unreadable(error.message) from None


def read_rows(stream: IO[bytes], fmt: str) -> Iterator[TreeRow | Rejected]:
    """Every row of the file, cleaned; raises ``Unreadable`` for a file that cannot be read at all."""
    if fmt == "geojson":
        yield from _geojson_rows(stream)
    else:
        yield from _csv_rows(stream)


def _csv_rows(stream: IO[bytes]) -> Iterator[TreeRow | Rejected]:
    try:
        table = read_csv_table(stream)
        columns = column_map(table.columns)
        _check_columns(columns)
        index = {field: table.columns.index(name) for field, name in columns.items()}
        for number, cells in enumerate(table.rows, start=2):
            yield clean({field: cells[i] for field, i in index.items()}, number)
    except TableUnreadable as error:
        raise Unreadable(error.message) from None


def _check_columns(columns: dict[str, str]) -> None:
    if "number" not in columns:
        raise Unreadable(_("The file has no column for the tree number (e.g. “Baumnummer”, “Baum-Nr”, “id”)."))
    has_point = {"longitude", "latitude"} <= columns.keys() or {"easting", "northing"} <= columns.keys()
    if not has_point and "wkt" not in columns:
        raise Unreadable(
            _("The file has no coordinate columns (e.g. “lon”/“lat”, “Rechtswert”/“Hochwert” or “geometry”).")
        )


def _geojson_rows(stream: IO[bytes]) -> Iterator[TreeRow | Rejected]:
    for number, feature in enumerate(iter_features(stream), start=1):
        if not isinstance(feature, dict):
            yield Rejected(number, "", _("The entry is not a GeoJSON feature."))
            continue
        raw_properties = feature.get("properties")
        properties = raw_properties if isinstance(raw_properties, dict) else {}
        columns = column_map([str(k) for k in properties])
        values = {field: properties.get(name) for field, name in columns.items()}
        if not values.get("number") and feature.get("id") not in (None, ""):
            values["number"] = feature["id"]
        geometry = feature.get("geometry")
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind == "MultiPoint" and isinstance(coordinates, list) and len(coordinates) == 1:
            kind, coordinates = "Point", coordinates[0]
        if kind != "Point" or not isinstance(coordinates, list) or len(coordinates) < 2:
            name = str(values.get("number") or "")[:MAX_NUMBER_CHARS]
            yield Rejected(number, name, _("The feature has no point geometry."))
            continue
        yield clean(values, number, (coordinates[0], coordinates[1]))


def iter_features(stream: IO[bytes]) -> Iterator[Any]:
    """The features of a GeoJSON FeatureCollection, one at a time, with bounded memory."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    eof = False

    def more() -> bool:
        """Append the next chunk, dropping what was consumed; False at the end of the file."""
        nonlocal buffer, position, eof
        if eof:
            return False
        try:
            chunk = text.read(CHUNK_CHARS)
        except UnicodeDecodeError:
            raise Unreadable(_("A GeoJSON file must be UTF-8 encoded.")) from None
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    start = re.compile(r'"features"\s*:\s*\[')
    while True:
        match = start.search(buffer)
        if match:
            break
        if len(buffer) > MAX_PREFIX_CHARS or not more():
            raise Unreadable(_("The file is not a GeoJSON FeatureCollection (no “features” list found)."))
    position = match.end()
    count = 0
    while True:
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position < len(buffer) or not more():
                break
        if position >= len(buffer):
            raise Unreadable(_("The GeoJSON file ends in the middle of the feature list."))
        if buffer[position] == "]":
            return
        while True:
            try:
                feature, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError:
                if len(buffer) - position > MAX_FEATURE_CHARS or not more():
                    raise Unreadable(
                        _("Feature %(n)d is broken or larger than 1 MB; the GeoJSON file cannot be read.")
                        % {"n": count + 1}
                    ) from None
        count += 1
        position = end
        yield feature
