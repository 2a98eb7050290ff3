"""The DataStore's physical tables: one real table per distribution, as CKAN's DataStore keeps them.

Nothing a user sends becomes an identifier. A table is named after its
distribution's UUID and a load counter only (``r_<uuid hex>_<generation>``; in
PostgreSQL inside the schema ``datastore``, in SQLite with the prefix
``datastore_``); its columns are ``_id`` (CKAN's ``_id``), ``c1`` … ``cN`` in the
order of ``DatastoreTable.fields`` (whose ``id`` keeps the CSV header as CKAN's
field id) and the row's folded words for ``q``. Every identifier is quoted
anyway. Values always travel as query parameters or through ``COPY``.

- PostgreSQL: typed columns (``bigint``, ``numeric``, ``date``, ``timestamp``,
  ``boolean``, ``jsonb``, ``text``), filled with ``COPY … FROM STDIN``; the
  primary key, one B-tree per column (``NULLS FIRST, _id``: sorts in both
  directions are index scans) and a GIN index on the ``tsvector`` column
  ``_search`` are built after the load, then ``ANALYZE``.
- SQLite: the same columns with SQLite's affinities (dates as ISO text, which
  sorts as dates do) and the words in ``_words``, filled with ``executemany``
  (``bulk_load``'s settings); after the load the indexes, and for ``q`` an FTS5
  table ``<table>_fts`` over ``_words`` (external content, rowid ``_id``) built
  in one statement, then kept in step by triggers on the table.

``q`` matches the project's folded German words (``dikom.lib.german_text``: the
same folding as the portal search) as prefixes, on both databases alike.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

SCHEMA = "datastore"
SQLITE_PREFIX = "datastore_"
# Columns beyond these get no index of their own (index builds cost load time; CKAN indexes none by default).
MAX_INDEXED_COLUMNS = 32
# Text columns with longer values get no B-tree (PostgreSQL refuses index rows over ~2.7 kB).
MAX_INDEXED_CHARS = 1000
MAX_WORD_CHARS = 200
MAX_SEARCH_CHARS = 4000
# SQLite while a new table is filled and indexed: page cache (KiB) and sorter threads (see bulk_load).
BULK_CACHE_KIB = 131072
BULK_THREADS = 2

PG_TYPES = {
    "text": "text",
    "int": "bigint",
    "numeric": "numeric",
    "date": "date",
    "timestamp": "timestamp",
    "bool": "boolean",
    "json": "jsonb",
}
SQLITE_TYPES = {
    "text": "TEXT",
    "int": "INTEGER",
    "numeric": "REAL",
    "date": "TEXT",
    "timestamp": "TEXT",
    "bool": "INTEGER",
    "json": "TEXT",
}


@dataclass
class Physical:
    """What the SQL needs of a table: its name, and per field its column and type."""

    name: str
    kinds: list[str]
    alias: str = "default"
    row_count: int | None = None
    last_id: int | None = None
    indexed: set[int] = field(default_factory=set)

    @property
    def connection(self) -> BaseDatabaseWrapper:
        return connections[self.alias]

    @property
    def postgres(self) -> bool:
        return self.connection.vendor == "postgresql"

    def quoted(self) -> str:
        return qualified(self.name, self.connection)

    def fts(self) -> str:
        return self.connection.ops.quote_name(f"{SQLITE_PREFIX}{self.name}_fts")


def column(index: int) -> str:
    """The column of the field at ``index`` (0-based): ``c1`` … — never derived from the field's name."""
    return f'"c{index + 1}"'


def table_name(resource_uuid: Any, generation: int) -> str:
    return f"r_{resource_uuid.hex}_{int(generation)}"


def qualified(name: str, connection: BaseDatabaseWrapper) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError("not a DataStore table name")
    if connection.vendor == "postgresql":
        return f'"{SCHEMA}"."{name}"'
    return f'"{SQLITE_PREFIX}{name}"'


# --- folded words for q ---------------------------------------------------------------------------


class WordCache:
    """Folded words of cell values; open data repeats its values (stations, districts), so each is folded once."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.cache: dict[str, str] = {}

    def words(self, cells: Iterable[str]) -> str:
        from dikom.lib.german_text import words

        parts: list[str] = []
        cache = self.cache
        for cell in cells:
            if not cell:
                continue
            found = cache.get(cell)
            if found is None:
                if cell.isdigit() and cell.isascii():  # keys and codes: one word, nothing to fold
                    parts.append(cell[:MAX_WORD_CHARS])
                    continue
                seen = dict.fromkeys(w.replace("_", "")[:MAX_WORD_CHARS] for w in words(cell))
                found = " ".join(w for w in seen if w)
                if len(cache) >= self.limit:
                    cache.clear()
                cache[cell] = found
            if found:
                parts.append(found)
        text = " ".join(parts)
        return text[:MAX_SEARCH_CHARS].rsplit(" ", 1)[0] if len(text) > MAX_SEARCH_CHARS else text


def query_text(stems: Sequence[str], postgres: bool) -> str:
    """The prefix query for ``q``'s stems: ``'a':* & 'b':*`` (tsquery) or ``"a"* AND "b"*`` (FTS5)."""
    clean = [s.replace("'", "").replace('"', "")[:MAX_WORD_CHARS] for s in stems]
    if postgres:
        return " & ".join(f"'{s}':*" for s in clean if s)
    return " AND ".join(f'"{s}"*' for s in clean if s)


# --- creating, loading, indexing, dropping ---------------------------------------------------------


def ensure_schema(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')


@contextmanager
def bulk_load(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """SQLite: settings for filling and indexing a new table, restored afterwards.

    A larger page cache (the default 2 MB spills the table's and the indexes' pages to the WAL over and
    over), temporary files (the sorts of the index builds) in memory, helper threads for those sorts, and
    a sampling ``ANALYZE``.
    Only this connection's settings change. ``synchronous`` and ``journal_mode`` stay as configured: they
    would guard the whole database, not only the new table (``synchronous=OFF`` in WAL mode risks
    corruption on power loss). PostgreSQL: nothing to set here.
    """
    if connection.vendor != "sqlite":
        yield
        return
    # analysis_limit: ANALYZE samples each index instead of reading all of it (statistics for the planner only).
    wanted = {"cache_size": -BULK_CACHE_KIB, "temp_store": 2, "threads": BULK_THREADS, "analysis_limit": 2000}
    before: dict[str, int] = {}
    with connection.cursor() as cursor:
        for name, value in wanted.items():
            cursor.execute(f"PRAGMA {name}")
            before[name] = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in before.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")


def create(table: Physical, *, with_key: bool) -> None:
    """An empty table (dropping a leftover of the same name); ``with_key`` adds the primary key now, not after a load."""
    drop(table.name, table.alias)
    ensure_schema(table.connection)
    types = PG_TYPES if table.postgres else SQLITE_TYPES
    columns = [f"{column(i)} {types[kind]}" for i, kind in enumerate(table.kinds)]
    with table.connection.cursor() as cursor:
        if table.postgres:
            key = " PRIMARY KEY" if with_key else " NOT NULL"
            cursor.execute(
                f"CREATE TABLE {table.quoted()} (_id bigint{key}, {', '.join([*columns, '_search tsvector'])})"
            )
        else:
            # The words live in the table (``_words``); the FTS5 table indexes them without a copy
            # (external content) and is filled in one statement after a load (``build_indexes``).
            cursor.execute(
                f"CREATE TABLE {table.quoted()} (_id INTEGER PRIMARY KEY, {', '.join([*columns, '_words TEXT'])})"
            )
            cursor.execute(
                f"CREATE VIRTUAL TABLE {table.fts()} USING fts5(_words, content='{SQLITE_PREFIX}{table.name}', "
                "content_rowid='_id', columnsize=0, tokenize='unicode61')"
            )


def add_columns(table: Physical, start: int) -> None:
    """``ALTER TABLE … ADD COLUMN`` for the fields from ``start`` on (``datastore_create`` adding fields)."""
    types = PG_TYPES if table.postgres else SQLITE_TYPES
    with table.connection.cursor() as cursor:
        for index in range(start, len(table.kinds)):
            cursor.execute(f"ALTER TABLE {table.quoted()} ADD COLUMN {column(index)} {types[table.kinds[index]]}")


def copy_rows(table: Physical, rows: Iterator[tuple[Any, ...]]) -> int:
    """PostgreSQL: ``COPY`` rows ``(_id, c1 … cN, words)`` of text values (None for NULL) into the table."""
    names = ", ".join(["_id", *(column(i) for i in range(len(table.kinds))), "_search"])
    count = 0
    with table.connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's cursor under Django's wrapper
        with raw.copy(f"COPY {table.quoted()} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
                count += 1
    return count


def insert_rows(table: Physical, rows: Iterator[tuple[Any, ...]], batch: int = 5000) -> int:
    """SQLite (and small API writes on PostgreSQL): ``executemany`` of rows ``(_id, c1 … cN, words)``.

    SQLite: the words go into ``_words``; after ``build_indexes`` triggers keep the FTS5 index in step.
    """
    width = len(table.kinds)
    names = ", ".join(["_id", *(column(i) for i in range(width))])
    if table.postgres:
        casts = ", ".join(["%s", *(_pg_param(kind) for kind in table.kinds), "CAST(%s AS tsvector)"])
        statement = f"INSERT INTO {table.quoted()} ({names}, _search) VALUES ({casts})"
    else:
        statement = f"INSERT INTO {table.quoted()} ({names}, _words) VALUES ({', '.join(['%s'] * (width + 2))})"
    count = 0
    with table.connection.cursor() as cursor:
        while chunk := list(itertools.islice(rows, batch)):
            cursor.executemany(statement, chunk)
            count += len(chunk)
    return count


def _pg_param(kind: str) -> str:
    return "%s" if kind == "text" else f"CAST(%s AS {PG_TYPES[kind]})"


def build_indexes(table: Physical, indexable: Sequence[bool]) -> set[int]:
    """After a load: primary key (PostgreSQL), a B-tree per indexable column, the word index; statistics."""
    indexed: set[int] = set()
    with table.connection.cursor() as cursor:
        if table.postgres:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(f'ALTER TABLE {table.quoted()} ADD CONSTRAINT "{table.name}_pk" PRIMARY KEY (_id)')
        for index, ok in enumerate(indexable):
            if not ok or len(indexed) >= MAX_INDEXED_COLUMNS:
                continue
            name = f'"{table.name}_i{index + 1}"'
            if table.postgres:
                cursor.execute(f"CREATE INDEX {name} ON {table.quoted()} ({column(index)} NULLS FIRST, _id)")
            else:
                cursor.execute(
                    f'CREATE INDEX "{SQLITE_PREFIX}{table.name}_i{index + 1}" ON {table.quoted()} ({column(index)})'
                )
            indexed.add(index)
        if table.postgres:
            cursor.execute(f'CREATE INDEX "{table.name}_q" ON {table.quoted()} USING gin (_search)')
        else:
            _sqlite_word_index(table, cursor)
        if table.postgres and table.connection.get_autocommit():
            # Also marks the pages all-visible, so that counts of a filter or of q need not visit the rows
            # (index-only and bitmap scans); VACUUM cannot run inside a transaction (migrations: ANALYZE only).
            cursor.execute(f"VACUUM (ANALYZE) {table.quoted()}")
        else:
            cursor.execute(f"ANALYZE {table.quoted()}")
        if table.postgres:
            cursor.execute("RESET maintenance_work_mem")
    return indexed


def _sqlite_word_index(table: Physical, cursor: Any) -> None:
    """SQLite: the FTS5 index built from ``_words`` in one statement, then triggers that keep it in step."""
    fts, main = table.fts(), table.quoted()
    cursor.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
    old = f"INSERT INTO {fts} ({fts}, rowid, _words) VALUES ('delete', old._id, old._words);"
    new = f"INSERT INTO {fts} (rowid, _words) VALUES (new._id, new._words);"
    prefix = f"{SQLITE_PREFIX}{table.name}"
    cursor.execute(f'CREATE TRIGGER "{prefix}_ai" AFTER INSERT ON {main} BEGIN {new} END')
    cursor.execute(f'CREATE TRIGGER "{prefix}_ad" AFTER DELETE ON {main} BEGIN {old} END')
    cursor.execute(f'CREATE TRIGGER "{prefix}_au" AFTER UPDATE OF _words ON {main} BEGIN {old} {new} END')


def drop(name: str, alias: str = "default") -> None:
    if not name:
        return
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qualified(name, connection)}")
        if connection.vendor != "postgresql":
            cursor.execute(f'DROP TABLE IF EXISTS "{SQLITE_PREFIX}{name}_fts"')


# --- reading ----------------------------------------------------------------------------------------


@dataclass
class Query:
    """A ``datastore_search`` translated to columns: conditions, order, page."""

    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: list[tuple[int | None, bool]] = field(default_factory=list)  # (field index or None for _id, descending)
    columns: list[int | None] = field(default_factory=list)  # None for _id
    match: str | None = None  # SQLite: the FTS5 query for q

    def conditions(self, table: Physical) -> tuple[list[str], list[Any]]:
        """All conditions, q's included (as a subquery of the FTS5 table on SQLite)."""
        if self.match is None:
            return list(self.where), list(self.params)
        words = f"_id IN (SELECT rowid FROM {table.fts()} WHERE {table.fts()} MATCH %s)"
        return [*self.where, words], [*self.params, self.match]

    def equals(self, table: Physical, index: int | None, values: Sequence[Any]) -> None:
        target = "_id" if index is None else column(index)
        kind = "int" if index is None else table.kinds[index]
        parts = []
        for value in values:
            if value is None:
                parts.append(f"{target} IS NULL")
            else:
                parts.append(f"{target} = {_pg_param(kind) if table.postgres else '%s'}")
                self.params.append(to_db(value, kind, table.postgres))
        self.where.append("(" + " OR ".join(parts) + ")" if parts else "FALSE")

    def contains(self, table: Physical, index: int, text: str) -> None:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if table.postgres:
            self.where.append(f"CAST({column(index)} AS text) ILIKE %s ESCAPE '\\'")
        else:
            self.where.append(f"CAST({column(index)} AS TEXT) LIKE %s ESCAPE '\\'")
        self.params.append(f"%{escaped}%")

    def words(self, table: Physical, stems: Sequence[str]) -> None:
        text = query_text(stems, table.postgres)
        if not text:
            return
        if table.postgres:
            self.where.append("_search @@ CAST(%s AS tsquery)")
            self.params.append(text)
        else:
            # SQLite: kept apart, so that count and page can start from the FTS5 table (see _sqlite_words).
            self.match = text


def to_db(value: Any, kind: str, postgres: bool) -> Any:
    """A typed value (``datastore.convert_value``) as a query parameter of a column of ``kind``."""
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if kind == "bool" and not postgres:
        return int(bool(value))
    return value


def from_db(value: Any, kind: str) -> Any:
    """A stored value as CKAN's JSON shows it."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if kind == "int" else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if kind == "bool":
        return bool(value)
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _where(query: Query) -> str:
    return " WHERE " + " AND ".join(query.where) if query.where else ""


def _order(table: Physical, query: Query) -> str:
    parts = []
    for index, descending in query.order:
        target = "_id" if index is None else column(index)
        if index is None:
            parts.append(f"{target} {'DESC' if descending else 'ASC'}")
        elif table.postgres:
            # NULL sorts as the smallest value on both databases (SQLite's own order; PostgreSQL's index order here).
            parts.append(f"{target} DESC NULLS LAST" if descending else f"{target} ASC NULLS FIRST")
        else:
            parts.append(f"{target} {'DESC' if descending else 'ASC'}")
    if not any(index is None for index, _desc in query.order):
        # A stable page order; in the first key's direction, so that the column's index serves it.
        descending = query.order[0][1] if query.order else False
        parts.append(f"_id {'DESC' if descending else 'ASC'}")
    return " ORDER BY " + ", ".join(parts)


def count_statement(table: Physical, query: Query) -> tuple[str, list[Any]]:
    """The SQL that counts the rows matching ``query`` (which has conditions)."""
    if query.match is not None and not query.where:
        return f"SELECT count(*) FROM {table.fts()} WHERE {table.fts()} MATCH %s", [query.match]
    where, params = query.conditions(table)
    return f"SELECT count(*) FROM {table.quoted()} WHERE {' AND '.join(where)}", params


def count(table: Physical, query: Query) -> int:
    """The number of matching rows: the known row count without conditions, else counted (with indexes)."""
    if not query.where and query.match is None and table.row_count is not None:
        return table.row_count
    statement, params = count_statement(table, query)
    with table.connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.fetchone()[0])


def estimate(table: Physical, query: Query) -> int | None:
    """PostgreSQL's planner estimate of the matching rows (CKAN's ``total_estimation_threshold``); None on SQLite."""
    if not table.postgres:
        return None
    with table.connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table.quoted()}{_where(query)}", query.params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def page(table: Physical, query: Query, limit: int, offset: int) -> list[list[Any]]:
    """The rows of one page, each ``[_id or value, …]`` as ``query.columns`` asks."""
    selected = ", ".join("_id" if i is None else column(i) for i in query.columns) or "_id"
    by_id = query.order in ([], [(None, False)], [(None, True)])
    if query.match is not None and by_id:
        # SQLite's FTS5 yields rowids in order: start from it and join the rows (no sort of all matches).
        fts = table.fts()
        where = [f"{fts} MATCH %s", *query.where]
        params = [query.match, *query.params]
        direction = "DESC" if query.order == [(None, True)] else "ASC"
        sql = f"SELECT {selected} FROM {fts} JOIN {table.quoted()} ON _id = {fts}.rowid WHERE {' AND '.join(where)}"
        sql += f" ORDER BY {fts}.rowid {direction} LIMIT %s OFFSET %s"
    else:
        where, params = query.conditions(table)
        dense = table.last_id is not None and table.row_count is not None and table.last_id == table.row_count
        if not where and offset and dense and query.order in ([], [(None, False)]):
            # Keyset paging: without gaps in _id (no deleted rows), offset n starts after _id n — an index seek.
            where.append("_id > %s")
            params.append(offset)
            offset = 0
        sql = f"SELECT {selected} FROM {table.quoted()}"
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        sql += _order(table, query) + " LIMIT %s OFFSET %s"
    with table.connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        rows = cursor.fetchall()
    kinds = ["int" if i is None else table.kinds[i] for i in query.columns]
    return [[from_db(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows]


def last_id(table: Physical) -> int:
    with table.connection.cursor() as cursor:
        cursor.execute(f"SELECT max(_id) FROM {table.quoted()}")
        return int(cursor.fetchone()[0] or 0)


def find_id(table: Physical, key: Sequence[tuple[int, Any]]) -> int | None:
    """The ``_id`` of the row whose primary-key columns hold these values."""
    query = Query()
    for index, value in key:
        query.equals(table, index, [value])
    with table.connection.cursor() as cursor:
        cursor.execute(f"SELECT _id FROM {table.quoted()}{_where(query)} LIMIT 1", query.params)
        found = cursor.fetchone()
    return int(found[0]) if found else None


def update_row(table: Physical, row_id: int, values: Sequence[Any], words: str) -> None:
    postgres = table.postgres
    sets = [f"{column(i)} = {_pg_param(kind) if postgres else '%s'}" for i, kind in enumerate(table.kinds)]
    params = [to_db(v, k, postgres) for v, k in zip(values, table.kinds, strict=True)]
    # SQLite: the table's triggers update the FTS5 index.
    sets.append("_search = CAST(%s AS tsvector)" if postgres else "_words = %s")
    params.append(words)
    with table.connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table.quoted()} SET {', '.join(sets)} WHERE _id = %s", [*params, row_id])


def delete_where(table: Physical, query: Query) -> int:
    with table.connection.cursor() as cursor:  # SQLite: the table's trigger removes the rows' words
        cursor.execute(f"DELETE FROM {table.quoted()}{_where(query)}", query.params)
        return int(cursor.rowcount)


def row_count(table: Physical) -> int:
    with table.connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table.quoted()}")
        return int(cursor.fetchone()[0])
