"""An in-process index of the catalogue for ``package_search``: match sets as bitsets, exact facet counts.

At GovData's size (60 000 datasets) a faceted search in SQL costs seconds: the
match set is filtered again for the count, for the page and for each of six
facets, and a broad word ("Baum") matches a third of the catalogue
(``docs/benchmarks.md``). Here every dataset has a *position* in the order of
its last change (oldest first; the newest change is the highest bit, so the
default order — newest first, then id — reads the bits from the top) and every
set of datasets is a Python integer used as a bitset over those positions:

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
Each process keeps its own index. After a change it is *patched* (``patch``): the
datasets changed since (``updated_at`` at or after the index's newest) leave a hole
at their old position and get new positions at the top — a few milliseconds for a
few changes. It is built anew (0.3–0.5 s CPU at 60 000 datasets) at the start, after
more than ``PATCH_LIMIT`` changes, when holes exceed a tenth, or when the number of
datasets does not match (a deletion).
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
from dikom.opendata.search import TERM_LENGTH

logger = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_BYTES = 2048
BYTE_BITS_DOWN = tuple(tuple(bit for bit in range(7, -1, -1) if byte >> bit & 1) for byte in range(256))
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
    ids: list[int]  # position → dataset id (a hole's id stays, but not in ``position``)
    facets: dict[str, dict[Any, Postings]]
    alive: int = 0  # the positions that are datasets now (a changed dataset leaves a hole where it was)
    position: dict[int, int] = field(default_factory=dict)
    orders: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    stems: OrderedDict[str, int] = field(default_factory=OrderedDict)
    bases: OrderedDict[str, tuple[QuerySet[Dataset], int]] = field(default_factory=OrderedDict)
    facet_order: dict[str, list[tuple[Any, Postings]]] = field(default_factory=dict)
    # Organisation id → (name, title), read with the rest (organisation saves move the version too).
    organizations: dict[int, tuple[str, str]] = field(default_factory=dict)
    # µs since 1970 per position (``updated`` ascending); read on first use by a range or a date order,
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
            # Holes (positions a changed dataset left) take the value before them: the list stays
            # ascending for bisect; they are outside ``alive`` anyway.
            for p in range(1, self.size):
                if updated[p] < updated[p - 1]:
                    updated[p] = updated[p - 1]
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
        return self.alive

    def bits_for_ids(self, ids: Iterable[int]) -> int:
        position = self.position
        return bits_of((position[i] for i in ids if i in position), self.size)

    # --- parts of a query -------------------------------------------------------------------------

    def base_bits(self, queryset: QuerySet[Dataset]) -> int:
        sql, params = queryset.values("pk").query.sql_with_params()
        key = repr((sql, params))
        cached = self.bases.get(key)
        if cached is None:
            bits = self.bits_for_ids(queryset.order_by().values_list("pk", flat=True))
            with _cache_lock:
                self.bases[key] = (queryset, bits)
                while len(self.bases) > BASE_CACHE_SIZE:
                    self.bases.popitem(last=False)
            return bits
        return cached[1]

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
        updated = self.updated  # ascending by position (holes keep their old, still ordered, value)
        begin = 0 if low is None else bisect.bisect_left(updated, micros(low))
        end = self.size if high is None else bisect.bisect_right(updated, micros(high))
        if end <= begin:
            return 0
        return (((1 << (end - begin)) - 1) << begin) & self.alive

    def created_range(self, low: datetime | None, high: datetime | None) -> int:
        lo = None if low is None else micros(low)
        hi = None if high is None else micros(high)
        return self.alive & bits_of(
            (p for p, c in enumerate(self.created) if (lo is None or c >= lo) and (hi is None or c <= hi)),
            self.size,
        )

    # --- results ----------------------------------------------------------------------------------

    def page(self, match: int, order: tuple[str, ...], start: int, rows: int) -> list[int]:
        """The dataset ids of one page of ``match`` in ``order`` (columns with ``-`` for descending)."""
        if rows <= 0:
            return []
        if order == ("-updated_at", "id"):
            return [self.ids[p] for p in _nth_positions_from_top(match, start, rows, self.size)]
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

            permutation = sorted(self.position.values(), key=key)
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


def _nth_positions_from_top(match: int, start: int, rows: int, size: int) -> list[int]:
    """Positions of the set bits number ``start`` … ``start + rows - 1``, counting from the highest bit down."""
    data = match.to_bytes((size + 7) // 8, "big")  # data[0] holds the highest positions
    last = len(data) - 1
    seen = 0
    offset = 0
    while offset < len(data):
        in_chunk = int.from_bytes(data[offset : offset + CHUNK_BYTES], "big").bit_count()
        if seen + in_chunk > start:
            break
        seen += in_chunk
        offset += CHUNK_BYTES
    found: list[int] = []
    for index in range(offset, len(data)):
        byte = data[index]
        if not byte:
            continue
        bits = BYTE_BITS_DOWN[byte]
        if seen + len(bits) <= start:
            seen += len(bits)
            continue
        for bit in bits:
            if seen >= start:
                found.append((last - index) * 8 + bit)
                if len(found) == rows:
                    return found
            seen += 1
    return found


# --- building and keeping the index ---------------------------------------------------------------------

_lock = threading.Lock()
_current: CatalogueIndex | None = None
# How often the index was built whole and patched (tests, benchmark).
builds = 0
patches = 0
#: More changed datasets than this since the last version: build anew instead of patching.
PATCH_LIMIT = 2000
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
        Dataset.objects.order_by("updated_at", "-id").values_list(
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
    global builds
    builds += 1
    return CatalogueIndex(
        version=version,
        alive=(1 << size) - 1,
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


def patch(old: CatalogueIndex, version: Version) -> CatalogueIndex | None:
    """``old`` brought up to ``version`` by moving the changed datasets to new positions at the top.

    The datasets changed since ``old`` was made are those with ``updated_at`` at or after its
    newest one (every change moves it, see the module docstring); each leaves a hole at its
    old position (cleared from every postings list) and gets a new position above all others,
    so the order stays (oldest change first). None — build anew — when there are too many
    changes or holes, when the newest change went backwards (rows written without the
    actions), or when the number of datasets does not match (a deletion).
    """
    global patches
    latest, new_latest = old.version[0], version[0]
    if latest is None or new_latest is None or new_latest < latest:
        return None
    rows = list(
        Dataset.objects.filter(updated_at__gte=latest)
        .order_by("updated_at", "-id")
        .values_list("pk", "organization_id", "license_id", "frequency", "themes", "updated_at", "created_at")[
            : PATCH_LIMIT + 1
        ]
    )
    if len(rows) > PATCH_LIMIT:
        return None
    changed = [row[0] for row in rows]
    holes_list = [old.position[pk] for pk in changed if pk in old.position]
    size = old.size + len(rows)
    holes = bits_of(holes_list, size)
    alive = (old.alive & ~holes) | (((1 << len(rows)) - 1) << old.size)
    living = alive.bit_count()
    if size - living > max(1000, living // 10) or living != Dataset.objects.order_by().count():
        return None
    position = dict(old.position)
    added: dict[str, dict[Any, list[int]]] = {name: defaultdict(list) for name in old.facets}
    for offset, (pk, organization_id, licence, frequency, codes, _u, _c) in enumerate(rows):
        at = old.size + offset
        position[pk] = at
        added["organization"][organization_id].append(at)
        if licence:
            added["license_id"][licence].append(at)
        if frequency:
            added["frequency"][frequency].append(at)
        for code in codes.split():
            added["groups"][code].append(at)
    links = list(Dataset.tags.through.objects.filter(dataset_id__in=changed).values_list("dataset_id", "tag_id"))
    names = dict(Tag.objects.filter(pk__in={tag for _d, tag in links}).values_list("pk", "name"))
    for dataset_id, tag_id in links:
        if names.get(tag_id):
            added["tags"][names[tag_id]].append(position[dataset_id])
    for dataset_id, file_format in Resource.objects.filter(dataset_id__in=changed).values_list("dataset_id", "format"):
        if file_format:
            added["res_format"][file_format].append(position[dataset_id])
    hole_set = set(holes_list)
    facets: dict[str, dict[Any, Postings]] = {}
    for name, postings in old.facets.items():
        updated: dict[Any, Postings] = {}
        for key in set(postings) | set(added[name]):
            extra = sorted(set(added[name].get(key, ())))
            before = postings.get(key)
            if before is not None and before.dense:
                bits = (before.bits & ~holes) | bits_of(extra, size)
                updated[key] = Postings(total=bits.bit_count(), bits=bits, dense=True)
                continue
            kept = before.positions if before is not None else ()
            if hole_set and kept:
                kept = tuple(p for p in kept if p not in hole_set)
            updated[key] = Postings(total=len(kept) + len(extra), positions=kept + tuple(extra))
        facets[name] = {key: value for key, value in updated.items() if value.total}
    # The cached base sets and stems stay valid for the unchanged datasets; the changed ones are looked up
    # again (base querysets are conditions on a dataset's own row, such as its state).
    bases: OrderedDict[str, tuple[QuerySet[Dataset], int]] = OrderedDict()
    for key, (queryset, bits) in list(old.bases.items()):
        members = queryset.filter(pk__in=changed).order_by().values_list("pk", flat=True)
        bases[key] = (queryset, (bits & ~holes) | bits_of((position[pk] for pk in members), size))
    stems: OrderedDict[str, int] = OrderedDict()
    if old.stems:
        terms = list(SearchTerm.objects.filter(dataset_id__in=changed).values_list("dataset_id", "term"))
        for stem, bits in list(old.stems.items()):
            prefix = stem[:TERM_LENGTH]
            found = bits_of((position[d] for d, term in terms if term.startswith(prefix)), size)
            stems[stem] = (bits & ~holes) | found
    times = None
    if old._times is not None:
        times = (
            old._times[0] + [micros(row[5]) for row in rows],
            old._times[1] + [micros(row[6]) for row in rows],
        )
    patches += 1
    return CatalogueIndex(
        version=version,
        ids=old.ids + changed,
        position=position,
        facets=facets,
        alive=alive,
        organizations={
            pk: (name, title) for pk, name, title in Organization.objects.values_list("pk", "name", "title")
        },
        _times=times,
        bases=bases,
        stems=stems,
    )


def get() -> CatalogueIndex:
    """The index of the catalogue as it is now (patched, or built anew, when the catalogue changed)."""
    global _current
    version = current_version()
    index = _current
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _current
        if index is None or index.version != version:
            index = (patch(index, version) if index is not None else None) or build(version)
            _current = index
    return index


def reset() -> None:
    """Forget the index (tests that change rows without moving ``updated_at``)."""
    global _current
    _current = None
