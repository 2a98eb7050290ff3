"""Atom and RSS feeds of new and changed datasets, overall and per organisation, linked from the pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from dikom.opendata import actions, service
from dikom.opendata.models import Dataset
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def datasets(org_a, org_b):
    make_dataset(org_a, "baeume-fulda", "Bäume in Fulda", tags=[{"name": "Umwelt"}], notes="<script>alert(1)</script>")
    make_dataset(org_b, "parken-giessen", "Parkhäuser Gießen")
    make_dataset(org_a, "entwurf", "Geheimer Entwurf", state="draft")


def entries(client: Client, url: str) -> list[ET.Element]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content).findall(f"{ATOM}entry")  # noqa: S314 - our own feed


def test_overall_feed_lists_published_datasets_newest_change_first(client: Client, datasets) -> None:
    titles = [e.findtext(f"{ATOM}title") for e in entries(client, "/opendata/feed.atom")]
    assert titles == ["Parkhäuser Gießen", "Bäume in Fulda"]
    # A change moves a dataset to the top, under the same id.
    trees = Dataset.objects.get(name="baeume-fulda")
    actions.update_dataset(trees, {"title": "Bäume in Fulda (2026)"}, partial=True)
    first = entries(client, "/opendata/feed.atom")[0]
    assert first.findtext(f"{ATOM}title") == "Bäume in Fulda (2026)"
    assert first.findtext(f"{ATOM}id") == service.dataset_iri(trees)
    assert first.find(f"{ATOM}link").get("href").endswith("/opendata/datensaetze/baeume-fulda/")
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "Fulda"
    assert [c.get("term") for c in first.findall(f"{ATOM}category")] == ["Umwelt"]
    # The description is text: markup in it is escaped, not embedded.
    assert "<script>" in first.findtext(f"{ATOM}summary")
    assert b"<script>" not in client.get("/opendata/feed.atom").content


def test_organisation_feed_has_only_its_datasets_and_withdrawn_ones_leave(client: Client, datasets) -> None:
    titles = [e.findtext(f"{ATOM}title") for e in entries(client, "/opendata/organisationen/fulda/feed.atom")]
    assert titles == ["Bäume in Fulda"]
    actions.set_state(Dataset.objects.get(name="baeume-fulda"), Dataset.State.WITHDRAWN)
    assert entries(client, "/opendata/organisationen/fulda/feed.atom") == []
    assert client.get("/opendata/organisationen/gibtsnicht/feed.atom").status_code == 404


def test_rss_feed(client: Client, datasets) -> None:
    response = client.get("/opendata/feed.rss")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/rss+xml")
    items = ET.fromstring(response.content).findall("channel/item")  # noqa: S314 - our own feed
    assert [i.findtext("title") for i in items] == ["Parkhäuser Gießen", "Bäume in Fulda"]
    assert client.get("/opendata/organisationen/giessen/feed.rss").status_code == 200


def test_pages_link_the_feeds(client: Client, datasets) -> None:
    index = client.get("/opendata/").content.decode()
    assert '<link rel="alternate" type="application/atom+xml"' in index and 'href="/opendata/feed.atom"' in index
    assert 'href="/opendata/feed.rss"' in index and "Neue und geänderte Datensätze (Atom)" in index
    organisation = client.get("/opendata/organisationen/fulda/").content.decode()
    assert organisation.count('href="/opendata/organisationen/fulda/feed.atom"') == 2
    dataset = client.get("/opendata/datensaetze/baeume-fulda/").content.decode()
    assert 'href="/opendata/organisationen/fulda/feed.atom"' in dataset
