"""Harvest a DCAT-AP catalogue (Turtle, RDF/XML or JSON-LD), following ``hydra:next`` as GovData does."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS

from dikom.opendata import vocab
from dikom.opendata.harvesting.base import Fetch, Harvested, HarvestError, register

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8"
FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
}


def _parse(body: bytes, content_type: str, url: str) -> Graph:
    kind = FORMATS.get(content_type.split(";")[0].strip().lower())
    if kind is None:
        kind = {"ttl": "turtle", "rdf": "xml", "xml": "xml", "jsonld": "json-ld"}.get(
            url.split("?")[0].rsplit(".", 1)[-1].lower(), "turtle"
        )
    graph = Graph()
    try:
        graph.parse(data=body, format=kind, publicID=url)
    except Exception:  # rdflib raises many kinds for malformed input
        raise HarvestError(_("The source did not answer with readable RDF (%(format)s).") % {"format": kind}) from None
    return graph


def _text(graph: Graph, node: Any, predicate: URIRef) -> str:
    """The German literal if there is one, else an untagged one, else any."""
    values = [o for o in graph.objects(node, predicate) if isinstance(o, Literal)]
    for wanted in ("de", None):
        for value in values:
            if value.language == wanted:
                return str(value)
    return str(values[0]) if values else ""


def _iri(graph: Graph, node: Any, predicate: URIRef) -> str:
    value = graph.value(node, predicate)
    return str(value) if isinstance(value, URIRef) else ""


def _name(title: str, identifier: str) -> str:
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8]
    return f"{slugify(title)[:80].strip('-') or 'datensatz'}-{digest}"


def dataset_package(graph: Graph, node: Any) -> Harvested | None:
    identifier = _text(graph, node, DCTERMS.identifier) or (str(node) if isinstance(node, URIRef) else "")
    title = _text(graph, node, DCTERMS.title)
    if not identifier or not title:
        return None
    licences: list[str] = []
    resources = []
    for distribution in graph.objects(node, DCAT.distribution):
        url = _iri(graph, distribution, DCAT.downloadURL) or _iri(graph, distribution, DCAT.accessURL)
        if not url.startswith(("http://", "https://")):
            continue
        licence = _iri(graph, distribution, DCTERMS.license).removeprefix(vocab.LICENCE_BASE)
        if licence:
            licences.append(licence)
        file_format = _iri(graph, distribution, DCTERMS.format) or _text(graph, distribution, DCTERMS.format)
        resources.append(
            {
                "name": _text(graph, distribution, DCTERMS.title)[:300],
                "description": _text(graph, distribution, DCTERMS.description)[:5000],
                "url": url,
                "format": vocab.normalise_format(file_format) or "" if file_format else "",
                "license_id": licence if licence in vocab.licences() else "",
            }
        )
    dataset_licence = _iri(graph, node, DCTERMS.license).removeprefix(vocab.LICENCE_BASE) or (
        licences[0] if licences else ""
    )
    themes = [
        str(t).removeprefix(vocab.THEME_BASE)
        for t in graph.objects(node, DCAT.theme)
        if str(t).startswith(vocab.THEME_BASE)
    ]
    keywords = [str(k) for k in graph.objects(node, DCAT.keyword) if isinstance(k, Literal)]
    extras = []
    frequency = _iri(graph, node, DCTERMS.accrualPeriodicity).removeprefix(vocab.FREQUENCY_BASE)
    if frequency in vocab.FREQUENCIES:
        extras.append({"key": "frequency", "value": frequency})
    for key, predicate in (("issued", DCTERMS.issued), ("modified", DCTERMS.modified)):
        value = graph.value(node, predicate)
        if isinstance(value, Literal):
            extras.append({"key": key, "value": str(value)})
    spatial = _iri(graph, node, DCTERMS.spatial)
    match = re.search(r"municipalityKey/(\d{8})$", spatial)
    if match:
        extras.append({"key": "spatial_ags", "value": match[1]})
    contact = graph.value(node, DCAT.contactPoint)
    email = _iri(graph, contact, VCARD.hasEmail).removeprefix("mailto:") if contact is not None else ""
    return Harvested(
        identifier[:500],
        {
            "name": _name(title, identifier),
            "title": title[:300],
            "notes": _text(graph, node, DCTERMS.description),
            "license_id": dataset_licence,
            "url": _iri(graph, node, DCAT.landingPage),
            "maintainer": _text(graph, contact, VCARD.fn) if contact is not None else "",
            "maintainer_email": email,
            "tags": [{"name": k[:100]} for k in keywords],
            "groups": [{"name": t} for t in themes if t in vocab.THEMES],
            "extras": extras,
            "resources": resources,
        },
    )


def _next_page(graph: Graph) -> str:
    for view in graph.subjects(RDF.type, HYDRA.PartialCollectionView):
        following = graph.value(view, HYDRA.next) or graph.value(view, HYDRA.nextPage)
        if isinstance(following, URIRef):
            return str(following)
    return ""


class DcatHarvester:
    def harvest(self, url: str, fetch: Fetch, max_pages: int) -> Iterator[Harvested]:
        seen: set[str] = set()
        page_url = url
        for _page in range(max_pages):
            seen.add(page_url)
            response = fetch(page_url, ACCEPT)
            graph = _parse(response.body, response.content_type, response.url)
            datasets = list(graph.subjects(RDF.type, DCAT.Dataset))
            if not datasets and len(seen) == 1:
                raise HarvestError(_("The source holds no dcat:Dataset."))
            for node in datasets:
                harvested = dataset_package(graph, node)
                if harvested is not None:
                    yield harvested
            page_url = _next_page(graph)
            if not page_url:
                return
            if page_url in seen:
                raise HarvestError(_("The catalogue's pages lead in a circle; the harvest was stopped."))
        raise HarvestError(_("The source has more than %(n)d pages; the harvest was stopped.") % {"n": max_pages})


register("dcat", DcatHarvester())
