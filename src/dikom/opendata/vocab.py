"""Code lists of DCAT-AP.de: licences, EU file types, EU data themes, update frequencies.

The licence and file-type lists are the official ones shipped in ``vocab/``
(parsed once); themes and frequencies are short enough to keep here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VOCAB_DIR = Path(__file__).resolve().parent / "vocab"
LICENCE_BASE = "http://dcat-ap.de/def/licenses/"
FILE_TYPE_BASE = "http://publications.europa.eu/resource/authority/file-type/"
THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
MUNICIPALITY_KEY_BASE = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/"
CONTRIBUTOR_BASE = "http://dcat-ap.de/def/contributors/"


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str

    @property
    def iri(self) -> str:
        return LICENCE_BASE + self.id


@cache
def licences() -> dict[str, Licence]:
    """The dcat-ap.de licence list, by identifier (``dl-by-de/2.0``)."""
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import FOAF, SKOS

    graph = Graph()
    graph.parse(VOCAB_DIR / "dcat-ap-de-licenses-open.rdf", format="xml")
    found: dict[str, Licence] = {}
    for concept in graph.subjects(SKOS.inScheme, URIRef(LICENCE_BASE.rstrip("/"))):
        iri = str(concept)
        if not iri.startswith(LICENCE_BASE):
            continue
        ident = iri.removeprefix(LICENCE_BASE)
        labels = [o for o in graph.objects(concept, SKOS.prefLabel) if isinstance(o, Literal)]
        title = str(labels[0]) if labels else ident
        homepage = next(iter(graph.objects(concept, FOAF.homepage)), None)
        found[ident] = Licence(ident, title, str(homepage) if homepage else iri)
    return dict(sorted(found.items()))


@cache
def file_types() -> frozenset[str]:
    """The EU file-type codes (``CSV``, ``GEOJSON``, …)."""
    text = (VOCAB_DIR / "eu-file-type-and-data-theme.ttl").read_text(encoding="utf-8")
    codes = set()
    for chunk in text.split("<" + FILE_TYPE_BASE)[1:]:
        codes.add(chunk.split(">", 1)[0])
    codes.discard("")
    return frozenset(codes)


def normalise_format(value: str) -> str | None:
    """``csv`` or ``.CSV`` or a file-type IRI → ``CSV``; None when not on the EU list."""
    code = value.strip().removeprefix(FILE_TYPE_BASE).lstrip(".").upper().replace(" ", "_")
    return code if code in file_types() else None


THEMES: dict[str, str | Promise] = {
    "AGRI": _("Agriculture, fisheries, forestry and food"),
    "ECON": _("Economy and finance"),
    "EDUC": _("Education, culture and sport"),
    "ENER": _("Energy"),
    "ENVI": _("Environment"),
    "GOVE": _("Government and public sector"),
    "HEAL": _("Health"),
    "INTR": _("International issues"),
    "JUST": _("Justice, legal system and public safety"),
    "REGI": _("Regions and cities"),
    "SOCI": _("Population and society"),
    "TECH": _("Science and technology"),
    "TRAN": _("Transport"),
}

FREQUENCIES: dict[str, str | Promise] = {
    "CONT": _("continuously"),
    "DAILY": _("daily"),
    "WEEKLY": _("weekly"),
    "MONTHLY": _("monthly"),
    "QUARTERLY": _("quarterly"),
    "ANNUAL": _("annually"),
    "IRREG": _("irregularly"),
    "NEVER": _("never"),
    "UNKNOWN": _("unknown"),
}

MEDIA_TYPES = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "GEOJSON": "application/geo+json",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "PDF": "application/pdf",
    "XML": "application/xml",
    "ZIP": "application/zip",
    "TXT": "text/plain",
    "HTML": "text/html",
}
