"""The smart-city data appears as open datasets of the city that has it: found by package_search, in the
DCAT-AP.de catalogue (valid against the official shapes), refreshed by the periodic job, and without anything
that points to a person."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from dikom.accounts.tests.factories import UserFactory
from dikom.lib import periodic
from dikom.opendata.models import Dataset
from dikom.opendata.tests.test_dcat import validate
from dikom.smartcity import publishing
from dikom.smartcity.models import ConstructionSite, Watering
from dikom.smartcity.tests.factories import make_tree, probe_thing

pytestmark = pytest.mark.django_db


def _water(tree: Any, user: Any, when: dt.datetime, litres: int = 40) -> None:
    Watering.objects.create(tree=tree, user=user, litres=litres, watered_at=when, request_key=uuid.uuid4())


@pytest.fixture
def city_data(city_a: Any) -> dict[str, Any]:
    now = timezone.now()
    yesterday = now - dt.timedelta(days=1)
    trees = [make_tree(city_a, "B-1", street="Lindenallee"), make_tree(city_a, "B-2", street="Lindenallee")]
    lonely = make_tree(city_a, "B-3", street="Einsamer Weg")
    people = [UserFactory(username=f"giesser{n}", email=f"giesser{n}@example.org") for n in range(3)]
    for n, person in enumerate(people):
        _water(trees[n % 2], person, yesterday.replace(hour=7, minute=13 + n))
    _water(lonely, people[0], yesterday.replace(hour=6, minute=2), litres=77)  # one person alone on this street
    ConstructionSite.objects.create(
        municipality=city_a,
        title="Kanalarbeiten",
        street="Petersberger Straße",
        restriction="halbseitig gesperrt",
        starts_on=now.date(),
        ends_on=now.date() + dt.timedelta(days=30),
        longitude=9.69,
        latitude=50.56,
    )
    day_before = (now - dt.timedelta(days=2)).replace(hour=12)
    probe_thing(city_a, [(day_before, 20.0), (day_before + dt.timedelta(hours=1), 40.0), (yesterday, 55.0)])
    return {"people": people}


def test_the_four_datasets_are_published_found_and_valid(client: Client, city_a, city_b, city_data) -> None:
    publishing.refresh_all()
    names = {
        f"{city_a.slug}-sensordaten-tageswerte",
        f"{city_a.slug}-strassenbaeume-wasserbedarf",
        f"{city_a.slug}-giessprotokoll",
        f"{city_a.slug}-baustellen",
    }
    assert set(Dataset.objects.filter(state="published").values_list("name", flat=True)) == names
    # Only the city with data publishes; the other city has no such datasets.
    assert not Dataset.objects.filter(organization__municipality=city_b).exists()

    found = client.get("/api/3/action/package_search", {"q": "Gießprotokoll", "rows": 50}).json()["result"]
    assert [d["name"] for d in found["results"]] == [f"{city_a.slug}-giessprotokoll"]
    by_org = client.get("/api/3/action/package_search", {"fq": f"organization:{city_a.slug}"}).json()["result"]
    assert by_org["count"] == 4

    graph = Graph()
    graph.parse(data=client.get("/catalog.ttl").content.decode(), format="turtle")
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == 4
    conforms, text = validate(graph)
    assert conforms, text


def test_the_files_hold_the_data_and_nothing_personal(client: Client, city_a, city_data) -> None:
    publishing.refresh_all()
    files = {}
    for dataset in Dataset.objects.filter(state="published").prefetch_related("resources"):
        for resource in dataset.resources.all():
            response = client.get(resource.url.replace("http://testserver", ""))
            assert response.status_code == 200, resource.url
            files[resource.url.rsplit("/", 1)[1]] = response.content.decode()

    log = list(csv.reader(io.StringIO(files["giessprotokoll.csv"])))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert log == [
        ["day", "street", "trees", "waterings", "litres"],
        [yesterday.isoformat(), "Lindenallee", "2", "3", "120"],
    ]  # the single person on "Einsamer Weg" is left out
    trees = json.loads(files["strassenbaeume.geojson"])
    assert [f["properties"]["tree_number"] for f in trees["features"]] == ["B-1", "B-2", "B-3"]
    assert {f["properties"]["need"] for f in trees["features"]} <= {"good", "moderate", "critical"}
    sensor_rows = list(csv.DictReader(io.StringIO(files["sensordaten-tageswerte.csv"])))
    assert [(r["count"], r["minimum"], r["mean"], r["maximum"]) for r in sensor_rows] == [
        ("2", "20.0", "30.0", "40.0"),
        ("1", "55.0", "55.0", "55.0"),
    ]
    assert "Kanalarbeiten" in files["baustellen.csv"] and "Kanalarbeiten" in files["baustellen.geojson"]

    everything = "\n".join(files.values()) + json.dumps(
        [client.get("/api/3/action/package_show", {"id": d.name}).json() for d in Dataset.objects.all()]
    )
    for person in city_data["people"]:
        assert person.username not in everything and person.email not in everything
        assert f'"{person.pk}"' not in files["giessprotokoll.csv"]
    # No time of day of a watering anywhere (07:13 … 07:15, 06:02).
    for minute in ("07:13", "07:14", "07:15", "06:02", "T07", "T06"):
        assert minute not in files["giessprotokoll.csv"]


def test_the_periodic_job_updates_only_on_new_data_and_withdraws(city_a, city_data) -> None:
    assert "smartcity.open_data" in periodic.JOBS
    publishing.refresh_open_data.call()
    sites = Dataset.objects.get(name=f"{city_a.slug}-baustellen")
    revisions = sites.revisions.count()
    publishing.refresh_all()
    assert sites.revisions.count() == revisions  # unchanged data: nothing written
    ConstructionSite.objects.create(
        municipality=city_a,
        title="Fernwärme",
        street="Bahnhofstraße",
        starts_on=timezone.localdate() - dt.timedelta(days=3),
        ends_on=timezone.localdate() + dt.timedelta(days=3),
        longitude=9.68,
        latitude=50.55,
    )
    publishing.refresh_all()
    assert sites.revisions.count() == revisions + 1
    ConstructionSite.objects.filter(municipality=city_a).delete()
    publishing.refresh_all()
    sites.refresh_from_db()
    assert sites.state == Dataset.State.WITHDRAWN


@pytest.mark.parametrize(
    ("url", "content_type", "disposition", "first_line"),
    [
        ("sensordaten-tageswerte.csv", "text/csv", 'attachment; filename="sensordaten-tageswerte-{slug}.csv"', "day,"),
        ("strassenbaeume.csv", "text/csv", 'attachment; filename="strassenbaeume-{slug}.csv"', "tree_number,"),
        ("strassenbaeume.geojson", "application/geo+json", 'inline; filename="strassenbaeume-{slug}.geojson"', "{"),
        ("giessprotokoll.csv", "text/csv", 'attachment; filename="giessprotokoll-tage-{slug}.csv"', "day,"),
        ("baustellen.csv", "text/csv", 'attachment; filename="baustellen-{slug}.csv"', "title,"),
        ("baustellen.geojson", "application/geo+json", 'inline; filename="baustellen-{slug}.geojson"', "{"),
    ],
)
def test_every_file_has_its_address_name_and_format(
    client: Client, city_a: Any, url: str, content_type: str, disposition: str, first_line: str
) -> None:
    response = client.get(f"/stadt/{city_a.slug}/offene-daten/{url}")
    assert response.status_code == 200
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"
    assert response["Content-Disposition"] == disposition.format(slug=city_a.slug)
    assert response.content.decode().startswith(first_line)
    assert client.post(f"/stadt/{city_a.slug}/offene-daten/{url}").status_code == 405
