"""German full-text search over the forum and other registered sources, on PostgreSQL and SQLite.

A *source* (``register(Source(...))``) is a kind of document: the forum registers its questions and
answers here; the competence clusters' document library can register its documents the same way
and keep them current with ``index(Document(...))`` / ``remove(source, key)``. Every document is one
``SearchDocument`` row; a source decides who may search it (``can_search(user)``), and only what
everyone allowed to search a source may read is indexed (no drafts, no hidden posts).

Words are folded and stemmed with ``dikom.lib.german_text`` on both sides, so "Baum" finds "Bäume",
"Strasse" finds "Straße" and the other way round:

- PostgreSQL: ``search_text`` (the folded words) feeds a generated ``tsvector`` column with the
  ``german`` configuration (Snowball stemmer) and a GIN index; the query is
  ``plainto_tsquery('german', <folded query>)``.
- SQLite (and any other database): each stem is a ``SearchTerm`` row that repeats the document's
  rank and date; a query reads the rarest stem's rows in hit order (index ``forum_term_ranked``)
  and keeps the documents that have every other stem (look-ups on the (term, document) index), so
  it stops after the first page of hits instead of sorting every match.

A tag filter is one more word: ``tagx<slug without hyphens>`` is part of each tagged document.
Hits are ordered by ``rank`` (votes, an accepted answer) and then by date, newest first.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import Promise

from dikom.lib import german_text

MAX_WORDS = 8
EXCERPT_LENGTH = 300


@dataclass(frozen=True)
class Document:
    source: str
    key: str
    title: str
    text: str
    url: str
    tags: Sequence[str] = ()
    rank: int = 0
    changed_at: datetime.datetime | None = None
    title_searched: bool = True  # False: the title is only shown (an answer shows its question's title)


@dataclass(frozen=True)
class Source:
    """A kind of searchable document: its key, a label for the results, who may search it, and all its
    documents (for a full re-index)."""

    key: str
    label: str | Promise
    can_search: Callable[[Any], bool]
    documents: Callable[[], Iterable[Document]]


@dataclass(frozen=True)
class Hit:
    source: str
    source_label: str
    title: str
    excerpt: str
    url: str


@dataclass
class Result:
    hits: list[Hit] = field(default_factory=list)
    more: bool = False


SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    """Make a source searchable (call it from an ``AppConfig.ready``)."""
    SOURCES[source.key] = source


def tag_word(slug: str) -> str:
    return "tagx" + "".join(ch for ch in german_text.fold(slug) if ch.isalnum())


def _search_text(document: Document) -> str:
    searched = f"{document.title} {document.text}" if document.title_searched else document.text
    seen = dict.fromkeys(w.replace("_", "") for w in german_text.words(searched))
    seen.update(dict.fromkeys(tag_word(t) for t in document.tags))
    return " ".join(w for w in seen if w)


def _terms(search_text: str) -> set[str]:
    return {w if w.startswith("tagx") else german_text.stem(w) for w in search_text.split()}


def _uses_vector() -> bool:
    return connection.vendor == "postgresql"


@transaction.atomic
def index(document: Document) -> None:
    """Add or replace one document in the index."""
    from dikom.forum.models import SearchDocument, SearchTerm

    text = _search_text(document)
    row, _created = SearchDocument.objects.update_or_create(
        source=document.source,
        key=document.key,
        defaults={
            "title": document.title[:300],
            "excerpt": " ".join(document.text.split())[:EXCERPT_LENGTH],
            "url": document.url[:300],
            "search_text": text,
            "rank": document.rank,
            "changed_at": document.changed_at or timezone.now(),
        },
    )
    if _uses_vector():
        return
    terms = {t[:100] for t in _terms(text)}
    existing = set(SearchTerm.objects.filter(document=row).values_list("term", flat=True))
    if existing - terms:
        SearchTerm.objects.filter(document=row, term__in=existing - terms).delete()
    SearchTerm.objects.filter(document=row).exclude(rank=row.rank, changed_at=row.changed_at).update(
        rank=row.rank, changed_at=row.changed_at
    )
    SearchTerm.objects.bulk_create(
        [SearchTerm(document=row, term=t, rank=row.rank, changed_at=row.changed_at) for t in sorted(terms - existing)]
    )


def remove(source: str, key: str) -> None:
    from dikom.forum.models import SearchDocument

    SearchDocument.objects.filter(source=source, key=key).delete()


def set_rank(source: str, key: str, rank: int) -> None:
    from dikom.forum.models import SearchDocument, SearchTerm

    SearchDocument.objects.filter(source=source, key=key).update(rank=rank)
    SearchTerm.objects.filter(document__source=source, document__key=key).update(rank=rank)


def bulk_index(documents: Iterable[Document], *, batch: int = 2000) -> int:
    """Insert many new documents at once (a full re-index, the benchmark); returns how many."""
    from dikom.forum.models import SearchDocument, SearchTerm

    count = 0
    chunk: list[Document] = []

    def flush() -> None:
        rows = [
            SearchDocument(
                source=d.source,
                key=d.key,
                title=d.title[:300],
                excerpt=" ".join(d.text.split())[:EXCERPT_LENGTH],
                url=d.url[:300],
                search_text=_search_text(d),
                rank=d.rank,
                changed_at=d.changed_at or timezone.now(),
            )
            for d in chunk
        ]
        created = SearchDocument.objects.bulk_create(rows)
        if not _uses_vector():
            SearchTerm.objects.bulk_create(
                [
                    SearchTerm(document_id=r.pk, term=t[:100], rank=r.rank, changed_at=r.changed_at)
                    for r in created
                    for t in sorted(_terms(r.search_text))
                ],
                batch_size=5000,
            )

    for document in documents:
        chunk.append(document)
        count += 1
        if len(chunk) >= batch:
            with transaction.atomic():
                flush()
            chunk = []
    if chunk:
        with transaction.atomic():
            flush()
    return count


def reindex(source_keys: Iterable[str] | None = None) -> int:
    """Rebuild the index of the given sources (all registered ones by default); returns the documents."""
    from dikom.forum.models import SearchDocument

    keys = list(source_keys) if source_keys is not None else list(SOURCES)
    total = 0
    for key in keys:
        with transaction.atomic():
            SearchDocument.objects.filter(source=key).delete()
        total += bulk_index(SOURCES[key].documents())
    return total


# The rows of a term are read in hit order from this many on; fewer are read whole and sorted.
COUNT_PROBE = 5000

SQLITE_QUERY = """
SELECT d.source, d.title, d.excerpt, d.url
FROM forum_searchterm t0 INDEXED BY forum_term_ranked
JOIN forum_searchdocument d ON d.id = t0.document_id
WHERE t0.term = %s {others} AND d.source IN ({sources})
ORDER BY t0.rank DESC, t0.changed_at DESC
LIMIT %s
"""
SQLITE_OTHER = (
    "AND EXISTS (SELECT 1 FROM forum_searchterm t{n} WHERE t{n}.term = %s AND t{n}.document_id = t0.document_id)"
)


def _rows_sqlite(allowed: list[str], stems: list[str], limit: int) -> list[dict[str, Any]]:
    """Read the rarest term's rows in hit order (rank, date) and keep those with every other term.

    The rarest term drives, so a rare word reads a few rows; a frequent one finds its first page
    of hits after a few dozen rows of its rank-ordered index, with no sort of all matches.
    """
    from dikom.forum.models import SearchTerm

    unique = list(dict.fromkeys(t[:100] for t in stems))
    counts = {t: SearchTerm.objects.filter(term=t)[:COUNT_PROBE].count() for t in unique}
    if not all(counts.values()):
        return []
    ordered = sorted(unique, key=lambda t: counts[t])
    sql = SQLITE_QUERY.format(
        others=" ".join(SQLITE_OTHER.format(n=n) for n in range(1, len(ordered))),
        sources=", ".join(["%s"] * len(allowed)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ordered[0], *ordered[1:], *allowed, limit])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _rows_postgresql(allowed: list[str], folded: list[str], limit: int) -> list[dict[str, Any]]:
    from dikom.forum.models import SearchDocument

    queryset = SearchDocument.objects.filter(source__in=allowed).extra(  # a constant clause; words are bound
        where=["search_vector @@ plainto_tsquery('german'::regconfig, %s)"], params=[" ".join(folded)]
    )
    return list(queryset.order_by("-rank", "-changed_at").values("source", "title", "excerpt", "url")[:limit])


def search(
    user: Any, query: str, *, tag: str | None = None, sources: Iterable[str] | None = None, limit: int = 20
) -> Result:
    """The documents of the sources ``user`` may search with every word of ``query`` (and the tag)."""
    allowed = [
        key for key, source in SOURCES.items() if (sources is None or key in sources) and source.can_search(user)
    ]
    folded = [w.replace("_", "") for w in german_text.words(query) if w.replace("_", "")][:MAX_WORDS]
    stems = [german_text.stem(w) for w in folded]
    if tag:
        folded.append(tag_word(tag))
        stems.append(tag_word(tag))
    if not allowed or not stems:
        return Result()
    rows = _rows_postgresql(allowed, folded, limit + 1) if _uses_vector() else _rows_sqlite(allowed, stems, limit + 1)
    hits = [
        Hit(
            source=row["source"],
            source_label=str(SOURCES[row["source"]].label),
            title=row["title"],
            excerpt=row["excerpt"],
            url=row["url"],
        )
        for row in rows[:limit]
    ]
    return Result(hits=hits, more=len(rows) > limit)
