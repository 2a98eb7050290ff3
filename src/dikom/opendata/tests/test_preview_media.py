"""Chart and map previews: a time series becomes an SVG line chart with its values as a table, GeoJSON and
lat/lon tables become a Leaflet map (vendored, no CDN) with a list of the places; bad files keep their download."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client

from dikom.opendata import actions
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def page_with(client: Client, org, content: bytes, filename: str) -> str:
    dataset = make_dataset(org, "datei", "Datei", resources=[])
    actions.create_resource(dataset, {"name": "Messwerte"}, upload=io.BytesIO(content), filename=filename)
    return client.get("/opendata/datensaetze/datei/").content.decode()


def test_a_time_series_is_a_chart_with_its_values_as_text(client: Client, org_a) -> None:
    lines = ["Datum;Temperatur;Niederschlag;Station"]
    lines += [f"{day:02d}.03.2026;{day},5;{day % 4};Fulda-Horas" for day in range(1, 29)]
    html = page_with(client, org_a, "\r\n".join(lines).encode("cp1252"), "wetter.csv")
    svg = html.split('<svg viewBox="0 0 640 320" role="img"', 1)[1].split("</svg>", 1)[0]
    assert "<title" in svg and "Diagramm von Messwerte" in svg
    assert "Temperatur, Niederschlag über Datum, 28 Werte" in svg
    lines_drawn = re.findall(r'<polyline class="opendata-chart__line [^"]+" points="([^"]+)"', svg)
    assert len(lines_drawn) == 2
    temperature = [tuple(map(float, p.split(","))) for p in lines_drawn[0].split()]
    assert len(temperature) == 28
    # Rising temperatures: x grows left to right, y falls (SVG y points down).
    assert temperature[0][0] < temperature[-1][0] and temperature[0][1] > temperature[-1][1]
    # The text alternative: every plotted value in a table, German numbers.
    values = html.split("Werte des Diagramms als Tabelle", 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">01.03.2026</th><td>1,50</td><td>1</td>' in values
    assert values.count('<th scope="row">') == 28
    # Works without JavaScript: no script is needed for the chart, and no map script is loaded.
    assert "leaflet.js" not in html


def test_geojson_is_a_leaflet_map_with_a_list(client: Client, org_a) -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [9.68 + n / 100, 50.55]},
                "properties": {"name": f"Brunnen {n}", "html": "<img src=x onerror=alert(1)>"},
            }
            for n in range(3)
        ]
        + [{"type": "Feature", "geometry": None, "properties": {"name": "ohne Ort"}}],
    }
    html = page_with(client, org_a, json.dumps(document).encode(), "brunnen.geojson")
    assert "/static/dikom/vendor/leaflet/leaflet.js" in html and "/static/opendata/preview-map.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower().replace("cdnjs", "")
    assert finders.find("dikom/vendor/leaflet/leaflet.js") and finders.find("opendata/preview-map.js")
    data = re.search(r'<script id="map-data-[^"]+" type="application/json">(.*?)</script>', html, re.S)
    assert data
    features = json.loads(data.group(1))["features"]
    assert [f["properties"]["name"] for f in features] == ["Brunnen 0", "Brunnen 1", "Brunnen 2"]
    assert "<img src=x" not in data.group(1)  # escaped inside the JSON block
    assert "<li>Brunnen 0 (Point)</li>" in html  # the list alternative
    assert 'class="opendata-map"' in html and "hidden" in html.split('class="opendata-map"', 1)[1][:300]


def test_a_table_with_coordinates_is_a_map(client: Client, org_a) -> None:
    lines = ["Name;Breite;Länge"] + [f"Baum {n};50,55{n};9,68{n}" for n in range(5)]
    html = page_with(client, org_a, "\n".join(lines).encode("utf-8"), "baeume.csv")
    data = re.search(r'<script id="map-data-[^"]+" type="application/json">(.*?)</script>', html, re.S)
    assert data
    coordinates = [f["geometry"]["coordinates"] for f in json.loads(data.group(1))["features"]]
    assert coordinates[0] == [9.680, 50.550] and len(coordinates) == 5
    assert "<li>Baum 0 (50.55000, 9.68000)</li>" in html


def test_geodata_without_geometries_says_why_and_keeps_the_download(client: Client, org_a) -> None:
    document = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Blob"}}]}
    html = page_with(client, org_a, json.dumps(document).encode(), "kaputt.geojson")
    assert "Keine Karte: Die Datei enthält keine verwendbaren Geometrien." in html
    assert "leaflet.js" not in html and "Herunterladen" in html
