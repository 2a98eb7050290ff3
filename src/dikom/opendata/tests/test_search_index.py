"""The term index (``SearchTerm``) finds exactly what the scan of ``search_text`` found, and facets agree."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.core.management import call_command

from dikom.opendata import actions, catalogue_search
from dikom.opendata.models import Dataset, Organization, SearchTerm
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db

WORDS = [
    "Baum", "Bäume", "Baumkataster", "Bäumen", "Straße", "Strassen", "Straßenbäume", "Grünflächen",
    "Gruenflaeche", "Haushalt", "Haushaltspläne", "Öffnungszeiten", "Oeffentliche", "Übersicht",
    "Ueberwachung", "Fußgänger", "Fussgaengerzone", "Maße", "Masse", "Parkhäuser", "Parkhaus",
    "Wahlergebnisse", "Wahlen", "Schulen", "Schule", "Kitas", "Müll", "Muell", "Abfallkalender",
    "Radwege", "Bebauungspläne", "Messungen", "Messung", "Luftqualität", "Lärm", "Laermkarte",
]  # fmt: skip
QUERIES = [
    "Baum", "Bäume", "baeume", "BAUM", "Straße", "Strasse", "strassen", "Grünfläche", "gruenflaechen",
    "Haushaltsplan", "Öffnung", "oeffnungszeiten", "Übersicht", "ueber", "Fußgänger", "fussgaenger",
    "Maß", "Masse", "Parkhäuser", "Wahl", "Wahlen Schule", "Schulen Kitas", "Müll", "muell abfall",
    "Messungen", "Luft", "Lärm", "laerm", "Baum Straße", "Bebauung", "xyz", "ba", "Stadt",
]  # fmt: skip


@pytest.fixture
def generated(org_a: Organization, org_b: Organization) -> list[Dataset]:
    rng = random.Random(16)
    made = []
    for number in range(40):
        org = org_a if number % 3 else org_b
        title = " ".join(rng.sample(WORDS, 3))
        made.append(
            make_dataset(
                org,
                f"generiert-{number}",
                title,
                notes=" ".join(rng.sample(WORDS, 6)),
                tags=rng.sample(["Umwelt", "Verkehr", "Finanzen", "Bildung", "Grünflächen"], 2),
                resources=[{"url": f"https://example.org/{number}.csv", "format": rng.choice(["CSV", "JSON", "XLSX"])}],
            )
        )
    # Changes must replace the old words in the index.
    for dataset in made[:10]:
        actions.update_dataset(dataset, {"title": " ".join(rng.sample(WORDS, 2)), "notes": "geändert"}, partial=True)
    return made


def _ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_term_index_returns_what_the_text_scan_returned(generated) -> None:
    for query in QUERIES:
        _compare(query)


def _compare(query: str) -> None:
    legacy = _ids(Dataset.objects.filter(catalogue_search.legacy_text_filter([query])))
    indexed = _ids(Dataset.objects.filter(catalogue_search._text_filter([query])))
    assert indexed == legacy, query
    result = catalogue_search.search_datasets(Dataset.objects.all(), q=query, rows=1000)
    assert {d.pk for d in result.datasets} == legacy
    assert result.count == len(legacy)


def test_the_generated_set_exercises_folding_and_endings(generated) -> None:
    # Not a vacuous comparison: the queries do match, across umlaut/ß spellings and endings.
    def found(q: str) -> set[int]:
        return _ids(Dataset.objects.filter(catalogue_search._text_filter([q])))

    assert found("Bäume") and found("Bäume") == found("baeume") == found("Baum")
    assert found("Straße") == found("strasse") and found("Straße")
    assert found("xyz") == set()
    assert len(found("Baum Straße")) < len(found("Baum"))


def test_facets_count_the_matching_datasets(generated) -> None:
    fields = ["organization", "groups", "tags", "res_format", "license_id", "frequency"]
    result = catalogue_search.search_datasets(
        Dataset.objects.all(), q="Baum", rows=1000, facet_fields=fields, facet_limit=-1
    )
    matching = list(
        Dataset.objects.filter(catalogue_search.legacy_text_filter(["Baum"])).prefetch_related("tags", "resources")
    )
    assert matching
    assert result.facets["organization"] == dict(Counter(d.organization.name for d in matching))
    assert result.facets["tags"] == dict(Counter(t.name for d in matching for t in d.tags.all()))
    assert result.facets["res_format"] == dict(
        Counter(f for d in matching for f in {r.format for r in d.resources.all()})
    )
    assert result.facets["license_id"] == dict(Counter(d.license_id for d in matching))


def test_reindex_command_rebuilds_the_index(generated) -> None:
    expected = _ids(Dataset.objects.filter(catalogue_search.legacy_text_filter(["Baum"])))
    SearchTerm.objects.all().delete()
    assert _ids(Dataset.objects.filter(catalogue_search._text_filter(["Baum"]))) == set()
    call_command("opendata_reindex", verbosity=0)
    assert _ids(Dataset.objects.filter(catalogue_search._text_filter(["Baum"]))) == expected
