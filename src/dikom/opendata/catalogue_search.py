"""CKAN's ``package_search`` over any dataset queryset: the parsed ``q``/``fq`` (``search``) as SQL
filters or, for the whole published catalogue, as bit sets of the in-process index
(``catalogue_index``), sorting, and the facets with their display names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from dikom.opendata import catalogue_index, search, vocab
from dikom.opendata.models import Dataset, Organization, SearchTerm
from dikom.opendata.service import DEFAULT_ROWS, FACET_FIELDS, find_organization, licence_title

# --- search ------------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    count: int
    datasets: list[Dataset]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # Organisation name → title, for the facet labels (from the index: no query).
    organization_titles: dict[str, str] = field(default_factory=dict)


SORT_FIELDS = {
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "score": None,
    "relevance": None,
}


def _order(sort: str) -> list[str]:
    order: list[str] = []
    for part in (sort or "").split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or bits[0] not in SORT_FIELDS or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
            raise search.SearchQueryError(f"Can't sort by '{part.strip()[:60]}'")
        column = SORT_FIELDS[bits[0]]
        if column is None:
            continue
        order.append(("-" if len(bits) == 2 and bits[1] == "desc" else "") + column)
    return [*order, "-updated_at", "id"]


def _range_value(value: str, *, is_date: bool) -> Any:
    if value == "*":
        return None
    if is_date:
        text = value.replace("NOW", "")
        parsed = parse_datetime(text) if "T" in text else None
        if parsed is None:
            day = parse_date(text[:10]) if len(text) >= 10 else None
            if day is None:
                raise search.SearchQueryError(f"Invalid date '{value[:40]}'")
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed
    return value


def _clause_filter(clause: search.Clause) -> Q:
    name = clause.field
    value = clause.value or ""
    if clause.low is not None:
        column = {"metadata_modified": "updated_at", "metadata_created": "created_at"}.get(name)
        if column is None:
            raise search.SearchQueryError(f"Can't filter a range on '{name[:40]}'")
        low = _range_value(clause.low, is_date=True)
        high = _range_value(clause.high or "*", is_date=True)
        q = Q()
        if low is not None:
            q &= Q(**{f"{column}__gte": low})
        if high is not None:
            q &= Q(**{f"{column}__lte": high})
        return q
    if name in ("organization", "owner_org"):
        org = find_organization(value)
        return Q(organization=org) if org else Q(pk__in=[])
    if name in ("groups", "theme"):
        return Q(themes__contains=f" {value.upper()} ")
    if name in ("tags", "keywords"):
        return Q(tags__name=value)
    if name == "res_format":
        return Q(resources__format__iexact=value)
    if name in ("license_id", "license"):
        return Q(license_id=value)
    if name == "frequency":
        return Q(frequency=value.upper())
    if name == "name":
        return Q(name=value)
    if name == "id":
        return Q(uuid=value) if len(value) == 36 else Q(pk__in=[])
    if name in ("title", "text", "notes"):
        return _text_filter([value])
    if name in ("state", "dataset_type", "type", "capacity", "+state"):
        return Q()
    raise search.SearchQueryError(f"Unknown field '{name[:40]}'")


def _term_prefix(stem: str) -> Q:
    """SearchTerm rows whose term starts with ``stem``, as a lookup the term index serves.

    PostgreSQL: ``LIKE 'stem%'`` on the ``varchar_pattern_ops`` index (a range would follow
    the database's collation, which need not keep prefixes together). SQLite and others
    compare terms byte-wise, so the prefix is the range [stem, stem + U+10FFFF).
    """
    if connection.vendor == "postgresql":
        return Q(term__startswith=stem)
    return Q(term__gte=stem, term__lt=stem + "\U0010ffff")


def _text_filter(texts: list[str]) -> Q:
    """Datasets with, for every query stem, an indexed word starting with it (see ``search.py``).

    The same result as ``search_text`` containing `` <stem>`` for each stem, but looked up
    in the ``SearchTerm`` index instead of scanning every dataset's text.
    """
    q = Q()
    for stem in search.query_stems(" ".join(texts)):
        q &= Q(pk__in=SearchTerm.objects.filter(_term_prefix(stem[: search.TERM_LENGTH])).values("dataset_id"))
        if len(stem) > search.TERM_LENGTH:  # only the start of very long words is indexed
            q &= Q(search_text__contains=f" {stem}")
    return q


def legacy_text_filter(texts: list[str]) -> Q:
    """The search as it was before the term index (a scan of ``search_text``); kept as the reference in tests."""
    q = Q()
    for stem in search.query_stems(" ".join(texts)):
        q &= Q(search_text__contains=f" {stem}")
    return q


def search_datasets(
    queryset: QuerySet[Dataset],
    *,
    q: str = "",
    fq: str = "",
    sort: str = "",
    rows: int = DEFAULT_ROWS,
    start: int = 0,
    facet_fields: list[str] | tuple[str, ...] = (),
    facet_limit: int = 50,
    facet_mincount: int = 1,
    clauses: list[search.Clause] | tuple[search.Clause, ...] = (),
) -> SearchResult:
    """CKAN's package_search: raises ``search.SearchQueryError`` for queries Solr would refuse.

    The match set, count, page and facets come from ``catalogue_index`` (bitsets over
    the catalogue, exact counts); only a sort by title or name asks the database for
    the page.
    """
    parsed_q = search.parse(q)
    parsed_fq = search.parse(fq, allow_text=False)
    order = _order(sort)
    for name in facet_fields:
        if name not in FACET_FIELDS:
            raise search.SearchQueryError(f"Unknown facet field '{str(name)[:40]}'")
    all_clauses = [*parsed_q.clauses, *parsed_fq.clauses, *clauses]
    index = catalogue_index.get()
    match = index.base_bits(queryset)
    if parsed_q.text:
        match &= _text_bits(index, parsed_q.text)
    for clause in all_clauses:
        condition = _clause_bits(index, clause)
        match = match & ~condition if clause.negate else match & condition
    count = match.bit_count()
    effective = _effective_order(order)
    if effective is None:
        filtered = _filtered(queryset, parsed_q, all_clauses)
        ids = list(filtered.order_by(*order).values_list("pk", flat=True)[start : start + rows])
    else:
        ids = index.page(match, effective, start, rows)
    by_id = {
        d.pk: d
        for d in Dataset.objects.filter(pk__in=ids).select_related("organization").prefetch_related("tags", "resources")
    }
    page = [by_id[pk] for pk in ids if pk in by_id]
    facets = {name: _facet(index, name, match, facet_limit, facet_mincount) for name in facet_fields}
    titles = dict(index.organizations.values())
    return SearchResult(count=count, datasets=page, facets=facets, organization_titles=titles)


def _effective_order(order: list[str]) -> tuple[str, ...] | None:
    """The order without repeated columns; None when the database must sort (titles, names)."""
    seen: dict[str, str] = {}
    for column in order:
        seen.setdefault(column.lstrip("-"), column)
    if not set(seen) <= {"updated_at", "created_at", "id"}:
        return None
    return tuple(seen.values())


def _text_bits(index: catalogue_index.CatalogueIndex, texts: list[str]) -> int:
    """The datasets ``_text_filter`` finds, as a bitset (one term-index lookup per stem, cached per version)."""
    match = index.all_bits
    for stem in search.query_stems(" ".join(texts)):
        match &= index.stem_bits(stem, _term_prefix(stem[: search.TERM_LENGTH]))
        if len(stem) > search.TERM_LENGTH:
            long_words = Dataset.objects.filter(search_text__contains=f" {stem}").values_list("pk", flat=True)
            match &= index.bits_for_ids(long_words)
    return match


def _clause_bits(index: catalogue_index.CatalogueIndex, clause: search.Clause) -> int:
    """The datasets a clause selects (before negation), as ``_clause_filter`` would select them."""
    name = clause.field
    value = clause.value or ""
    if clause.low is not None:
        if name not in ("metadata_modified", "metadata_created"):
            raise search.SearchQueryError(f"Can't filter a range on '{name[:40]}'")
        low = _range_value(clause.low, is_date=True)
        high = _range_value(clause.high or "*", is_date=True)
        if name == "metadata_modified":
            return index.updated_range(low, high)
        return index.created_range(low, high)
    if name in ("organization", "owner_org"):
        org = find_organization(value)
        return index.value_bits("organization", [org.pk]) if org else 0
    if name in ("groups", "theme"):
        return index.value_bits("groups", [value.upper()])
    if name in ("tags", "keywords"):
        return index.value_bits("tags", [value])
    if name == "res_format":
        wanted = value.lower()
        return index.value_bits("res_format", [key for key in index.keys("res_format") if key.lower() == wanted])
    if name in ("license_id", "license"):
        return index.value_bits("license_id", [value])
    if name == "frequency":
        return index.value_bits("frequency", [value.upper()])
    if name in ("state", "dataset_type", "type", "capacity", "+state"):
        return index.all_bits
    if name in ("title", "text", "notes"):
        return _text_bits(index, [value])
    # name, id (and unknown fields, which raise): asked of the database, a handful of rows at most.
    condition = _clause_filter(clause)
    return index.bits_for_ids(Dataset.objects.filter(condition).values_list("pk", flat=True))


def _filtered(
    queryset: QuerySet[Dataset], parsed_q: search.ParsedQuery, all_clauses: list[search.Clause]
) -> QuerySet[Dataset]:
    """The match as a database query (for sorts the index does not keep: titles, names)."""
    filtered = queryset
    if parsed_q.text:
        filtered = filtered.filter(_text_filter(parsed_q.text))
    for clause in all_clauses:
        condition = _clause_filter(clause)
        if clause.negate:
            filtered = filtered.exclude(pk__in=Dataset.objects.filter(condition).values("pk"))
        else:
            filtered = filtered.filter(pk__in=Dataset.objects.filter(condition).values("pk"))
    return filtered


def _facet(index: catalogue_index.CatalogueIndex, name: str, match: int, limit: int, mincount: int) -> dict[str, int]:
    items: list[tuple[str, int]]
    counted = index.facet(name, match, limit, mincount)
    if name == "organization":
        items = [(index.organizations[key][0], n) for key, n in counted if key in index.organizations]
    elif name == "groups":
        merged: Counter[str] = Counter()
        for key, n in counted:
            merged[str(key).lower()] += n
        items = list(merged.items())
    else:
        items = [(str(key), n) for key, n in counted]
    items.sort(key=lambda item: (-item[1], item[0]))
    if limit >= 0:
        items = items[:limit]
    return dict(items)


def organization_titles() -> dict[str, str]:
    return dict(Organization.objects.values_list("name", "title"))


def facet_display_name(name: str, key: str, titles: dict[str, str] | None = None) -> str:
    """The label of a facet value; ``titles`` (``organization_titles()``) saves a query per organisation."""
    if name == "organization":
        if titles is not None:
            return titles.get(key, key)
        org = Organization.objects.filter(name=key).only("title").first()
        return org.title if org else key
    if name == "groups":
        return str(vocab.THEMES.get(key.upper(), key))
    if name == "license_id":
        return licence_title(key)
    if name == "frequency":
        return str(vocab.FREQUENCIES.get(key, key))
    return key


def search_facets(facets: dict[str, dict[str, int]], titles: dict[str, str] | None = None) -> dict[str, Any]:
    if titles is None:
        titles = organization_titles() if facets.get("organization") else {}
    return {
        name: {
            "title": name,
            "items": [
                {"name": key, "display_name": facet_display_name(name, key, titles), "count": n}
                for key, n in values.items()
            ],
        }
        for name, values in facets.items()
    }
