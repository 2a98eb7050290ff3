"""The DataStore's queries: CKAN's ``datastore_search`` over a distribution's own table.

``search_table`` translates CKAN's filters, ``q`` (the folded German words of the text columns, as the
portal search folds them), fields, sort and paging into SQL over the table's own columns and indexes
(``datastore_sql``); ``datastore`` loads and writes the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dikom.opendata import datastore_sql as sql
from dikom.opendata import search
from dikom.opendata.datastore_types import DatastoreError, convert_value
from dikom.opendata.models import DatastoreTable

MAX_LIMIT = 32000  # CKAN's ckan.datastore.search.rows_max
DEFAULT_LIMIT = 100


def physical(table: DatastoreTable) -> sql.Physical:
    return sql.Physical(
        table.db_table, [f["type"] for f in table.fields], row_count=table.row_count, last_id=table.last_id
    )


@dataclass
class Result:
    fields: list[dict[str, str]]
    records: list[dict[str, Any]]
    total: int | None
    limit: int
    offset: int
    estimated: bool = False


def _index(table: DatastoreTable, name: Any, param: str) -> int:
    for index, item in enumerate(table.fields):
        if item["id"] == name:
            return index
    raise DatastoreError(param, f'field "{str(name)[:40]}" not in resource')


def _filter(table: DatastoreTable, target: sql.Physical, query: sql.Query, filters: Any) -> None:
    if filters in (None, ""):
        return
    if not isinstance(filters, dict):
        raise DatastoreError("filters", "Must be an object of field: value")
    for name, wanted in filters.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if name == "_id":
            try:
                query.equals(target, None, [int(v) for v in values[:100]])
            except (TypeError, ValueError):
                raise DatastoreError("filters", "_id must be a whole number") from None
            continue
        index = _index(table, name, "filters")
        kind = table.fields[index]["type"]
        try:
            typed = [convert_value(v, kind, name) for v in values[:100]]
        except DatastoreError as error:
            raise DatastoreError("filters", error.message) from None
        query.equals(target, index, typed)


def _sort(table: DatastoreTable, query: sql.Query, sort: Any) -> None:
    if sort in (None, ""):
        query.order = [(None, False)]
        return
    if not isinstance(sort, str):
        raise DatastoreError("sort", "Must be a text like 'field asc, other desc'")
    for part in (p.strip() for p in sort.split(",")):
        if not part:
            continue
        bits = part.rsplit(" ", 1)
        name, direction = (bits[0].strip().strip('"'), bits[1].lower()) if len(bits) == 2 else (part.strip('"'), "asc")
        if direction not in ("asc", "desc"):
            name, direction = part.strip('"'), "asc"
        index = None if name == "_id" else _index(table, name, "sort")
        query.order.append((index, direction == "desc"))
    if not query.order:
        query.order = [(None, False)]


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
    estimate_above: int | None = None,
) -> Result:
    """CKAN's ``datastore_search`` over ``table``.

    The total is the table's known row count without conditions, else counted; with ``estimate_above``
    (CKAN's ``total_estimation_threshold``) PostgreSQL's estimate is given instead when it is higher.
    """
    target = physical(table)
    query = sql.Query()
    _filter(table, target, query, filters)
    if isinstance(q, str) and q.strip():
        stems = search.query_stems(q)
        if stems:
            query.words(target, stems)
    elif isinstance(q, dict):
        for name, text in q.items():
            query.contains(target, _index(table, name, "q"), str(text)[:200])
    elif q not in (None, ""):
        raise DatastoreError("q", "Must be a text or an object of field: text")
    id_field = {"id": "_id", "type": "int"}
    if fields in (None, "", []):
        chosen = [id_field, *table.fields]
        query.columns = [None, *range(len(table.fields))]
    else:
        names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else fields
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DatastoreError("fields", "Must be a list of field names")
        query.columns = [None if n == "_id" else _index(table, n, "fields") for n in names]
        chosen = [id_field if i is None else table.fields[i] for i in query.columns]
    _sort(table, query, sort)
    total, estimated = None, False
    if include_total and estimate_above is not None and query.where:
        guess = sql.estimate(target, query)
        if guess is not None and guess > estimate_above:
            total, estimated = guess, True
    if include_total and total is None:
        total = sql.count(target, query)
    rows = sql.page(target, query, limit, offset)
    keys = [f["id"] for f in chosen]
    records = [dict(zip(keys, row, strict=True)) for row in rows]
    return Result(fields=chosen, records=records, total=total, limit=limit, offset=offset, estimated=estimated)


def iterate_rows(table: DatastoreTable, **query: Any) -> Iterator[dict[str, Any]]:
    """Every record a query matches, in pages (for downloads)."""
    offset = 0
    while True:
        result = search_table(table, limit=5000, offset=offset, include_total=False, **query)
        yield from result.records
        if len(result.records) < 5000:
            return
        offset += 5000
