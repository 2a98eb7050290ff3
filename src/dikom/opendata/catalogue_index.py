"""An in-process index of the catalogue for ``package_search``: match sets as bitsets, exact facet counts.

At GovData's size (60 000 datasets) a faceted search in SQL costs seconds: the
match set is filtered again for the count, for the page and for each of six
facets, and a broad word ("Baum") matches a third of the catalogue
(``docs/benchmarks.md``). Here every dataset has a *position* in the order
(newest change first, then id) and every set of datasets is a Python integer
used as a bitset over those positions:

- each facet value (organisation, theme, keyword, format, licence, update
  frequency) has its postings — a bitset when it is frequent, else a tuple of
  positions — built from the database once per catalogue version;
- a query is the AND of the base queryset's bits (cached per queryset SQL), one
  bitset per search stem (read from the ``SearchTerm`` index in the database)
  and one per filter clause;
- the count is ``bit_count()``; a facet value's count is ``(match & bits).bit_count()``;
  frequent values are counted first, so with ``facet.limit`` the rare ones are
  skipped once they cannot reach the list (the counts stay exact);
- the page in the default order is found by counting bits chunk by chunk, so
  ``start=50000`` costs what ``start=0`` costs; other date orders walk a
  permutation; titles and names are sorted by the database (``None`` below).

The version is (newest ``updated_at``, newest search term id, a change counter in
the shared cache, this process's change counter): every change of a dataset, its
keywords or resources moves ``updated_at`` (``actions``), ``opendata_reindex``
writes new terms, and every save or delete (signals, ``apps.py``) moves both
counters — a deletion in another process is seen through the shared cache (Redis
in production; with the per-process memory cache only after the next change).
Each process keeps its own index and rebuilds it after a change (about a second
at 60 000 datasets).
"""

from __future__ import annotations

import bisect
import heapq
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet

from dikom.opendata.models import Dataset, Organization, Resource, SearchTerm, Tag

logger = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_BYTES = 2048
BYTE_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))
# Facet values with more datasets than this share of the catalogue are stored as bitsets.
DENSE_SHARE = 128
STEM_CACHE_SIZE = 256
BASE_CACHE_SIZE = 32

Version = tuple[Any, Any, Any, int]
# Guards the small caches of an index (threads of one process share it).
_cache_lock = threading.Lock()


def micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def bits_of(positions: Iterable[int], size: int) -> int:
    data = bytearray((size + 7) // 8)
    for position in positions:
        data[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(data, "little")


@dataclass
class Postings:
    """The datasets with one facet value."""

    total: int
    positions: tuple[int, ...] = ()
    bits: int = 0
    dense: bool = False

    def count(self, match: int, match_bytes: bytes) -> int:
        if self.dense:
            return (match & self.bits).bit_count()
        return sum(1 for p in self.positions if match_bytes[p >> 3] >> (p & 7) & 1)

    def as_bits(self, size: int) -> int:
        return self.bits if self.dense else bits_of(self.positions, size)


def _postings(groups: dict[Any, list[int]], size: int) -> dict[Any, Postings]:
    threshold = max(32, size // DENSE_SHARE)
    result: dict[Any, Postings] = {}
    for key, positions in groups.items():
        unique = sorted(set(positions))
        if len(unique) > threshold:
            result[key] = Postings(total=len(unique), bits=bits_of(unique, size), dense=True)
        else:
            result[key] = Postings(total=len(unique), positions=tuple(unique))
    return result


@dataclass
class CatalogueIndex:
    version: Version
    ids: list[int]
    facets: dict[str, dict[Any, Postings]]
    position: dict[int, int] = field(default_factory=dict)
    orders: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    stems: OrderedDict[str, int] = field(default_factory=OrderedDict)
    bases: OrderedDict[str, int] = field(default_factory=OrderedDict)
    facet_order: dict[str, list[tuple[Any, Postings]]] = field(default_factory=dict)
    # Organisation id → (name, title), read with the rest (organisation saves move the version too).
    organizations: dict[int, tuple[str, str]] = field(default_factory=dict)
    # µs since 1970 per position (``updated`` descending); read on first use by a range or a date order,
    # not at every rebuild (converting 120 000 datetimes was a third of the rebuild).
    _times: tuple[list[int], list[int]] | None = None

    def _load_times(self) -> tuple[list[int], list[int]]:
        if self._times is None:
            updated = [0] * self.size
            created = [0] * self.size
            for pk, changed, made in (
                Dataset.objects.order_by().values_list("pk", "updated_at", "created_at").iterator(5000)
            ):
                p = self.position.get(pk)
                if p is not None:
                    updated[p] = micros(changed)
                    created[p] = micros(made)
            self._times = (updated, created)
        return self._times

    @property
    def updated(self) -> list[int]:
        return self._load_times()[0]

    @property
    def created(self) -> list[int]:
        return self._load_times()[1]

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def all_bits(self) -> int:
        return (1 << self.size) - 1

    def bits_for_ids(self, ids: Iterable[int]) -> int:
        position = self.position
        return bits_of((position[i] for i in ids if i in position), self.size)

    # --- parts of a query -------------------------------------------------------------------------

    def base_bits(self, queryset: QuerySet[Dataset]) -> int:
        sql, params = queryset.values("pk").query.sql_with_params()
        key = repr((sql, params))
        cached = self.bases.get(key)
        if cached is None:
            cached = self.bits_for_ids(queryset.order_by().values_list("pk", flat=True))
            with _cache_lock:
                self.bases[key] = cached
                if len(self.bases) > BASE_CACHE_SIZE:
                    self.bases.popitem(last=False)
        return cached

    def stem_bits(self, stem: str, lookup: Any) -> int:
        """Datasets with a word starting with ``stem``; ``lookup`` is the ``SearchTerm`` filter for it."""
        cached = self.stems.get(stem)
        if cached is not None:
            with _cache_lock:
                if stem in self.stems:
                    self.stems.move_to_end(stem)
            return cached
        ids = SearchTerm.objects.filter(lookup).values_list("dataset_id", flat=True)
        bits = self.bits_for_ids(ids)
        if STEM_CACHE_SIZE:
            with _cache_lock:
                self.stems[stem] = bits
                while len(self.stems) > STEM_CACHE_SIZE:
                    self.stems.popitem(last=False)
        return bits

    def value_bits(self, facet: str, keys: Iterable[Any]) -> int:
        postings = self.facets[facet]
        result = 0
        for key in keys:
            if key in postings:
                result |= postings[key].as_bits(self.size)
        return result

    def keys(self, facet: str) -> list[Any]:
        return list(self.facets[facet])

    def updated_range(self, low: datetime | None, high: datetime | None) -> int:
        """Positions whose ``updated_at`` lies in [low, high]: one run, since positions follow it."""
        negated = [-u for u in self.updated]  # ascending
        begin = 0 if high is None else bisect.bisect_left(negated, -micros(high))
        end = self.size if low is None else bisect.bisect_right(negated, -micros(low))
        if end <= begin:
            return 0
        return ((1 << (end - begin)) - 1) << begin

    def created_range(self, low: datetime | None, high: datetime | None) -> int:
        lo = None if low is None else micros(low)
        hi = None if high is None else micros(high)
        return bits_of(
            (p for p, c in enumerate(self.created) if (lo is None or c >= lo) and (hi is None or c <= hi)),
            self.size,
        )

    # --- results ----------------------------------------------------------------------------------

    def page(self, match: int, order: tuple[str, ...], start: int, rows: int) -> list[int]:
        """The dataset ids of one page of ``match`` in ``order`` (columns with ``-`` for descending)."""
        if rows <= 0:
            return []
        if order == ("-updated_at", "id"):
            return [self.ids[p] for p in _nth_positions(match, start, rows, self.size)]
        permutation = self._permutation(order)
        data = match.to_bytes((self.size + 7) // 8, "little")
        found: list[int] = []
        seen = 0
        for p in permutation:
            if data[p >> 3] >> (p & 7) & 1:
                if seen >= start:
                    found.append(self.ids[p])
                    if len(found) == rows:
                        break
                seen += 1
        return found

    def _permutation(self, order: tuple[str, ...]) -> list[int]:
        permutation = self.orders.get(order)
        if permutation is None:
            columns = {"updated_at": self.updated, "created_at": self.created, "id": self.ids}

            def key(p: int) -> tuple[int, ...]:
                return tuple(-columns[c.lstrip("-")][p] if c.startswith("-") else columns[c][p] for c in order)

            permutation = sorted(range(self.size), key=key)
            self.orders[order] = permutation
        return permutation

    def facet(self, name: str, match: int, limit: int, mincount: int) -> list[tuple[Any, int]]:
        """(value, count) of the matching datasets, most frequent first, then by value; exact counts."""
        if limit == 0:
            return []
        ordered = self.facet_order.get(name)
        if ordered is None:
            ordered = sorted(self.facets[name].items(), key=lambda item: -item[1].total)
            self.facet_order[name] = ordered
        data = match.to_bytes((self.size + 7) // 8, "little")
        least = max(1, mincount)
        best: list[int] = []  # min-heap of the `limit` largest counts so far
        counts: list[tuple[Any, int]] = []
        for key, postings in ordered:
            if postings.total < least:
                break
            if limit >= 0 and len(best) >= limit and postings.total < best[0]:
                break  # sorted by total: no later value can reach the list
            n = postings.count(match, data)
            if n < least:
                continue
            counts.append((key, n))
            if limit >= 0:
                if len(best) < limit:
                    heapq.heappush(best, n)
                elif n > best[0]:
                    heapq.heapreplace(best, n)
        return counts


def _nth_positions(match: int, start: int, rows: int, size: int) -> list[int]:
    """Positions of the set bits number ``start`` … ``start + rows - 1`` (counting from bit 0)."""
    data = match.to_bytes((size + 7) // 8, "little")
    seen = 0
    offset = 0
    while offset < len(data):
        in_chunk = int.from_bytes(data[offset : offset + CHUNK_BYTES], "little").bit_count()
        if seen + in_chunk > start:
            break
        seen += in_chunk
        offset += CHUNK_BYTES
    found: list[int] = []
    for index in range(offset, len(data)):
        byte = data[index]
        if not byte:
            continue
        bits = BYTE_BITS[byte]
        if seen + len(bits) <= start:
            seen += len(bits)
            continue
        for bit in bits:
            if seen >= start:
                found.append(index * 8 + bit)
                if len(found) == rows:
                    return found
            seen += 1
    return found


# --- building and keeping the index ---------------------------------------------------------------------

_lock = threading.Lock()
_current: CatalogueIndex | None = None
# Moved by every save or delete of a dataset, distribution or keyword link in this process (see apps.py):
# tests roll back rows and may reuse ids and frozen times, which the database version alone would not show.
_generation = 0
SHARED_KEY = "opendata:catalogue-index:changes"


def changed(**_kwargs: Any) -> None:
    """Signal receiver: a dataset, distribution or keyword link was saved or deleted.

    Moves this process's generation and a counter in the shared cache, so that other
    processes notice deletions too (a deletion does not move the newest ``updated_at``).
    """
    global _generation
    _generation += 1
    try:
        cache.incr(SHARED_KEY)
    except ValueError:
        cache.set(SHARED_KEY, 1, None)
    except Exception:
        logger.warning("could not count an open data change in the shared cache", exc_info=True)


def current_version() -> Version:
    # Indexed look-ups only: a COUNT(*) of the datasets costs 12-50 ms on PostgreSQL at 60 000 rows.
    latest = Dataset.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    newest_term = SearchTerm.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        shared = cache.get(SHARED_KEY)
    except Exception:
        shared = None
    return (latest, newest_term, shared, _generation)


def _columns(model: Any, *columns: str) -> Iterator[tuple[Any, ...]]:
    """Plain columns of every row of ``model``'s table, without building model rows (the bulk of a rebuild)."""
    quote = connection.ops.quote_name
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)}"  # noqa: S608 - names only
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(5000):
            yield from batch


def build(version: Version) -> CatalogueIndex:
    rows = list(
        Dataset.objects.order_by("-updated_at", "id").values_list(
            "pk", "organization_id", "license_id", "frequency", "themes"
        )
    )
    ids = [row[0] for row in rows]
    position = {pk: p for p, pk in enumerate(ids)}
    size = len(ids)
    organizations: dict[Any, list[int]] = defaultdict(list)
    licences: dict[Any, list[int]] = defaultdict(list)
    frequencies: dict[Any, list[int]] = defaultdict(list)
    themes: dict[Any, list[int]] = defaultdict(list)
    for p, (_pk, organization_id, licence, frequency, codes) in enumerate(rows):
        organizations[organization_id].append(p)
        if licence:
            licences[licence].append(p)
        if frequency:
            frequencies[frequency].append(p)
        for code in codes.split():
            themes[code].append(p)
    tag_names = dict(Tag.objects.values_list("pk", "name"))
    tags: dict[Any, list[int]] = defaultdict(list)
    for dataset_id, tag_id in _columns(Dataset.tags.through, "dataset_id", "tag_id"):
        at = position.get(dataset_id)
        if at is not None and tag_names.get(tag_id):
            tags[tag_names[tag_id]].append(at)
    formats: dict[Any, list[int]] = defaultdict(list)
    for dataset_id, file_format in _columns(Resource, "dataset_id", "format"):
        at = position.get(dataset_id)
        if at is not None and file_format:
            formats[file_format].append(at)
    return CatalogueIndex(
        version=version,
        organizations={
            pk: (name, title) for pk, name, title in Organization.objects.values_list("pk", "name", "title")
        },
        ids=ids,
        position=position,
        facets={
            "organization": _postings(organizations, size),
            "license_id": _postings(licences, size),
            "frequency": _postings(frequencies, size),
            "groups": _postings(themes, size),
            "tags": _postings(tags, size),
            "res_format": _postings(formats, size),
        },
    )


def get() -> CatalogueIndex:
    """The index of the catalogue as it is now (rebuilt when a dataset changed since the last build)."""
    global _current
    version = current_version()
    index = _current
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _current
        if index is None or index.version != version:
            index = build(version)
            _current = index
    return index


def reset() -> None:
    """Forget the index (tests that change rows without moving ``updated_at``)."""
    global _current
    _current = None
