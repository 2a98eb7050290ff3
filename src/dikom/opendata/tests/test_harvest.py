"""Harvesting: another dikom's DCAT-AP catalogue (paged with hydra) and a CKAN API, served by a local fixture server
on 127.0.0.1 (no internet): created, updated, unchanged, withdrawn, logged; nothing duplicated on re-runs; failed
sources (garbage, timeouts, endless paging, private addresses) change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dikom.lib import periodic
from dikom.lib.testing import run_task_worker
from dikom.opendata import actions, dcat
from dikom.opendata.harvesting import ckan as ckan_harvester
from dikom.opendata.harvesting.runner import due_sources, run_source
from dikom.opendata.models import Dataset, HarvestRun, HarvestSource
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def harvest_settings(settings: Any) -> Any:
    settings.DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE = True  # the fixture server is on 127.0.0.1
    settings.DIKOM_OPENDATA_HARVEST_TIMEOUT_SECONDS = 2
    settings.DIKOM_OPENDATA_HARVEST_MAX_PAGES = 5
    return settings


def snapshot(client: Client, base: str, settings: Any, monkeypatch: Any) -> dict[str, Any]:
    """The catalogue pages of this dikom as a second dikom at ``base`` would serve them (two per page)."""
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    settings.SITE_URL = base
    pages: dict[str, Any] = {}
    number = 1
    while True:
        response = client.get("/catalog.ttl", {"page": number})
        if response.status_code != 200:
            break
        pages[f"/catalog.ttl?page={number}"] = ("text/turtle; charset=utf-8", response.content)
        number += 1
    pages["/catalog.ttl"] = pages["/catalog.ttl?page=1"]
    settings.SITE_URL = "http://testserver"
    return pages


def harvested(org: Any) -> dict[str, Dataset]:
    return {d.title: d for d in Dataset.objects.filter(organization=org).prefetch_related("resources")}


def test_harvest_another_dikom_catalogue(client, remote, org_a, org_b, settings, monkeypatch) -> None:
    base, fixture = remote
    make_dataset(org_a, "baeume", "Bäume in Fulda", groups=[{"name": "envi"}], tags=[{"name": "Umwelt"}])
    make_dataset(org_a, "parken", "Parkhäuser", license_id="cc-by/4.0")
    gone = make_dataset(org_a, "alt", "Alte Messwerte")
    first = snapshot(client, base, settings, monkeypatch)
    trees = Dataset.objects.get(name="baeume")
    actions.update_dataset(trees, {"title": "Bäume in Fulda 2026"}, partial=True)
    actions.set_state(gone, Dataset.State.WITHDRAWN)
    second = snapshot(client, base, settings, monkeypatch)
    assert len(first) == 3 and len(second) == 2  # two pages (+ the bare address), then one

    fixture.routes = first
    source = HarvestSource.objects.create(
        organization=org_b, title="Fulda", url=f"{base}/catalog.ttl", kind=HarvestSource.Kind.DCAT
    )
    run = run_source(source)
    assert (run.status, run.found, run.created, run.errors) == (HarvestRun.Status.OK, 3, 3, [])
    assert "/catalog.ttl?page=2" in fixture.requests  # followed hydra:next
    copies = harvested(org_b)
    assert set(copies) == {"Bäume in Fulda", "Parkhäuser", "Alte Messwerte"}
    tree_copy = copies["Bäume in Fulda"]
    assert tree_copy.state == Dataset.State.PUBLISHED and tree_copy.theme_codes == ["ENVI"]
    assert list(tree_copy.tags.values_list("name", flat=True)) == ["Umwelt"]
    assert copies["Parkhäuser"].license_id == "cc-by/4.0"
    assert tree_copy.resources.get().url == "https://example.org/baeume.csv"

    again = run_source(source)
    assert (again.created, again.updated, again.unchanged, again.withdrawn) == (0, 0, 3, 0)
    assert Dataset.objects.filter(organization=org_b).count() == 3

    fixture.routes = second
    changed = run_source(source)
    assert (changed.created, changed.updated, changed.unchanged, changed.withdrawn) == (0, 1, 1, 1)
    copies = harvested(org_b)
    assert copies["Bäume in Fulda 2026"].pk == tree_copy.pk  # the same dataset, updated in place
    assert copies["Alte Messwerte"].state == Dataset.State.WITHDRAWN
    assert source.runs.count() == 3


def test_harvest_a_ckan_portal_page_by_page(client, remote, org_a, org_b, monkeypatch) -> None:
    base, fixture = remote
    make_dataset(org_a, "baeume", "Bäume in Fulda", groups=[{"name": "envi"}])
    make_dataset(org_a, "parken", "Parkhäuser", license_id="cc-by")
    packages = client.get("/api/3/action/current_package_list_with_resources", {"limit": 100}).json()["result"]
    packages.append({**packages[0], "id": "kaputt", "name": "kaputt", "license_id": "proprietaer"})
    Dataset.objects.all().delete()

    def package_search(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        rows, start = int(query["rows"][0]), int(query["start"][0])
        body = {"success": True, "result": {"count": len(packages), "results": packages[start : start + rows]}}
        return 200, "application/json", json.dumps(body).encode()

    fixture.routes["/api/3/action/package_search"] = package_search
    monkeypatch.setattr(ckan_harvester, "ROWS", 1)
    source = HarvestSource.objects.create(organization=org_b, title="CKAN", url=base, kind=HarvestSource.Kind.CKAN)
    run = run_source(source)
    assert (run.status, run.found, run.created) == (HarvestRun.Status.PARTIAL, 3, 2)
    assert len([r for r in fixture.requests if "package_search" in r]) == 3
    assert "proprietaer" in run.errors[0]  # the refused record is logged, the others are in
    assert sorted(d.name for d in Dataset.objects.filter(organization=org_b)) == ["baeume", "parken"]
    assert run_source(source).unchanged == 2


@pytest.mark.parametrize(
    ("routes", "delay", "message"),
    [
        ({"/catalog.ttl": ("text/turtle", b"<<< kein RDF")}, 0, "nicht mit lesbarem RDF"),
        ({}, 0, "HTTP-Status 404"),
        ({"/catalog.ttl": ("text/turtle", b"")}, 3, "Keine Antwort innerhalb von 2 Sekunden"),
    ],
)
def test_a_failing_source_changes_nothing(remote, org_b, routes, delay, message) -> None:
    base, fixture = remote
    existing = make_dataset(org_b, "vorhanden", "Vorhanden")
    source = HarvestSource.objects.create(
        organization=org_b, title="Kaputt", url=f"{base}/catalog.ttl", kind=HarvestSource.Kind.DCAT
    )
    Dataset.objects.filter(pk=existing.pk).update(harvest_source=source, harvest_identifier="x")
    fixture.routes, fixture.delay = routes, delay
    run = run_source(source)
    assert run.status == HarvestRun.Status.FAILED and message in run.message
    existing.refresh_from_db()
    assert existing.state == Dataset.State.PUBLISHED and Dataset.objects.count() == 1


def test_endless_paging_is_stopped(client, remote, org_a, org_b, settings, monkeypatch) -> None:
    base, fixture = remote
    make_dataset(org_a, "baeume", "Bäume")
    page = snapshot(client, base, settings, monkeypatch)["/catalog.ttl"]
    Dataset.objects.all().delete()

    def endless(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        number = int(query.get("page", ["1"])[0])
        body = (
            page[1].replace(b"@prefix", b"@prefix", 1)
            + (
                f"\n<{base}/catalog.ttl?page={number}#view> a <http://www.w3.org/ns/hydra/core#PartialCollectionView> ; "
                f"<http://www.w3.org/ns/hydra/core#next> <{base}/catalog.ttl?page={number + 1}> .\n"
            ).encode()
        )
        return 200, "text/turtle", body

    fixture.routes = {"/catalog.ttl": endless}
    source = HarvestSource.objects.create(
        organization=org_b, title="Endlos", url=f"{base}/catalog.ttl?page=1", kind=HarvestSource.Kind.DCAT
    )
    run = run_source(source)
    assert run.status == HarvestRun.Status.FAILED and "mehr als 5 Seiten" in run.message
    assert not Dataset.objects.filter(organization=org_b).exists()


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:1/catalog.ttl", "file:///etc/passwd"]
)
def test_private_and_metadata_addresses_are_refused(org_b, settings, url) -> None:
    settings.DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE = False
    source = HarvestSource.objects.create(organization=org_b, title="Intern", url=url, kind=HarvestSource.Kind.DCAT)
    run = run_source(source)
    assert run.status == HarvestRun.Status.FAILED and run.message


def test_sources_are_harvested_on_their_schedule(remote, org_b) -> None:
    base, fixture = remote
    fixture.routes = {"/catalog.ttl": ("text/turtle", b"")}
    source = HarvestSource.objects.create(
        organization=org_b, title="Leer", url=f"{base}/catalog.ttl", kind=HarvestSource.Kind.DCAT, every_hours=6
    )
    assert periodic.JOBS["opendata.harvest"].task_path == "dikom.opendata.tasks.harvest_due_sources"
    from dikom.opendata import tasks

    tasks.harvest_due_sources.enqueue()
    run_task_worker()  # the job queues the source
    run_task_worker()  # the source's harvest runs
    assert source.runs.count() == 1
    source.refresh_from_db()
    assert source.next_run_at is not None
    assert due_sources() == []  # not due again for six hours
