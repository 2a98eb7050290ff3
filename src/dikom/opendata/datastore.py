"""The DataStore: CSV/XLSX distributions as typed, queryable tables (CKAN's ``datastore_*`` actions).

A table (``DatastoreTable``) belongs to one distribution; its records are
``DatastoreRow`` rows whose ``data`` is a JSON object (column → typed value),
the same on SQLite and PostgreSQL. Uploaded CSV/XLSX files are read in a
background task (``tasks.load_datastore``) in two passes over the file: the
first decides each column's type (``int``, ``numeric``, ``date``,
``timestamp``, else ``text``; German decimal commas and dates ``31.12.2024``
included), the second stores typed rows in batches and reports progress in
``row_count``. A file that cannot be read keeps its download; the table says
why it has none (``state`` failed, ``message`` in German).

Queries (``search``) filter on JSON keys (``filters``: value or list of values,
compared as the column's type), search the row's folded words (``q``, as the
portal search does), sort by columns and page with limit/offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils.translation import gettext as _

from dikom.opendata import search, tabular
from dikom.opendata.models import DatastoreRow, DatastoreTable, Resource

TABLE_FORMATS = {"CSV", "TSV", "XLSX"}
TYPES = ("text", "int", "numeric", "date", "timestamp", "bool", "json")
TYPE_ALIASES = {
    "int4": "int",
    "int8": "int",
    "integer": "int",
    "bigint": "int",
    "float": "numeric",
    "float8": "numeric",
    "double precision": "numeric",
    "number": "numeric",
    "boolean": "bool",
    "timestamptz": "timestamp",
    "string": "text",
    "varchar": "text",
}
BATCH = 2000
MAX_LIMIT = 32000  # CKAN's ckan.datastore.search.rows_max
DEFAULT_LIMIT = 100
MAX_SEARCH_CHARS = 4000

LEADING_ZERO_RE = re.compile(r"^[+-]?0\d")
INT_RE = re.compile(r"^[+-]?\d{1,15}$")
NUM_DE_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$")
NUM_EN_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
DATE_DE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
DATE_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TIMESTAMP_DE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
TIMESTAMP_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")


class DatastoreError(ValueError):
    """A request the DataStore refuses; ``field`` names the parameter (for CKAN's Validation Error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading values -------------------------------------------------------------------------------


def _date(text: str) -> date | None:
    match = DATE_DE_RE.match(text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        match = DATE_ISO_RE.match(text)
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return None


def _timestamp(text: str) -> datetime | None:
    match = TIMESTAMP_DE_RE.match(text)
    try:
        if match:
            return datetime(  # noqa: DTZ001 - local wall-clock times as the file states them
                int(match[3]), int(match[2]), int(match[1]), int(match[4]), int(match[5]), int(match[6] or 0)
            )
        if TIMESTAMP_ISO_RE.match(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return None


def _number(text: str, german: bool) -> float:
    if german:
        return float(text.replace(".", "").replace(",", "."))
    return float(text.replace(",", ""))


class ColumnGuess:
    """The types a column's values still allow; every non-empty value removes those it contradicts."""

    def __init__(self) -> None:
        self.candidates = {"int", "num_de", "num_en", "date", "timestamp"}
        self.seen = False

    def add(self, raw: str) -> None:
        text = raw.strip()
        if not text or not self.candidates:
            return
        self.seen = True
        if LEADING_ZERO_RE.match(text):
            # Postcodes, AGS and other keys ("06631009") are text: a number would lose the zero.
            self.candidates -= {"int", "num_de", "num_en"}
        checks = {
            "int": lambda t: bool(INT_RE.match(t)),
            "num_de": lambda t: bool(NUM_DE_RE.match(t)),
            "num_en": lambda t: bool(NUM_EN_RE.match(t)),
            "date": lambda t: _date(t) is not None,
            "timestamp": lambda t: _timestamp(t) is not None,
        }
        self.candidates = {c for c in self.candidates if checks[c](text)}

    def result(self, prefer_german: bool) -> str:
        if not self.seen:
            return "text"
        if "int" in self.candidates:
            return "int"
        if "num_de" in self.candidates and ("num_en" not in self.candidates or prefer_german):
            return "numeric:de"
        if "num_en" in self.candidates:
            return "numeric:en"
        if "date" in self.candidates:
            return "date"
        if "timestamp" in self.candidates:
            return "timestamp"
        return "text"


def convert_text(raw: str, kind: str) -> Any:
    """A cell read from a file → the stored JSON value of its column's (guessed) type."""
    text = raw.strip()
    if not text:
        return None
    if kind == "int":
        return int(text)
    if kind.startswith("numeric"):
        return _number(text, kind.endswith(":de"))
    if kind == "date":
        found = _date(text)
        return found.isoformat() if found else None
    if kind == "timestamp":
        stamp = _timestamp(text)
        return stamp.isoformat() if stamp else None
    return raw


def convert_value(value: Any, kind: str, column: str) -> Any:
    """A value from the API (JSON) → the stored value of a column of type ``kind``; DatastoreError if it is not one."""
    if value is None or value == "":
        return None
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
            if number is None:
                raise ValueError
            return number
        if kind == "numeric":
            if isinstance(value, bool):
                raise ValueError
            result = float(value)
            if result != result or result in (float("inf"), float("-inf")):
                raise ValueError
            return result
        if kind == "date":
            found = _date(str(value))
            if found is None:
                raise ValueError
            return found.isoformat()
        if kind == "timestamp":
            stamp = _timestamp(str(value))
            if stamp is None:
                day = _date(str(value))
                if day is None:
                    raise ValueError
                stamp = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a date as given
            return stamp.isoformat()
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "ja", "yes"):
                return True
            if str(value).lower() in ("false", "0", "nein", "no"):
                return False
            raise ValueError
        if kind == "json":
            return value
    except (TypeError, ValueError, OverflowError):
        raise DatastoreError(
            "records", f'"{str(value)[:40]}" is not a valid value of type {kind} (column "{column[:40]}")'
        ) from None
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise DatastoreError("records", f'NUL character in column "{column[:40]}"')
    return text[: tabular.MAX_CELL_CHARS]


def row_search_text(values: Iterable[Any]) -> str:
    text = search.index_text(*(str(v) for v in values if isinstance(v, str)))
    return text[:MAX_SEARCH_CHARS]


# --- loading an uploaded file ---------------------------------------------------------------------


def supports(resource: Resource) -> bool:
    return bool(resource.upload) and resource.format.upper() in TABLE_FORMATS


def _open_table(resource: Resource) -> tuple[Any, tabular.Table]:
    handle = resource.upload.open("rb")
    try:
        return handle, tabular.read_table(handle, resource.format)
    except BaseException:
        handle.close()
        raise


def load_from_upload(table: DatastoreTable) -> DatastoreTable:
    """Read the distribution's file into ``table`` (two passes); on failure the table says why and holds no rows."""
    resource = table.resource
    DatastoreTable.objects.filter(pk=table.pk).update(state=DatastoreTable.State.RUNNING, row_count=0, message="")
    DatastoreRow.objects.filter(table=table).delete()
    try:
        handle, parsed = _open_table(resource)
        with handle:
            guesses = [ColumnGuess() for _column in parsed.columns]
            for row in parsed.rows:
                for guess, cell in zip(guesses, row, strict=False):
                    guess.add(cell)
        prefer_german = parsed.separator in (";", "\t") or parsed.encoding == "cp1252"
        kinds = [guess.result(prefer_german) for guess in guesses]
        handle, parsed = _open_table(resource)
        with handle:
            count = _store_rows(table, parsed.columns, kinds, parsed.rows)
    except tabular.Unreadable as error:
        return _failed(table, error.message)
    except (OSError, ValueError) as error:
        return _failed(table, _("The file cannot be read: %(error)s") % {"error": str(error)[:100]})
    fields = [{"id": column, "type": kind.split(":")[0]} for column, kind in zip(parsed.columns, kinds, strict=True)]
    DatastoreTable.objects.filter(pk=table.pk).update(
        state=DatastoreTable.State.DONE, fields=fields, row_count=count, source="file", message=""
    )
    table.refresh_from_db()
    return table


def _failed(table: DatastoreTable, message: str) -> DatastoreTable:
    DatastoreRow.objects.filter(table=table).delete()
    DatastoreTable.objects.filter(pk=table.pk).update(
        state=DatastoreTable.State.FAILED, message=message, row_count=0, fields=[]
    )
    table.refresh_from_db()
    return table


def _store_rows(table: DatastoreTable, columns: list[str], kinds: list[str], rows: Iterator[list[str]]) -> int:
    batch: list[DatastoreRow] = []
    count = 0
    for row in rows:
        count += 1
        data = {column: convert_text(cell, kind) for column, kind, cell in zip(columns, kinds, row, strict=False)}
        batch.append(DatastoreRow(table=table, number=count, data=data, search_text=row_search_text(row)))
        if len(batch) >= BATCH:
            DatastoreRow.objects.bulk_create(batch)
            batch = []
            # Visible progress for the dataset page.
            DatastoreTable.objects.filter(pk=table.pk).update(row_count=count)
    if batch:
        DatastoreRow.objects.bulk_create(batch)
    return count


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
        if column.startswith("_") or column in seen:
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


def _typed(table: DatastoreTable, record: dict[str, Any]) -> dict[str, Any]:
    kinds = {f["id"]: f["type"] for f in table.fields}
    unknown = [key for key in record if key not in kinds and key != "_id"]
    if unknown:
        raise DatastoreError("records", f'Field "{unknown[0][:40]}" not in the table')
    return {column: convert_value(record.get(column), kind, column) for column, kind in kinds.items()}


@transaction.atomic
def create_table(resource: Resource, fields: Any, records: Any, primary_key: Any) -> DatastoreTable:
    """``datastore_create``: the table of ``resource`` with ``fields`` (new ones are added) and ``records`` appended."""
    new_fields = normalise_fields(fields)
    table, _created = DatastoreTable.objects.select_for_update().get_or_create(
        resource=resource, defaults={"state": DatastoreTable.State.DONE, "source": "api"}
    )
    known = {f["id"] for f in table.fields}
    table.fields = [*table.fields, *(f for f in new_fields if f["id"] not in known)]
    if not table.fields:
        records_list = _records(records)
        if records_list:
            table.fields = [{"id": key[:63], "type": "text"} for key in records_list[0] if not key.startswith("_")]
    if primary_key not in (None, "", []):
        keys = [primary_key] if isinstance(primary_key, str) else primary_key
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise DatastoreError("primary_key", "Must be a field name or a list of them")
        missing = [k for k in keys if k not in {f["id"] for f in table.fields}]
        if missing:
            raise DatastoreError("primary_key", f'Field "{missing[0][:40]}" not in the table')
        table.primary_key = keys
    table.state = DatastoreTable.State.DONE
    table.message = ""
    table.save()
    upsert(table, records, method="insert")
    return table


def _row_with_key(table: DatastoreTable, values: dict[str, Any]) -> DatastoreRow | None:
    rows: QuerySet[DatastoreRow] = table.rows.all()
    for index, column in enumerate(table.primary_key):
        alias = f"pk{index}"
        rows = rows.alias(**{alias: KeyTransform(column, "data")}).filter(**{alias: values.get(column)})
    return rows.first()


@transaction.atomic
def upsert(table: DatastoreTable, records: Any, *, method: str = "upsert") -> int:
    """``datastore_upsert``: insert, update or upsert ``records`` (update and upsert match on the primary key)."""
    if method not in ("upsert", "insert", "update"):
        raise DatastoreError("method", "One of upsert, insert, update")
    rows = _records(records)
    if method != "insert" and not table.primary_key:
        raise DatastoreError("method", f'"{method}" needs a table with a primary_key')
    last = table.rows.order_by("-number").values_list("number", flat=True).first() or 0
    new: list[DatastoreRow] = []
    for position, record in enumerate(rows, start=1):
        try:
            values = _typed(table, record)
        except DatastoreError as error:
            raise DatastoreError(error.field, f"Record {position}: {error.message}") from None
        existing = _row_with_key(table, values) if method != "insert" else None
        if existing is not None:
            existing.data = values
            existing.search_text = row_search_text(values.values())
            existing.save(update_fields=["data", "search_text"])
            continue
        if method == "update":
            raise DatastoreError("records", f"Record {position}: no row with this primary key")
        if table.primary_key and any(values.get(k) is None for k in table.primary_key):
            raise DatastoreError("records", f"Record {position}: the primary key must not be empty")
        last += 1
        new.append(DatastoreRow(table=table, number=last, data=values, search_text=row_search_text(values.values())))
    DatastoreRow.objects.bulk_create(new, batch_size=BATCH)
    DatastoreTable.objects.filter(pk=table.pk).update(row_count=table.rows.count())
    return len(rows)


@transaction.atomic
def delete_rows(table: DatastoreTable, filters: Any) -> int:
    """``datastore_delete``: the rows matching ``filters``, or the whole table without filters."""
    if filters in (None, "", {}):
        table.delete()
        return -1
    rows = _filtered(table, table.rows.all(), filters)
    deleted, _detail = rows.delete()
    DatastoreTable.objects.filter(pk=table.pk).update(row_count=table.rows.count())
    return deleted


# --- queries ---------------------------------------------------------------------------------------


@dataclass
class Result:
    fields: list[dict[str, str]]
    records: list[dict[str, Any]]
    total: int | None
    limit: int
    offset: int


def _column(table: DatastoreTable, name: str, param: str) -> dict[str, str]:
    for item in table.fields:
        if item["id"] == name:
            return item
    raise DatastoreError(param, f'field "{str(name)[:40]}" not in resource')


def _filtered(table: DatastoreTable, rows: QuerySet[DatastoreRow], filters: Any) -> QuerySet[DatastoreRow]:
    if filters in (None, ""):
        return rows
    if not isinstance(filters, dict):
        raise DatastoreError("filters", "Must be an object of field: value")
    for index, (name, wanted) in enumerate(filters.items()):
        if name == "_id":
            values = wanted if isinstance(wanted, list) else [wanted]
            try:
                rows = rows.filter(number__in=[int(v) for v in values])
            except (TypeError, ValueError):
                raise DatastoreError("filters", "_id must be a whole number") from None
            continue
        column = _column(table, name, "filters")
        values = wanted if isinstance(wanted, list) else [wanted]
        try:
            typed = [convert_value(v, column["type"], name) for v in values[:100]]
        except DatastoreError as error:
            raise DatastoreError("filters", error.message) from None
        alias = f"f{index}"
        rows = rows.alias(**{alias: KeyTransform(name, "data")})
        condition = Q()
        for value in typed:
            condition |= Q(**{f"{alias}__isnull": True}) if value is None else Q(**{alias: value})
        rows = rows.filter(condition)
    return rows


def _ordering(table: DatastoreTable, rows: QuerySet[DatastoreRow], sort: Any) -> tuple[QuerySet[DatastoreRow], list]:
    order: list[Any] = []
    if sort in (None, ""):
        return rows, ["number"]
    if not isinstance(sort, str):
        raise DatastoreError("sort", "Must be a text like 'field asc, other desc'")
    for part in (p.strip() for p in sort.split(",")):
        if not part:
            continue
        bits = part.rsplit(" ", 1)
        name, direction = (bits[0].strip().strip('"'), bits[1].lower()) if len(bits) == 2 else (part.strip('"'), "asc")
        if direction not in ("asc", "desc"):
            name, direction = part.strip('"'), "asc"
        if name == "_id":
            order.append("-number" if direction == "desc" else "number")
            continue
        _column(table, name, "sort")
        expression = KeyTransform(name, "data")
        order.append(expression.desc(nulls_last=True) if direction == "desc" else expression.asc(nulls_last=True))
    return rows, [*order, "number"]


def search_table(
    table: DatastoreTable,
    *,
    filters: Any = None,
    q: Any = None,
    fields: Any = None,
    sort: Any = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    include_total: bool = True,
) -> Result:
    """CKAN's ``datastore_search`` over ``table``."""
    rows = _filtered(table, table.rows.all(), filters)
    if isinstance(q, str) and q.strip():
        for stem in search.query_stems(q):
            rows = rows.filter(search_text__contains=f" {stem}")
    elif isinstance(q, dict):
        for index, (name, text) in enumerate(q.items()):
            _column(table, name, "q")
            alias = f"q{index}"
            rows = rows.alias(**{alias: KeyTextTransform(name, "data")}).filter(
                **{f"{alias}__icontains": str(text)[:200]}
            )
    elif q not in (None, ""):
        raise DatastoreError("q", "Must be a text or an object of field: text")
    all_fields = [{"id": "_id", "type": "int"}, *table.fields]
    if fields in (None, "", []):
        chosen = all_fields
    else:
        names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else fields
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DatastoreError("fields", "Must be a list of field names")
        chosen = [{"id": "_id", "type": "int"} if n == "_id" else _column(table, n, "fields") for n in names]
    rows, order = _ordering(table, rows, sort)
    total = rows.count() if include_total else None
    page = rows.order_by(*order).values_list("number", "data")[offset : offset + limit]
    records = []
    for number, data in page:
        record = {}
        for item in chosen:
            record[item["id"]] = number if item["id"] == "_id" else data.get(item["id"])
        records.append(record)
    return Result(fields=chosen, records=records, total=total, limit=limit, offset=offset)


def iterate_rows(table: DatastoreTable, **query: Any) -> Iterator[dict[str, Any]]:
    """Every record a query matches, in pages (for downloads)."""
    offset = 0
    while True:
        result = search_table(table, limit=5000, offset=offset, include_total=False, **query)
        yield from result.records
        if len(result.records) < 5000:
            return
        offset += 5000
