"""The DCAT-AP.de catalogue: formats, hydra paging, caching headers, and every demo dataset valid
against the official DCAT-AP.de 3.0 SHACL shapes (pySHACL, code lists parsed into the data graph)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from django.test import Client
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from dikom.municipalities.models import Municipality
from dikom.opendata import dcat
from dikom.opendata.demo import load_demo_opendata
from dikom.opendata.models import Dataset
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db

SHAPES = Path(__file__).resolve().parent / "shapes"
VOCAB = Path(dcat.__file__).resolve().parent / "vocab"
HYDRA = dcat.HYDRA


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for name in ("dcat-ap-3.0.0-SHACL.ttl", "dcat-ap-SHACL-DE.ttl", "dcat-ap-de-controlledvocabularies.ttl"):
        graph.parse(SHAPES / name, format="turtle")
    return graph


@cache
def code_lists() -> Graph:
    graph = Graph()
    graph.parse(VOCAB / "dcat-ap-de-licenses-open.rdf", format="xml")
    graph.parse(VOCAB / "dcat-ap-de-contributors.rdf", format="xml")
    graph.parse(VOCAB / "eu-file-type-and-data-theme.ttl", format="turtle")
    graph.parse(VOCAB / "eu-frequency.ttl", format="turtle")
    return graph


def validate(data: Graph) -> tuple[bool, str]:
    from pyshacl import validate as shacl_validate

    combined = Graph()
    for triple in data:
        combined.add(triple)
    for triple in code_lists():
        combined.add(triple)
    # Warnings (SOLL) are reported but do not fail; violations (MUSS) do.
    conforms, _report, text = shacl_validate(
        combined, shacl_graph=shapes_graph(), inference="none", allow_warnings=True
    )
    violations = [block for block in str(text).split("Validation Result") if "sh:Violation" in block]
    return bool(conforms), "\n".join(violations)[:8000]


@pytest.fixture
def demo(city_a: Municipality, city_b: Municipality) -> list[Dataset]:
    Municipality.objects.filter(pk__in=[city_a.pk, city_b.pk]).update(
        is_demo=True, membership=Municipality.Membership.FOUNDING
    )
    load_demo_opendata()
    return list(Dataset.objects.filter(is_demo=True))


def test_demo_datasets_are_labelled_and_have_real_file_shapes(client: Client, demo) -> None:
    assert len(demo) == 6
    trees = Dataset.objects.get(name="fulda-baumkataster")
    upload = trees.resources.get()
    raw = upload.upload.read()
    assert raw.decode("cp1252").startswith("Baum-Nr;Art;Straße")
    assert "*Demo-Daten" in trees.notes
    html = client.get("/opendata/datensaetze/fulda-baumkataster/").content.decode()
    assert "Demo-Daten (erfunden)" in html


def test_every_demo_dataset_is_valid_dcat_ap_de(client: Client, demo) -> None:
    graph = Graph()
    page = 1
    seen = 0
    while True:
        response = client.get("/catalog.ttl", {"page": page})
        assert response.status_code == 200
        graph.parse(data=response.content.decode(), format="turtle")
        seen = len(set(graph.subjects(RDF.type, DCAT.Dataset)))
        if not list(graph.objects(URIRef(f"http://testserver/catalog.ttl?page={page}"), HYDRA.next)) and not any(
            str(o).endswith(f"page={page + 1}") for o in graph.objects(None, HYDRA.next)
        ):
            break
        page += 1
    assert seen == len(demo)
    conforms, text = validate(graph)
    assert conforms, text


def test_a_dataset_missing_what_the_shapes_demand_is_refused_by_them(client: Client, demo) -> None:
    """The validation is real: remove a distribution's licence and the shapes object."""
    graph = dcat.dataset_graph(Dataset.objects.get(name="giessen-spielplaetze"))
    for distribution in list(graph.subjects(RDF.type, DCAT.Distribution)):
        graph.remove((distribution, DCTERMS.license, None))
        graph.add((distribution, DCTERMS.license, Literal("frei")))
    conforms, _text = validate(graph)
    assert not conforms


def test_hydra_paging(client: Client, org_a, settings, monkeypatch) -> None:
    for number in range(5):
        make_dataset(org_a, f"datensatz-{number}", f"Datensatz {number}")
    settings.SITE_URL = "https://daten.example"
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    names: set[str] = set()
    url = "/catalog.ttl?page=1"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        graph = Graph().parse(data=response.content.decode(), format="turtle")
        view = next(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
        assert int(next(graph.objects(view, HYDRA.totalItems))) == 5
        names |= {str(o) for o in graph.objects(None, DCTERMS.identifier)}
        following = list(graph.objects(view, HYDRA.next))
        url = str(following[0]).removeprefix("https://daten.example") if following else ""
        pages += 1
    assert pages == 3 and len(names) == 5
    assert client.get("/catalog.ttl", {"page": 99}).status_code == 404
    assert client.get("/catalog.ttl", {"page": "x"}).status_code == 404


def test_formats_and_caching(client: Client, org_a) -> None:
    make_dataset(org_a, "luftqualitaet", "Luftqualität")
    for extension, content_type, fmt in (
        ("ttl", "text/turtle", "turtle"),
        ("rdf", "application/rdf+xml", "xml"),
        ("jsonld", "application/ld+json", "json-ld"),
    ):
        response = client.get(f"/catalog.{extension}")
        assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
        graph = Graph().parse(data=response.content.decode(), format=fmt)
        assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == 1
        single = client.get(f"/opendata/datensaetze/luftqualitaet.{extension}")
        assert single.status_code == 200
        assert len(Graph().parse(data=single.content.decode(), format=fmt)) > 5
    response = client.get("/catalog.ttl")
    last_modified = response["Last-Modified"]
    assert client.get("/catalog.ttl", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304


def test_html_and_rdf_in_metadata_stay_text(client: Client, org_a) -> None:
    hostile = '<script>alert(1)</script> "> <http://evil.example/x> a <http://www.w3.org/ns/dcat#Catalog> .'
    make_dataset(org_a, "boese", hostile, notes=hostile, tags=[{"name": "Umwelt"}])
    response = client.get("/catalog.ttl")
    graph = Graph().parse(data=response.content.decode(), format="turtle")
    assert (URIRef("http://evil.example/x"), RDF.type, DCAT.Catalog) not in graph
    titles = {str(o) for o in graph.objects(None, DCTERMS.title)}
    assert hostile in titles
    xml = client.get("/catalog.rdf").content.decode()
    assert "<script>" not in xml
    page = client.get("/opendata/datensaetze/boese/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_withdrawn_and_draft_datasets_are_not_in_the_catalogue(client: Client, org_a) -> None:
    make_dataset(org_a, "entwurf", "Entwurf", state="draft")
    make_dataset(org_a, "zurueckgezogen", "Zurückgezogen", state="deleted")
    graph = Graph().parse(data=client.get("/catalog.ttl").content.decode(), format="turtle")
    assert not list(graph.subjects(RDF.type, DCAT.Dataset))
    assert client.get("/opendata/datensaetze/entwurf.ttl").status_code == 404


def test_contributor_id_from_the_setting(client: Client, org_a, settings) -> None:
    make_dataset(org_a, "mit-id", "Mit ID")
    graph = Graph().parse(data=client.get("/catalog.ttl").content.decode(), format="turtle")
    assert not list(graph.objects(None, dcat.DCATDE.contributorID))
    settings.DIKOM_OPENDATA_CONTRIBUTOR_ID = "http://dcat-ap.de/def/contributors/hessen"
    graph = Graph().parse(data=client.get("/catalog.ttl").content.decode(), format="turtle")
    assert list(graph.objects(None, dcat.DCATDE.contributorID)) == [URIRef("http://dcat-ap.de/def/contributors/hessen")]
