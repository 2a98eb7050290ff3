"""Demo datasets of the founding cities (generated, labelled as demo; idempotent)."""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass

from django.db import transaction

from dikom.municipalities.models import Municipality
from dikom.opendata import actions
from dikom.opendata.models import Dataset


@dataclass
class DemoOpenDataResult:
    created: int = 0


STREETS = ["Bahnhofstraße", "Schloßstraße", "Am Mühlgraben", "Königsweg", "Lindenallee", "Marktplatz"]
SPECIES = ["Stieleiche", "Winterlinde", "Bergahorn", "Rotbuche", "Platane", "Hainbuche"]


def _tree_csv(rng: random.Random, ags: str) -> bytes:
    """Semicolon CSV in Windows-1252 with decimal commas, as many German portals publish it."""
    lines = ["Baum-Nr;Art;Straße;Pflanzjahr;Stammumfang (cm);Breite;Länge"]
    for number in range(1, 41):
        lat = 50.55 + rng.random() / 20
        lon = 8.65 + rng.random() / 20
        lines.append(
            f"{ags[-3:]}-{number:04d};{rng.choice(SPECIES)};{rng.choice(STREETS)};{rng.randint(1950, 2022)};"
            f"{rng.randint(40, 380)};{lat:.5f};{lon:.5f}".replace(".", ",")
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _playgrounds_geojson(rng: random.Random, name: str) -> bytes:
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(8.6 + rng.random() / 10, 5), round(50.5 + rng.random() / 10, 5)],
            },
            "properties": {"name": f"Spielplatz {street}", "stadt": name},
        }
        for street in STREETS
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")


def _datasets(municipality: Municipality) -> list[tuple[dict, list[tuple[str, bytes]]]]:
    rng = random.Random(municipality.ags)  # noqa: S311 (demo data, not security)
    slug = municipality.slug
    name = municipality.name
    contact = {"maintainer": f"Open-Data-Team {name}", "maintainer_email": f"opendata@{slug}.example"}
    demo_note = "\n\n*Demo-Daten: erfunden und automatisch erzeugt.*"
    return [
        (
            {
                "name": f"{slug}-baumkataster",
                "title": f"Baumkataster {name}",
                "notes": f"Die Bäume im Stadtgebiet von {name} mit Art, Standort, Pflanzjahr und Stammumfang.{demo_note}",
                "license_id": "dl-by-de/2.0",
                "tags": [{"name": "Bäume"}, {"name": "Umwelt"}, {"name": "Stadtgrün"}],
                "groups": [{"name": "envi"}],
                "extras": [
                    {"key": "frequency", "value": "ANNUAL"},
                    {"key": "temporal_start", "value": "2020-01-01"},
                ],
                **contact,
            },
            [("baumkataster.csv", _tree_csv(rng, municipality.ags))],
        ),
        (
            {
                "name": f"{slug}-spielplaetze",
                "title": f"Spielplätze in {name}",
                "notes": f"Standorte der öffentlichen Spielplätze in {name} als GeoJSON.{demo_note}",
                "license_id": "dl-zero-de/2.0",
                "tags": [{"name": "Spielplätze"}, {"name": "Freizeit"}],
                "groups": [{"name": "soci"}, {"name": "regi"}],
                "extras": [{"key": "frequency", "value": "IRREG"}],
                **contact,
            },
            [("spielplaetze.geojson", _playgrounds_geojson(rng, name))],
        ),
        (
            {
                "name": f"{slug}-haushaltsplan",
                "title": f"Haushaltsplan {name} 2026",
                "notes": f"Der Haushaltsplan der Stadt {name} (Ergebnis- und Finanzhaushalt).{demo_note}",
                "license_id": "cc-by/4.0",
                "tags": [{"name": "Haushalt"}, {"name": "Finanzen"}],
                "groups": [{"name": "gove"}, {"name": "econ"}],
                "extras": [{"key": "frequency", "value": "ANNUAL"}],
                "resources": [
                    {
                        "name": "Haushaltsplan (Webseite der Stadt)",
                        "url": f"https://www.{slug}.example/haushalt",
                        "format": "HTML",
                    }
                ],
                **contact,
            },
            [],
        ),
    ]


@transaction.atomic
def load_demo_opendata() -> DemoOpenDataResult:
    """A few datasets per founding demo city; nothing happens when they exist."""
    result = DemoOpenDataResult()
    cities = Municipality.objects.filter(is_demo=True, membership=Municipality.Membership.FOUNDING).order_by("name")
    for municipality in cities:
        organization = actions.organization_for_municipality(municipality)
        for metadata, files in _datasets(municipality):
            if Dataset.objects.filter(name=metadata["name"]).exists():
                continue
            dataset = actions.create_dataset(organization, metadata, actor="demo", demo=True)
            for filename, content in files:
                actions.create_resource(
                    dataset, {"name": filename}, upload=io.BytesIO(content), filename=filename, actor="demo"
                )
            result.created += 1
    return result
