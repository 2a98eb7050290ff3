"""The in-process catalogue index answers ``package_search`` exactly as the database query would.

For a generated catalogue (two cities, drafts, several formats, themes, keywords and
update frequencies, some datasets changed after creation) every combination of
text, filters, negations, date ranges, sorts and pages is compared with the same
search done in SQL (``catalogue_search._filtered``), and every facet with counts taken from
the matching rows themselves.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from dikom.opendata import actions, catalogue_index, catalogue_search, search
from dikom.opendata.models import Dataset, Organization
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db

WORDS = ["Baum", "Bäume", "Baumkataster", "Straße", "Parkhaus", "Haushalt", "Wahl", "Schule", "Lärm", "Radweg"]
FIELDS = ["organization", "groups", "tags", "res_format", "license_id", "frequency"]


@pytest.fixture
def catalogue(org_a: Organization, org_b: Organization) -> list[Dataset]:
    rng = random.Random(7)
    made = []
    for number in range(60):
        made.append(
            make_dataset(
                org_a if number % 3 else org_b,
                f"index-{number}",
                " ".join(rng.sample(WORDS, 2)),
                notes=" ".join(rng.sample(WORDS, 3)),
                tags=rng.sample(["Umwelt", "Verkehr", "Finanzen", "Bildung", "Stadtgrün"], rng.randint(0, 3)),
                groups=[{"name": g} for g in rng.sample(["envi", "tran", "econ", "educ"], rng.randint(0, 2))],
                license_id=rng.choice(["dl-by-de/2.0", "dl-zero-de/2.0", "cc-zero"]),
                frequency=rng.choice(["", "DAILY", "ANNUAL"]),
                state=rng.choice(["active", "active", "active", "draft"]),
                resources=[
                    {"url": f"https://example.org/{number}-{k}", "format": rng.choice(["CSV", "JSON", "csv", "XLSX"])}
                    for k in range(rng.randint(0, 3))
                ],
            )
        )
    for dataset in rng.sample(made, 15):  # later changes reorder by modification time
        actions.update_dataset(dataset, {"title": " ".join(rng.sample(WORDS, 3))}, partial=True)
    return made


def _oracle(queryset, q: str, fq: str, sort: str):
    parsed_q = search.parse(q)
    clauses = [*parsed_q.clauses, *search.parse(fq, allow_text=False).clauses]
    return catalogue_search._filtered(queryset, parsed_q, clauses).order_by(*catalogue_search._order(sort))


QUERIES = [
    ("", ""),
    ("Baum", ""),
    ("Bäume Straße", ""),
    ("", "organization:fulda"),
    ("Baum", "-organization:fulda"),
    ("", "groups:envi"),
    ("Haushalt", "-groups:tran"),
    ("", "tags:Umwelt"),
    ("", "res_format:csv"),
    ("", "license_id:cc-zero frequency:DAILY"),
    ("", "-res_format:JSON"),
    ("", "metadata_modified:[2000-01-01T00:00:00Z TO *]"),
    ("", "metadata_modified:[* TO 2000-01-01T00:00:00Z]"),
    ("Schule", "metadata_created:[2000-01-01 TO *]"),
    ("", "title:Baum"),
    ("", "name:index-4"),
]
SORTS = ["", "metadata_modified desc", "metadata_modified asc", "metadata_created desc", "title_string asc"]


@pytest.mark.parametrize("queryset_kind", ["published", "all"])
def test_search_answers_what_the_database_answers(catalogue, queryset_kind: str) -> None:
    queryset = Dataset.objects.all()
    if queryset_kind == "published":
        queryset = queryset.filter(state=Dataset.State.PUBLISHED)
    for q, fq in QUERIES:
        for sort in SORTS:
            expected = list(_oracle(queryset, q, fq, sort).values_list("pk", flat=True))
            for start, rows in ((0, 10), (7, 5), (len(expected) - 2, 10), (500, 10)):
                result = catalogue_search.search_datasets(
                    queryset, q=q, fq=fq, sort=sort, rows=rows, start=max(0, start), facet_fields=FIELDS
                )
                assert result.count == len(expected), (q, fq, sort)
                assert [d.pk for d in result.datasets] == expected[max(0, start) : max(0, start) + rows], (q, fq, sort)
        matching = list(_oracle(queryset, q, fq, "").prefetch_related("tags", "resources"))
        result = catalogue_search.search_datasets(queryset, q=q, fq=fq, facet_fields=FIELDS, facet_limit=-1)
        assert result.facets == _facets(matching), (q, fq)


def _facets(matching: list[Dataset]) -> dict[str, dict[str, int]]:
    counters = {
        "organization": Counter(d.organization.name for d in matching),
        "groups": Counter(code.lower() for d in matching for code in d.theme_codes),
        "tags": Counter(t.name for d in matching for t in d.tags.all()),
        "res_format": Counter(f for d in matching for f in {r.format for r in d.resources.all()} if f),
        "license_id": Counter(d.license_id for d in matching if d.license_id),
        "frequency": Counter(d.frequency for d in matching if d.frequency),
    }
    return {name: dict(sorted(c.items(), key=lambda item: (-item[1], item[0]))) for name, c in counters.items()}


def test_facet_limit_and_mincount_keep_the_counts_exact(catalogue) -> None:
    everything = catalogue_search.search_datasets(
        Dataset.objects.all(), q="Baum", facet_fields=FIELDS, facet_limit=-1
    ).facets
    for limit in (0, 1, 2, 3):
        for mincount in (0, 1, 5, 20):
            facets = catalogue_search.search_datasets(
                Dataset.objects.all(), q="Baum", facet_fields=FIELDS, facet_limit=limit, facet_mincount=mincount
            ).facets
            for name in FIELDS:
                expected = [(k, n) for k, n in everything[name].items() if n >= mincount][:limit]
                assert list(facets[name].items()) == expected, (name, limit, mincount)


def test_changes_show_in_the_next_search(catalogue, org_a: Organization) -> None:
    before = catalogue_search.search_datasets(Dataset.objects.all(), q="Zeppelin").count
    assert before == 0
    made = make_dataset(org_a, "zeppelin", "Zeppelinlandeplatz")
    assert [d.pk for d in catalogue_search.search_datasets(Dataset.objects.all(), q="Zeppelin").datasets] == [made.pk]
    Dataset.objects.filter(pk=made.pk).delete()
    assert catalogue_search.search_datasets(Dataset.objects.all(), q="Zeppelin").count == 0
    # Rows written behind the index's back (another process) are noticed by the database version too.
    catalogue_index.reset()
    assert catalogue_search.search_datasets(Dataset.objects.all()).count == len(catalogue)


def test_unknown_facet_fields_and_sorts_are_search_query_errors(catalogue) -> None:
    with pytest.raises(search.SearchQueryError):
        catalogue_search.search_datasets(Dataset.objects.all(), facet_fields=["colour"])
    with pytest.raises(search.SearchQueryError):
        catalogue_search.search_datasets(Dataset.objects.all(), fq="colour:red")
    with pytest.raises(search.SearchQueryError):
        catalogue_search.search_datasets(Dataset.objects.all(), fq="name:[a TO b]")


def test_changes_patch_the_index_and_it_still_answers_what_the_database_answers(catalogue, org_a, org_b) -> None:
    rng = random.Random(11)
    published = Dataset.objects.filter(state=Dataset.State.PUBLISHED)
    catalogue_search.search_datasets(published, q="Baum", facet_fields=FIELDS)
    builds = catalogue_index.builds
    patches = catalogue_index.patches
    for round_number in range(6):
        for dataset in rng.sample(catalogue, 4):
            change = rng.choice(["title", "tags", "groups", "resources", "licence", "state"])
            data: dict = {
                "title": {"title": " ".join(rng.sample(WORDS, 2))},
                "tags": {"tags": rng.sample(["Umwelt", "Verkehr", "Neu", "Stadtgrün"], 2)},
                "groups": {"groups": [{"name": rng.choice(["envi", "tran", "soci"])}]},
                "resources": {
                    "resources": [{"url": "https://example.org/x", "format": rng.choice(["CSV", "GEOJSON"])}]
                },
                "licence": {"license_id": rng.choice(["cc-zero", "dl-by-de/2.0"])},
                "state": {"state": rng.choice(["active", "draft"])},
            }[change]
            actions.update_dataset(Dataset.objects.get(pk=dataset.pk), data, partial=True)
        catalogue.append(make_dataset(rng.choice([org_a, org_b]), f"neu-{round_number}", "Baum Parkhaus neu"))
        for queryset in (published, Dataset.objects.all()):
            for q, fq in QUERIES[:12]:
                for sort in ("", "metadata_created desc", "metadata_modified asc"):
                    expected = list(_oracle(queryset, q, fq, sort).values_list("pk", flat=True))
                    result = catalogue_search.search_datasets(queryset, q=q, fq=fq, sort=sort, rows=7, start=3)
                    assert result.count == len(expected), (round_number, q, fq, sort)
                    assert [d.pk for d in result.datasets] == expected[3:10], (round_number, q, fq, sort)
            matching = list(_oracle(queryset, "", "", "").prefetch_related("tags", "resources"))
            assert catalogue_search.search_datasets(queryset, facet_fields=FIELDS, facet_limit=-1).facets == _facets(
                matching
            )
    assert catalogue_index.patches > patches and catalogue_index.builds == builds  # patched, never rebuilt
    # A deletion is noticed (the number of datasets) and answered by a full build.
    Dataset.objects.filter(pk=catalogue[0].pk).delete()
    assert catalogue_search.search_datasets(Dataset.objects.all()).count == Dataset.objects.count()
    assert catalogue_index.builds == builds + 1
