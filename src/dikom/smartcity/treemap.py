"""The tree map for cities with 100 000+ trees: server-side clusters by zoom and grid, and the lists' order.

Nothing here computes a watering need per request: maps, counts, filters and
the list's order read the level stored by the periodic job
(``needs_refresh``). Trees that have none yet (just imported or created) get
it computed on first use (``ensure_levels``).

``clusters`` answers the Leaflet map's question "what is in this bounding box
at this zoom?": below ``TREES_FROM_ZOOM`` (and when more than ``MAX_TREES``
trees are in view) it groups the trees into grid cells of about
``CELL_PIXELS`` screen pixels with one ``GROUP BY`` (count per need level and
mean position per cell); closer in, it returns the single trees. The answer
never grows with the city, only with the screen: at most about
(screen width / cell) x (screen height / cell) clusters or ``MAX_TREES`` trees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Case, Count, F, IntegerField, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import Floor
from django.urls import reverse

from dikom.municipalities.models import Municipality
from dikom.smartcity.models import Tree
from dikom.smartcity.need import NEED_FIELDS, Level
from dikom.smartcity.needs_refresh import refresh_trees

CELL_PIXELS = 60
TREES_FROM_ZOOM = 17
MAX_TREES = 1500
MAX_ZOOM = 22
SVG_MAX_TREES = 400
SVG_GRID = 20
REFRESH_CHUNK = 2000

URGENCY = Case(
    When(need_level=Level.CRITICAL, then=Value(0)),
    When(need_level=Level.MODERATE, then=Value(1)),
    When(need_level=Level.GOOD, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


class BadRequest(Exception):
    """A malformed map request; ``message`` is German (UI language) for the JSON answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ensure_levels(city: Municipality) -> None:
    """Compute the stored need of trees that have none yet (bounded chunks; a no-op query otherwise)."""
    while True:
        missing = list(
            Tree.objects.filter(municipality=city, need_level="").only(*NEED_FIELDS).order_by("pk")[:REFRESH_CHUNK]
        )
        if not missing:
            return
        refresh_trees(missing)


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float


def parse_box(raw: str, zoom_raw: str) -> tuple[Box, int]:
    from django.utils.translation import gettext as _

    try:
        west, south, east, north = (float(part) for part in raw.split(","))
        zoom = int(zoom_raw)
    except ValueError:
        raise BadRequest(_("Give bbox=west,south,east,north (WGS 84 degrees) and zoom (a whole number).")) from None
    values = (west, south, east, north)
    if not all(math.isfinite(v) for v in values) or not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadRequest(_("The bounding box is not valid: west < east and south < north, in degrees."))
    if not 0 <= zoom <= MAX_ZOOM:
        raise BadRequest(_("The zoom must lie between 0 and %(max)d.") % {"max": MAX_ZOOM})
    return Box(west, south, east, north), zoom


def in_box(trees: QuerySet[Tree], box: Box) -> QuerySet[Tree]:
    return trees.filter(
        longitude__gte=box.west, longitude__lte=box.east, latitude__gte=box.south, latitude__lte=box.north
    )


def cell_degrees(zoom: int) -> float:
    """Width of a cell of ``CELL_PIXELS`` screen pixels at ``zoom`` (Web Mercator, 256-pixel tiles)."""
    return 360.0 / (2**zoom) * CELL_PIXELS / 256


def _grid(trees: QuerySet[Tree], cell: float) -> list[dict[str, Any]]:
    rows = (
        trees.annotate(gx=Floor(F("longitude") / cell), gy=Floor(F("latitude") / cell))
        .values("gx", "gy")
        .annotate(
            n=Count("pk"),
            lon=Avg("longitude"),
            lat=Avg("latitude"),
            critical=Count("pk", filter=Q(need_level=Level.CRITICAL)),
            moderate=Count("pk", filter=Q(need_level=Level.MODERATE)),
        )
        .order_by()
    )
    return [
        {
            "lon": round(row["lon"], 6),
            "lat": round(row["lat"], 6),
            "count": row["n"],
            "critical": row["critical"],
            "moderate": row["moderate"],
            "level": _cluster_level(row["n"], row["critical"], row["moderate"]),
        }
        for row in rows
    ]


def _cluster_level(count: int, critical: int, moderate: int) -> str:
    """A cluster is coloured by its most urgent tenth: critical if ≥ 10 % of its trees are, and so on."""
    if critical * 10 >= count and critical:
        return str(Level.CRITICAL)
    if (critical + moderate) * 10 >= count and moderate:
        return str(Level.MODERATE)
    return str(Level.GOOD)


def clusters(city: Municipality, trees: QuerySet[Tree], box: Box, zoom: int) -> dict[str, Any]:
    """The map's content for ``box`` at ``zoom``: ``{"clusters": [...]}`` or ``{"trees": [...]}``."""
    visible = in_box(trees, box)
    if zoom >= TREES_FROM_ZOOM or visible.count() <= MAX_TREES:
        rows = visible.order_by(URGENCY, "pk").values(
            "uuid", "number", "species", "longitude", "latitude", "need_level"
        )[:MAX_TREES]
        base = reverse("smartcity:trees", args=[city.slug])
        return {
            "trees": [
                {
                    "url": f"{base}{row['uuid']}/",
                    "name": f"{row['species']} {row['number']}",
                    "lon": row["longitude"],
                    "lat": row["latitude"],
                    "level": row["need_level"],
                }
                for row in rows
            ]
        }
    return {"clusters": _grid(visible, cell_degrees(zoom))}


@dataclass(frozen=True)
class SvgMark:
    longitude: float
    latitude: float
    level: str
    title: str
    count: int

    @property
    def radius(self) -> float:
        return 7.0 if self.count <= 1 else round(7.0 + min(14.0, 2 * math.log2(self.count)), 1)


def svg_marks(trees: QuerySet[Tree], total: int) -> list[SvgMark]:
    """What the map without JavaScript draws: each tree of a small selection, otherwise a grid of clusters."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    labels = {level.value: level.label for level in Level}
    if total <= SVG_MAX_TREES:
        return [
            SvgMark(
                r["longitude"],
                r["latitude"],
                r["need_level"],
                f"{r['species']} {r['number']} – {labels.get(r['need_level'], '')}",
                1,
            )
            for r in trees.values("longitude", "latitude", "need_level", "species", "number")
        ]
    bounds = trees.aggregate(west=Min("longitude"), east=Max("longitude"), south=Min("latitude"), north=Max("latitude"))
    span = max(bounds["east"] - bounds["west"], bounds["north"] - bounds["south"], 1e-6)
    marks = []
    for cell in _grid(trees, span / SVG_GRID):
        title = ngettext("%(n)d tree", "%(n)d trees", cell["count"]) % {"n": cell["count"]}
        if cell["critical"]:
            title += " – " + _("%(n)d need water now") % {"n": cell["critical"]}
        marks.append(SvgMark(cell["lon"], cell["lat"], cell["level"], title, cell["count"]))
    return marks


def extent(trees: QuerySet[Tree]) -> dict[str, float | None]:
    """West, south, east and north of ``trees`` (None each when there are none), for the map's first view."""
    return trees.aggregate(west=Min("longitude"), east=Max("longitude"), south=Min("latitude"), north=Max("latitude"))


OVERVIEW_SECONDS = 60


@dataclass(frozen=True)
class Overview:
    """What the list page draws around its list: the SVG marks, the trees' extent, the first clusters for Leaflet."""

    marks: list[SvgMark]
    extent: dict[str, float | None]
    #: Clusters of the whole selection (the SVG grid), drawn by Leaflet before its first ``karte.json`` answer;
    #: empty for small selections, which the map fetches as single trees.
    initial: list[dict[str, Any]]


def overview(trees: QuerySet[Tree], total: int, cache_key: str | None) -> Overview:
    """The page's map parts, kept ``OVERVIEW_SECONDS`` in the cache under ``cache_key`` (None: not cached).

    The stored need changes at most every refresh (15 minutes) or with a watering,
    so a minute's cache costs little freshness and spares the grid, the extent and
    the species list for every visitor of a large city.
    """
    from django.core.cache import cache

    if cache_key:
        found = cache.get(cache_key)
        if isinstance(found, Overview):
            return found
    marks = svg_marks(trees, total)
    bounds = extent(trees)
    initial = (
        [{"lon": m.longitude, "lat": m.latitude, "count": m.count, "level": m.level, "critical": 0} for m in marks]
        if total > SVG_MAX_TREES
        else []
    )
    result = Overview(marks, bounds, initial)
    if cache_key:
        cache.set(cache_key, result, OVERVIEW_SECONDS)
    return result
