"""The DataStore: CSV/XLSX distributions as typed, queryable tables (CKAN's ``datastore_*`` actions).

Each distribution's data lives in a real table of its own with typed columns
(``datastore_sql``: ``COPY`` on PostgreSQL, ``executemany`` on SQLite); its
``DatastoreTable`` row holds the CKAN field ids and types, the live table's
name, and state and progress of a load.

Loading an upload (``load_from_upload``, run by ``tasks.load_datastore``): the
types are guessed from the first ``SAMPLE_ROWS`` rows; then the whole file is
read once, every cell checked against its column's type while it streams into
a *new* table. A cell the sample did not foresee stops that attempt: the types
are then guessed from the whole file (a column with mixed values becomes
``text``) and the file is loaded again — no row or value is dropped. Indexes
follow the load. The new table then replaces the old one in one transaction,
so readers see either the old or the new data, never a half-loaded table. A
file that cannot be read keeps its download and the table says why it has none
(``state`` failed, ``message`` in German). The publisher may correct the types
(``correct_types``): the table is rebuilt with them, or, if a value does not
fit, stays as it was and the message names the value.

Queries (``search_table``) are in ``datastore_query``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from dikom.opendata import datastore_sql as sql
from dikom.opendata import tabular
from dikom.opendata.datastore_query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Result,
    _filter,
    iterate_rows,
    physical,
    search_table,
)
from dikom.opendata.datastore_types import (
    COLUMN_TYPES,
    TYPE_ALIASES,
    TYPES,
    ColumnGuess,
    DatastoreError,
    Mismatch,
    convert_text,
    convert_value,
    loader,
)
from dikom.opendata.models import DatastoreTable, Resource

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ColumnGuess",
    "DatastoreError",
    "Result",
    "convert_text",
    "convert_value",
    "iterate_rows",
    "physical",
    "search_table",
]

TABLE_FORMATS = {"CSV", "TSV", "XLSX"}
SAMPLE_ROWS = 10_000
CHUNK_ROWS = 100_000  # rows per COPY statement / SQLite transaction; progress is reported between chunks
MAX_ATTEMPTS = 4


def drop_physical(table: DatastoreTable) -> None:
    """The distribution's table is gone (``post_delete`` of ``DatastoreTable``, see ``apps.py``)."""
    sql.drop(table.db_table)


# --- loading an uploaded file ---------------------------------------------------------------------


def supports(resource: Resource) -> bool:
    return bool(resource.upload) and resource.format.upper() in TABLE_FORMATS


def _open_table(resource: Resource) -> tuple[IO[bytes], tabular.Table]:
    handle = resource.upload.open("rb")
    try:
        # The storage's own file object: FieldFile's proxies cost a call per line read.
        return handle, tabular.read_table(getattr(handle, "file", handle), resource.format)
    except BaseException:
        handle.close()
        raise


class TypeConflict(Exception):
    """A value does not fit a type the publisher chose; ``message`` says which (German)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Loaded:
    fields: list[dict[str, str]]
    count: int
    notes: list[str]
    overrides: dict[str, str]


def _guess(columns: list[str], rows: Any, prefer_german: bool) -> list[str]:
    guesses = [ColumnGuess() for _column in columns]
    for row in rows:
        for guess, cell in zip(guesses, row, strict=False):
            guess.add(cell)
    return [guess.result(prefer_german) for guess in guesses]


def _rows(
    parsed: tabular.Table, kinds: list[str], long_text: list[bool], start: list[list[str]]
) -> Iterator[tuple[Any, ...]]:
    """``(_id, value…, words)`` per row; ``Mismatch`` for a cell its column's type refuses."""
    convert = [loader(kind, index, long_text) for index, kind in enumerate(kinds)]
    text_columns = [index for index, kind in enumerate(kinds) if kind == "text"]
    words = sql.WordCache()
    for number, row in enumerate(itertools.chain(start, parsed.rows), start=1):
        values = [fn(cell) for fn, cell in zip(convert, row, strict=True)]
        yield (number, *values, words.words([row[i] for i in text_columns]))


def _fill(table: sql.Physical, rows: Iterator[tuple[Any, ...]], progress: DatastoreTable) -> int:
    """Stream ``rows`` into the new table in chunks, reporting progress between them."""
    total = 0
    while True:
        chunk = itertools.islice(rows, CHUNK_ROWS)
        if table.postgres:
            done = sql.copy_rows(table, chunk)
        else:
            with transaction.atomic():
                done = sql.insert_rows(table, chunk)
        total += done
        DatastoreTable.objects.filter(pk=progress.pk).update(loaded_rows=total)
        if done < CHUNK_ROWS:
            return total


def _chosen(kind: str | None, prefer_german: bool) -> str | None:
    if kind == "numeric":
        return "numeric:de" if prefer_german else "numeric:en"
    return kind


def _load_file(table: DatastoreTable, name: str, overrides: dict[str, str], strict: bool) -> Loaded:
    """Read the upload into the new table ``name``. ``strict``: a type the publisher chose must fit every value."""
    resource = table.resource
    handle, parsed = _open_table(resource)
    try:
        sample = list(itertools.islice(parsed.rows, SAMPLE_ROWS))
        prefer_german = parsed.separator in (";", "\t") or parsed.encoding == "cp1252"
        columns = parsed.columns
        guessed = _guess(columns, sample, prefer_german)
        whole_file_guessed = len(sample) < SAMPLE_ROWS
        notes: list[str] = []
        for _attempt in range(len(columns) + 3):
            kinds = [_chosen(overrides.get(c), prefer_german) or guessed[i] for i, c in enumerate(columns)]
            long_text = [False] * len(columns)
            target = sql.Physical(name, [k.split(":")[0] for k in kinds])
            sql.create(target, with_key=False)
            try:
                count = _fill(target, _rows(parsed, kinds, long_text, sample), table)
                break
            except Mismatch as error:
                sql.drop(name)
                column = columns[error.index]
                if column in overrides:
                    message = _('The value "%(value)s" in column "%(column)s" is not of the type %(type)s.') % {
                        "value": error.value[:60],
                        "column": column[:60],
                        "type": overrides[column],
                    }
                    if strict:
                        raise TypeConflict(message) from None
                    notes.append(message)
                    overrides.pop(column)
                elif whole_file_guessed:  # pragma: no cover - the whole file's guess fits its every cell
                    guessed[error.index] = "text"
                else:
                    # The sample misled: the types of the whole file decide (a mixed column becomes text).
                    handle.close()
                    handle, parsed = _open_table(resource)
                    guessed = _guess(columns, parsed.rows, prefer_german)
                    whole_file_guessed = True
                handle.close()
                handle, parsed = _open_table(resource)
                sample = []
        else:  # pragma: no cover
            raise tabular.Unreadable(_("The types of the columns could not be determined."))
        ragged = parsed.ragged
    finally:
        handle.close()
    if ragged["long"]:
        notes.append(
            _(
                "%(rows)d rows have more cells than the header line (the first in line %(line)d); "
                "the extra cells are not in the table."
            )
            % {"rows": ragged["long"], "line": ragged["first_long"]}
        )
    sql.build_indexes(target, [not long for long in long_text])
    fields = [{"id": column, "type": kind.split(":")[0]} for column, kind in zip(columns, kinds, strict=True)]
    return Loaded(fields=fields, count=count, notes=notes, overrides=overrides)


def _start(table: DatastoreTable) -> tuple[int, str]:
    DatastoreTable.objects.filter(pk=table.pk).update(
        generation=F("generation") + 1, state=DatastoreTable.State.RUNNING, loaded_rows=0
    )
    table.refresh_from_db(fields=["generation"])
    return table.generation, sql.table_name(table.resource.uuid, table.generation)


def load_from_upload(table: DatastoreTable, *, corrections: dict[str, str] | None = None) -> DatastoreTable:
    """Read the distribution's file into a new table and put it in place of the old one.

    On failure the table says why and holds no rows. With ``corrections`` (``{field id: type}``, the
    publisher's) a value that does not fit keeps the old table, and the message says which value.
    """
    previous_state = table.state
    generation, name = _start(table)
    overrides = {**(table.type_overrides or {}), **(corrections or {})}
    try:
        with sql.bulk_load(connection):
            loaded = _load_file(table, name, overrides, strict=corrections is not None)
    except TypeConflict as error:
        sql.drop(name)
        DatastoreTable.objects.filter(pk=table.pk, generation=generation).update(
            state=previous_state if table.db_table else DatastoreTable.State.FAILED,
            message=_("The column types were not changed: %(reason)s") % {"reason": error.message},
            loaded_rows=table.row_count,
        )
        table.refresh_from_db()
        return table
    except tabular.Unreadable as error:
        return _failed(table, generation, name, error.message)
    except (OSError, ValueError, DatabaseError) as error:
        return _failed(table, generation, name, _("The file cannot be read: %(error)s") % {"error": str(error)[:100]})
    return _swap(table, generation, name, loaded, source="file")


def _swap(table: DatastoreTable, generation: int, name: str, loaded: Loaded, *, source: str) -> DatastoreTable:
    with transaction.atomic():
        current = DatastoreTable.objects.select_for_update().get(pk=table.pk)
        if current.generation != generation:
            # A newer upload or correction started meanwhile; it will put its own table in place.
            sql.drop(name)
            return current
        old = current.db_table
        current.db_table = name
        current.fields = loaded.fields
        current.row_count = current.loaded_rows = current.last_id = loaded.count
        current.state = DatastoreTable.State.DONE
        current.message = " ".join(loaded.notes)
        current.source = source
        current.type_overrides = loaded.overrides
        current.save()
        if old and old != name:
            sql.drop(old)
    return current


def _failed(table: DatastoreTable, generation: int, name: str, message: str) -> DatastoreTable:
    sql.drop(name)
    with transaction.atomic():
        current = DatastoreTable.objects.select_for_update().get(pk=table.pk)
        if current.generation != generation:
            return current
        # The file was replaced: the old file's table no longer describes the distribution.
        sql.drop(current.db_table)
        current.db_table = ""
        current.state = DatastoreTable.State.FAILED
        current.message = message
        current.row_count = current.loaded_rows = current.last_id = 0
        current.fields = []
        current.save()
    return current


# --- the publisher corrects the column types --------------------------------------------------------


def check_types(table: DatastoreTable, types: dict[str, str]) -> dict[str, str]:
    """The corrections ``{field id: type}`` that differ from the table's, validated."""
    known = {f["id"]: f["type"] for f in table.fields}
    changes: dict[str, str] = {}
    for name, kind in types.items():
        if name not in known:
            raise DatastoreError("fields", f'field "{str(name)[:40]}" not in resource')
        kind = TYPE_ALIASES.get(str(kind).lower(), str(kind).lower())
        if known[name] == kind:
            continue
        if kind not in dict(COLUMN_TYPES):
            raise DatastoreError("fields", f'Type "{kind[:20]}" cannot be chosen for a column')
        changes[name] = kind
    return changes


def rebuild_with_types(table: DatastoreTable, changes: dict[str, str]) -> DatastoreTable:
    """A table created through the API, rebuilt with other types (the file's tables reload their file)."""
    generation, name = _start(table)
    fields = [{"id": f["id"], "type": changes.get(f["id"], f["type"])} for f in table.fields]
    target = sql.Physical(name, [f["type"] for f in fields])
    old = physical(table)
    query = sql.Query(columns=[None, *range(len(fields))], order=[(None, False)])
    records = sql.page(old, query, max(table.row_count, 1), 0)
    rows = []
    try:
        for record in records:
            values = [convert_value(v, f["type"], f["id"]) for v, f in zip(record[1:], fields, strict=True)]
            stored = [sql.to_db(v, f["type"], target.postgres) for v, f in zip(values, fields, strict=True)]
            rows.append((record[0], *stored, _words(values, fields)))
    except DatastoreError as error:
        DatastoreTable.objects.filter(pk=table.pk, generation=generation).update(
            state=DatastoreTable.State.DONE,
            message=_("The column types were not changed: %(reason)s") % {"reason": error.message},
        )
        table.refresh_from_db()
        return table
    sql.create(target, with_key=False)
    with transaction.atomic():
        sql.insert_rows(target, iter(rows))
    sql.build_indexes(target, [True] * len(fields))
    return _swap(table, generation, name, Loaded(fields, len(rows), [], table.type_overrides or {}), source="api")


# --- tables created through the API ----------------------------------------------------------------


def normalise_fields(raw: Any) -> list[dict[str, str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise DatastoreError("fields", "Must be a list of {id, type}")
    fields: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in raw[: tabular.MAX_COLUMNS + 1]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            raise DatastoreError("fields", "Each field needs an id")
        column = item["id"].strip()[:63]
        if column.startswith("_") or column in seen or "\x00" in column:
            raise DatastoreError("fields", f'"{column}" is reserved or repeated')
        kind = str(item.get("type") or "text").lower()
        kind = TYPE_ALIASES.get(kind, kind)
        if kind not in TYPES:
            raise DatastoreError("fields", f'Type "{kind[:20]}" is not supported; use one of {", ".join(TYPES)}')
        seen.add(column)
        fields.append({"id": column, "type": kind})
    if len(fields) > tabular.MAX_COLUMNS:
        raise DatastoreError("fields", f"At most {tabular.MAX_COLUMNS} fields")
    return fields


def _records(raw: Any) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise DatastoreError("records", "Must be a list of objects")
    return raw


def _typed(table: DatastoreTable, record: dict[str, Any]) -> list[Any]:
    kinds = {f["id"]: f["type"] for f in table.fields}
    unknown = [key for key in record if key not in kinds and key != "_id"]
    if unknown:
        raise DatastoreError("records", f'Field "{unknown[0][:40]}" not in the table')
    return [convert_value(record.get(f["id"]), f["type"], f["id"]) for f in table.fields]


def _words(values: list[Any], fields: list[dict[str, str]]) -> str:
    return sql.WordCache().words(
        [v for v, f in zip(values, fields, strict=True) if f["type"] == "text" and isinstance(v, str)]
    )


@transaction.atomic
def create_table(resource: Resource, fields: Any, records: Any, primary_key: Any) -> DatastoreTable:
    """``datastore_create``: the table of ``resource`` with ``fields`` (new ones are added) and ``records`` appended."""
    new_fields = normalise_fields(fields)
    table, _created = DatastoreTable.objects.select_for_update().get_or_create(
        resource=resource, defaults={"state": DatastoreTable.State.DONE, "source": "api"}
    )
    before = len(table.fields) if table.db_table else 0
    if not table.db_table:
        table.fields = []
    known = {f["id"] for f in table.fields}
    table.fields = [*table.fields, *(f for f in new_fields if f["id"] not in known)]
    if not table.fields:
        records_list = _records(records)
        if records_list:
            table.fields = normalise_fields([{"id": key} for key in records_list[0] if not str(key).startswith("_")])
    if len(table.fields) > tabular.MAX_COLUMNS:
        raise DatastoreError("fields", f"At most {tabular.MAX_COLUMNS} fields")
    if primary_key not in (None, "", []):
        keys = [primary_key] if isinstance(primary_key, str) else primary_key
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise DatastoreError("primary_key", "Must be a field name or a list of them")
        missing = [k for k in keys if k not in {f["id"] for f in table.fields}]
        if missing:
            raise DatastoreError("primary_key", f'Field "{missing[0][:40]}" not in the table')
        table.primary_key = keys
    if not table.db_table:
        table.generation += 1
        table.db_table = sql.table_name(resource.uuid, table.generation)
        target = physical(table)
        sql.create(target, with_key=False)
        sql.build_indexes(target, [True] * len(table.fields))
        table.row_count = table.last_id = 0
    elif len(table.fields) > before:
        sql.add_columns(physical(table), before)
    table.state = DatastoreTable.State.DONE
    table.message = ""
    table.save()
    upsert(table, records, method="insert")
    return table


@transaction.atomic
def upsert(table: DatastoreTable, records: Any, *, method: str = "upsert") -> int:
    """``datastore_upsert``: insert, update or upsert ``records`` (update and upsert match on the primary key)."""
    if method not in ("upsert", "insert", "update"):
        raise DatastoreError("method", "One of upsert, insert, update")
    rows = _records(records)
    if method != "insert" and not table.primary_key:
        raise DatastoreError("method", f'"{method}" needs a table with a primary_key')
    table = DatastoreTable.objects.select_for_update().get(pk=table.pk)
    target = physical(table)
    index_of = {f["id"]: i for i, f in enumerate(table.fields)}
    last = sql.last_id(target)
    new: list[tuple[Any, ...]] = []
    for position, record in enumerate(rows, start=1):
        try:
            values = _typed(table, record)
        except DatastoreError as error:
            raise DatastoreError(error.field, f"Record {position}: {error.message}") from None
        words = _words(values, table.fields)
        key = [(index_of[k], values[index_of[k]]) for k in table.primary_key]
        existing = sql.find_id(target, key) if method != "insert" and key else None
        if existing is not None:
            sql.update_row(target, existing, values, words)
            continue
        if method == "update":
            raise DatastoreError("records", f"Record {position}: no row with this primary key")
        if table.primary_key and any(value is None for _index, value in key):
            raise DatastoreError("records", f"Record {position}: the primary key must not be empty")
        last += 1
        new.append(
            (
                last,
                *(sql.to_db(v, f["type"], target.postgres) for v, f in zip(values, table.fields, strict=True)),
                words,
            )
        )
    sql.insert_rows(target, iter(new))
    count = sql.row_count(target)
    DatastoreTable.objects.filter(pk=table.pk).update(row_count=count, loaded_rows=count, last_id=last)
    return len(rows)


@transaction.atomic
def delete_rows(table: DatastoreTable, filters: Any) -> int:
    """``datastore_delete``: the rows matching ``filters``, or the whole table without filters."""
    if filters in (None, "", {}):
        table.delete()  # the post_delete signal drops the physical table
        return -1
    target = physical(table)
    query = sql.Query()
    _filter(table, target, query, filters)
    deleted = sql.delete_where(target, query)
    count = sql.row_count(target)
    DatastoreTable.objects.filter(pk=table.pk).update(row_count=count, loaded_rows=count)
    return deleted
