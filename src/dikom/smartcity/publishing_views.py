"""The open-data files of the smart-city datasets (``publishing.py``), served live for every city.

Public like the pages they come from; nothing personal is in them (see ``publishing``).
One view serves every file; ``FILES`` says, per URL name, where the file is,
which rows and columns it has, its download name and its format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from dikom.lib.spreadsheet_safety import csv_writer
from dikom.municipalities.models import Municipality
from dikom.smartcity import access, publishing


def _csv(filename: str, columns: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)  # names and streets come from staff and sensors: no formulas in spreadsheets
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return response


def _geojson(filename: str, columns: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    body = json.dumps(publishing.geojson(columns, list(rows)), ensure_ascii=False)
    response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


FORMATS: dict[str, Callable[[str, list[str], Iterable[list[Any]]], HttpResponse]] = {
    "csv": _csv,
    "geojson": _geojson,
}


@dataclass(frozen=True)
class OpenDataFile:
    path: str  # below /stadt/<city>/offene-daten/
    download_name: str  # "<name>-<city slug>.<format>"
    rows: Callable[[Municipality], Iterable[list[Any]]]
    columns: list[str]
    format: str  # a key of FORMATS

    def response(self, municipality: Municipality) -> HttpResponse:
        filename = f"{self.download_name}-{municipality.slug}.{self.format}"
        return FORMATS[self.format](filename, self.columns, self.rows(municipality))


SENSORS, TREES, WATERINGS, SITES = (
    publishing.SENSOR_COLUMNS,
    publishing.TREE_COLUMNS,
    publishing.WATERING_COLUMNS,
    publishing.SITE_COLUMNS,
)

FILES: dict[str, OpenDataFile] = {
    "open_data_sensors": OpenDataFile(
        "sensordaten-tageswerte.csv", "sensordaten-tageswerte", publishing.sensor_days, SENSORS, "csv"
    ),
    "open_data_trees_csv": OpenDataFile("strassenbaeume.csv", "strassenbaeume", publishing.tree_rows, TREES, "csv"),
    "open_data_trees_geojson": OpenDataFile(
        "strassenbaeume.geojson", "strassenbaeume", publishing.tree_rows, TREES, "geojson"
    ),
    "open_data_waterings": OpenDataFile(
        "giessprotokoll.csv", "giessprotokoll-tage", publishing.watering_rows, WATERINGS, "csv"
    ),
    "open_data_sites_csv": OpenDataFile("baustellen.csv", "baustellen", publishing.site_rows, SITES, "csv"),
    "open_data_sites_geojson": OpenDataFile("baustellen.geojson", "baustellen", publishing.site_rows, SITES, "geojson"),
}


@require_GET
def open_data_file(request: HttpRequest, city: str, file: str) -> HttpResponse:
    return FILES[file].response(access.get_city(city))


def urlpatterns() -> list[URLPattern]:
    """``/stadt/<city>/offene-daten/<file>`` for every entry of ``FILES``, named by its key."""
    return [
        path(f"<slug:city>/offene-daten/{entry.path}", open_data_file, {"file": name}, name=name)
        for name, entry in FILES.items()
    ]
