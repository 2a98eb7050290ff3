"""The DCAT-AP.de catalogue (RDF) of the published datasets, as GovData harvests it.

``catalog_graph`` builds one page of the catalogue with a
``hydra:PartialCollectionView`` (first/next/previous/last); ``dataset_graph``
one dataset. Literals are plain text: Markdown and any HTML or RDF a
publisher typed stay inert strings, serialised and escaped by rdflib.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from dikom.opendata import service, vocab
from dikom.opendata.models import Dataset, Organization, Resource

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
PAGE_SIZE = 100
FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
CONTENT_TYPES = {"ttl": "text/turtle", "rdf": "application/rdf+xml", "jsonld": "application/ld+json"}


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("dcatde", DCATDE),
        ("foaf", FOAF),
        ("hydra", HYDRA),
        ("vcard", VCARD),
        ("adms", ADMS),
        ("spdx", SPDX),
        ("locn", LOCN),
    ):
        graph.bind(prefix, namespace)
    return graph


def catalog_iri() -> URIRef:
    return URIRef(f"{service.site_url()}/catalog")


def _publisher(graph: Graph, org: Organization) -> URIRef:
    node = URIRef(f"{service.site_url()}/organization/{org.uuid}")
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(org.title, lang="de")))
    if org.homepage:
        graph.add((node, FOAF.homepage, URIRef(org.homepage)))
    return node


def contributor_id(org: Organization) -> str:
    return org.contributor_id or str(settings.DIKOM_OPENDATA_CONTRIBUTOR_ID or "")


def _date(value: Any) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.date)


def _datetime(value: Any) -> Literal:
    return Literal(service.iso(value), datatype=XSD.dateTime)


def add_dataset(graph: Graph, dataset: Dataset) -> URIRef:
    node = URIRef(service.dataset_iri(dataset))
    org = dataset.organization
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(str(dataset.uuid))))
    graph.add((node, DCTERMS.title, Literal(dataset.title, lang="de")))
    graph.add((node, DCTERMS.description, Literal(dataset.notes or dataset.title, lang="de")))
    publisher = _publisher(graph, org)
    graph.add((node, DCTERMS.publisher, publisher))
    contributor = contributor_id(org)
    if contributor:
        graph.add((node, DCATDE.contributorID, URIRef(contributor)))
    graph.add((node, DCAT.landingPage, URIRef(dataset.landing_page or service.dataset_page(dataset))))
    for tag in dataset.tags.all():
        graph.add((node, DCAT.keyword, Literal(tag.name, lang="de")))
    for code in dataset.theme_codes:
        if code in vocab.THEMES:
            graph.add((node, DCAT.theme, URIRef(vocab.THEME_BASE + code)))
    email = dataset.contact_email or org.email
    if email or dataset.contact_url:
        contact = BNode()
        graph.add((node, DCAT.contactPoint, contact))
        graph.add((contact, RDF.type, VCARD.Kind))
        graph.add((contact, RDF.type, VCARD.Organization))
        graph.add((contact, VCARD.fn, Literal(dataset.contact_name or org.title)))
        if email:
            graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
        if dataset.contact_url:
            graph.add((contact, VCARD.hasURL, URIRef(dataset.contact_url)))
    if dataset.spatial_ags:
        place = URIRef(vocab.MUNICIPALITY_KEY_BASE + dataset.spatial_ags)
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
    if dataset.spatial_geometry:
        area = BNode()
        graph.add((node, DCTERMS.spatial, area))
        graph.add((area, RDF.type, DCTERMS.Location))
        graph.add(
            (
                area,
                LOCN.geometry,
                Literal(
                    dataset.spatial_geometry,
                    datatype=URIRef("https://www.iana.org/assignments/media-types/application/vnd.geo+json"),
                ),
            )
        )
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            graph.add((period, DCAT.startDate, _date(dataset.temporal_start)))
        if dataset.temporal_end:
            graph.add((period, DCAT.endDate, _date(dataset.temporal_end)))
    if dataset.frequency:
        frequency = URIRef(vocab.FREQUENCY_BASE + dataset.frequency)
        graph.add((node, DCTERMS.accrualPeriodicity, frequency))
        graph.add((frequency, RDF.type, DCTERMS.Frequency))
    if dataset.issued:
        graph.add((node, DCTERMS.issued, _datetime(dataset.issued)))
    graph.add((node, DCTERMS.modified, _datetime(dataset.modified or dataset.updated_at)))
    if dataset.version:
        graph.add((node, DCAT.version, Literal(dataset.version)))
    if dataset.version_notes:
        graph.add((node, ADMS.versionNotes, Literal(dataset.version_notes, lang="de")))
    for other in dataset.related.filter(state=Dataset.State.PUBLISHED):
        graph.add((node, DCTERMS.relation, URIRef(service.dataset_iri(other))))
    for resource in dataset.resources.all():
        graph.add((node, DCAT.distribution, add_distribution(graph, dataset, resource)))
    return node


def add_distribution(graph: Graph, dataset: Dataset, resource: Resource) -> URIRef:
    resource.dataset = dataset
    node = URIRef(f"{service.dataset_iri(dataset)}/resource/{resource.uuid}")
    url = URIRef(service.resource_download_url(resource))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCAT.accessURL, url))
    graph.add((node, DCAT.downloadURL, url))
    if resource.name:
        graph.add((node, DCTERMS.title, Literal(resource.name, lang="de")))
    if resource.description:
        graph.add((node, DCTERMS.description, Literal(resource.description, lang="de")))
    licence = resource.license_id or dataset.license_id
    graph.add((node, DCTERMS.license, URIRef(vocab.LICENCE_BASE + licence)))
    if resource.format:
        graph.add((node, DCTERMS.format, URIRef(vocab.FILE_TYPE_BASE + resource.format)))
    if resource.media_type:
        graph.add((node, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{resource.media_type}")))
    if resource.size is not None:
        graph.add((node, DCAT.byteSize, Literal(resource.size, datatype=XSD.nonNegativeInteger)))
    if resource.checksum:
        checksum = BNode()
        graph.add((node, SPDX.checksum, checksum))
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        graph.add((checksum, SPDX.checksumValue, Literal(resource.checksum, datatype=XSD.hexBinary)))
    graph.add((node, DCTERMS.modified, _datetime(resource.updated_at)))
    return node


def _catalog(graph: Graph) -> URIRef:
    catalog = catalog_iri()
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal("dikom Open Data", lang="de")))
    graph.add(
        (catalog, DCTERMS.description, Literal("Offene Daten der Mitgliedskommunen der dikom-Kooperation", lang="de"))
    )
    graph.add((catalog, FOAF.homepage, URIRef(f"{service.site_url()}/opendata/")))
    publisher = URIRef(f"{service.site_url()}/")
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal("dikom-Kooperation", lang="de")))
    graph.add((catalog, DCTERMS.publisher, publisher))
    return catalog


def published() -> QuerySet[Dataset]:
    return (
        Dataset.objects.filter(state=Dataset.State.PUBLISHED)
        .select_related("organization")
        .prefetch_related("tags", "resources")
        .order_by("id")
    )


def catalog_graph(page: int, extension: str, page_size: int | None = None) -> tuple[Graph, bool]:
    """One page of the catalogue; False when the page does not exist."""
    page_size = page_size or PAGE_SIZE
    graph = new_graph()
    catalog = _catalog(graph)
    total = Dataset.objects.filter(state=Dataset.State.PUBLISHED).count()
    last = max(1, -(-total // page_size))
    if page < 1 or page > last:
        return graph, False
    datasets = published()[(page - 1) * page_size : page * page_size]
    for dataset in datasets:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, dataset)))
    base = f"{service.site_url()}/catalog.{extension}"
    view = URIRef(f"{base}?page={page}")
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger)))
    graph.add((view, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.nonNegativeInteger)))
    graph.add((view, HYDRA.first, URIRef(f"{base}?page=1")))
    graph.add((view, HYDRA.last, URIRef(f"{base}?page={last}")))
    if page < last:
        graph.add((view, HYDRA.next, URIRef(f"{base}?page={page + 1}")))
    if page > 1:
        graph.add((view, HYDRA.previous, URIRef(f"{base}?page={page - 1}")))
    return graph, True


def dataset_graph(dataset: Dataset) -> Graph:
    graph = new_graph()
    add_dataset(graph, dataset)
    return graph


def serialise(graph: Graph, extension: str) -> bytes:
    data = graph.serialize(format=FORMATS[extension], encoding="utf-8")
    return data if isinstance(data, bytes) else str(data).encode("utf-8")
