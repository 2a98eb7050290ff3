"""The open-data files of the smart-city datasets (``publishing.py``), served live for every city.

Public like the pages they come from; nothing personal is in them (see ``publishing``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dikom.lib.spreadsheet_safety import csv_writer
from dikom.smartcity import access, publishing


def _csv(filename: str, columns: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)  # names and streets come from staff and sensors: no formulas in spreadsheets
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return response


def _geojson(filename: str, columns: list[str], rows: list[list[Any]]) -> HttpResponse:
    body = json.dumps(publishing.geojson(columns, rows), ensure_ascii=False)
    response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_GET
def sensors_csv(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.sensor_days(municipality)
    return _csv(f"sensordaten-tageswerte-{municipality.slug}.csv", publishing.SENSOR_COLUMNS, rows)


@require_GET
def trees_csv(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.tree_rows(municipality)
    return _csv(f"strassenbaeume-{municipality.slug}.csv", publishing.TREE_COLUMNS, rows)


@require_GET
def trees_geojson(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.tree_rows(municipality)
    return _geojson(f"strassenbaeume-{municipality.slug}.geojson", publishing.TREE_COLUMNS, rows)


@require_GET
def waterings_csv(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.watering_rows(municipality)
    return _csv(f"giessprotokoll-tage-{municipality.slug}.csv", publishing.WATERING_COLUMNS, rows)


@require_GET
def sites_csv(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.site_rows(municipality)
    return _csv(f"baustellen-{municipality.slug}.csv", publishing.SITE_COLUMNS, rows)


@require_GET
def sites_geojson(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    rows = publishing.site_rows(municipality)
    return _geojson(f"baustellen-{municipality.slug}.geojson", publishing.SITE_COLUMNS, rows)
