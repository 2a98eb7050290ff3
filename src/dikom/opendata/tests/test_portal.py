"""The public portal: reachable from the landing page, German search, facets, dataset and organisation pages,
downloads, and the hook other apps call to publish generated datasets."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client

from dikom.opendata import actions, service
from dikom.opendata.models import Dataset, DatasetRevision
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def datasets(org_a, org_b):
    make_dataset(org_a, "baeume-fulda", "Bäume in Fulda", groups=[{"name": "envi"}], tags=[{"name": "Umwelt"}])
    make_dataset(org_b, "baumkataster-giessen", "Baumkataster Gießen", groups=[{"name": "envi"}])
    make_dataset(org_b, "strassen-giessen", "Straßenverzeichnis", license_id="cc-by/4.0")
    make_dataset(org_a, "entwurf", "Baum-Entwurf", state="draft")


def titles(html: str) -> list[str]:
    return sorted(re.findall(r'<h2><a href="/opendata/datensaetze/[^"]+/">([^<]+)</a></h2>', html))


def test_landing_page_and_navigation_link_to_the_portal(client: Client) -> None:
    landing = client.get("/").content.decode()
    assert 'href="/opendata/"' in landing
    nav = landing.split('class="site-nav"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/opendata/">Offene Daten</a>' in nav
    response = client.get("/opendata/")
    assert response.status_code == 200
    assert "Open-Data-Portal" in response.content.decode()


@pytest.mark.parametrize("query", ["Baum", "Bäume", "baeume", "BAUM"])
def test_german_search_finds_plurals_compounds_and_umlauts(client: Client, datasets, query) -> None:
    html = client.get("/opendata/", {"q": query}).content.decode()
    assert titles(html) == ["Baumkataster Gießen", "Bäume in Fulda"]
    assert "2 Datensätze gefunden" in html


@pytest.mark.parametrize("query", ["Strasse", "Straße", "strassenverzeichnis"])
def test_sharp_s_both_ways(client: Client, datasets, query) -> None:
    assert titles(client.get("/opendata/", {"q": query}).content.decode()) == ["Straßenverzeichnis"]


def test_facets_with_counts_and_filtering(client: Client, datasets) -> None:
    html = client.get("/opendata/").content.decode()
    assert "3 Datensätze gefunden" in html
    assert re.search(r">Gießen</a> \(2\)", html)
    assert re.search(r">Umwelt</a> \(2\)", html)  # the theme
    html = client.get("/opendata/", {"organization": "giessen", "groups": "envi"}).content.decode()
    assert titles(html) == ["Baumkataster Gießen"]
    assert "Filter entfernen" in html


def test_hostile_search_input_is_a_page_not_an_error(client: Client, datasets) -> None:
    for query in ['title:"x', "((", "]", "a" * 5000, "\\", "*:*"]:
        response = client.get("/opendata/", {"q": query, "sort": "DROP", "seite": "-3"})
        assert response.status_code == 200, query
    response = client.get("/opendata/", {"organization": "<script>", "tags": '"'})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main", 1)[-1]


def test_paging(client: Client, org_a) -> None:
    for number in range(25):
        make_dataset(org_a, f"messung-{number:02d}", f"Messung {number:02d}")
    first = client.get("/opendata/", {"sort": "title_string asc"}).content.decode()
    second = client.get("/opendata/", {"sort": "title_string asc", "seite": 2}).content.decode()
    assert len(titles(first)) == 20 and len(titles(second)) == 5
    assert "Seite 2 von 2" in second


def test_dataset_and_organisation_pages(client: Client, datasets) -> None:
    html = client.get("/opendata/datensaetze/baeume-fulda/").content.decode()
    assert "Bäume in Fulda" in html and "Datenlizenz Deutschland" in html
    assert 'href="/opendata/datensaetze/baeume-fulda.ttl"' in html
    assert client.get("/opendata/datensaetze/entwurf/").status_code == 404
    html = client.get("/opendata/organisationen/giessen/").content.decode()
    assert "2 veröffentlichte Datensätze" in html and "Straßenverzeichnis" in html
    assert client.get("/opendata/organisationen/gibtsnicht/").status_code == 404
    dataset = Dataset.objects.get(name="baeume-fulda")
    response = client.get(f"/dataset/{dataset.uuid}")
    assert response.status_code == 302 and response["Location"] == "/opendata/datensaetze/baeume-fulda/"


def test_publisher_sees_drafts_and_history_of_her_city_only(client: Client, datasets, login, publisher_a, outsider):
    login(client, publisher_a)
    html = client.get("/opendata/datensaetze/entwurf/").content.decode()
    assert "Änderungsverlauf" in html
    login(client, outsider)
    assert client.get("/opendata/datensaetze/entwurf/").status_code == 404


def test_markdown_description_without_raw_html(client: Client, org_a) -> None:
    make_dataset(org_a, "md", "Markdown", notes="**fett** <img src=x onerror=alert(1)> [link](javascript:alert(1))")
    html = client.get("/opendata/datensaetze/md/").content.decode()
    assert "<strong>fett</strong>" in html
    assert "<img" not in html.split('class="prose"', 1)[1].split("</div>", 1)[0]
    assert 'href="javascript:' not in html


def test_upload_download_counts(client: Client, org_a) -> None:
    dataset = make_dataset(org_a, "datei", "Datei", resources=[])
    resource = actions.create_resource(
        dataset, {"name": "Tabelle"}, upload=io.BytesIO(b"a;b\r\n1;2\r\n"), filename="../../etc/tabelle.csv"
    )
    assert resource.format == "CSV" and resource.size == 10 and len(resource.checksum) == 64
    assert ".." not in resource.upload.name
    url = service.resource_download_url(resource).removeprefix(service.site_url())
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"a;b\r\n1;2\r\n"
    resource.refresh_from_db()
    assert resource.download_count == 1


def test_upload_of_a_virus_is_refused(org_a) -> None:
    from dikom.scanning import eicar

    dataset = make_dataset(org_a, "virus", "Virus", resources=[])
    with pytest.raises(actions.InvalidData) as error:
        actions.create_resource(dataset, {}, upload=io.BytesIO(eicar.SIGNATURE), filename="x.csv")
    assert "upload" in error.value.errors
    assert not dataset.resources.exists()


def test_hook_publishes_and_updates_a_generated_dataset(city_a) -> None:
    metadata = {
        "name": "fulda-nutzung",
        "title": "Nutzung der Online-Dienste",
        "license_id": "dl-zero-de/2.0",
        "resources": [{"url": "https://example.org/2026-10.csv", "format": "CSV"}],
    }
    first = service.publish_generated_dataset(city_a, "analytics:usage", metadata)
    assert first.state == Dataset.State.PUBLISHED and first.organization.municipality == city_a
    metadata["resources"].append({"url": "https://example.org/2026-11.csv", "format": "CSV"})
    second = service.publish_generated_dataset(city_a, "analytics:usage", metadata)
    assert second.pk == first.pk and second.resources.count() == 2
    assert DatasetRevision.objects.filter(dataset=first).count() == 2
    assert Dataset.objects.filter(generated_key="analytics:usage").count() == 1
