"""Model instances read by a statement written out once, for the lookups every write request makes.

Building a QuerySet's SQL costs the CPU of several primary-key lookups in the database (about
1 ms against 0.1 ms, ``docs/benchmarks.md``). ``fetch_one`` builds its ``SELECT`` once per database
vendor, model and set of columns, and converts the row as the ORM does, so the instance equals what
``Model.objects.filter(**equal).first()`` would return. It reads the default database (writers' lookups).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class _Lookup:
    sql: str
    names: list[str]
    converters: list[tuple[list[Any], Any]]
    filters: list[models.Field[Any, Any]]


_lookups: dict[tuple[str, type[models.Model], tuple[str, ...]], _Lookup] = {}


def _lookup(model: type[models.Model], columns: tuple[str, ...]) -> _Lookup:
    key = (connection.vendor, model, columns)
    lookup = _lookups.get(key)
    if lookup is None:
        quote = connection.ops.quote_name
        fields = list(model._meta.concrete_fields)
        filters = [model._meta.get_field(name) for name in columns]
        where = " AND ".join(f"{quote(str(f.column))} = %s" for f in filters)  # type: ignore[union-attr]
        converters = []
        for field in fields:
            column = field.get_col(str(model._meta.db_table))
            converters.append((connection.ops.get_db_converters(column) + field.get_db_converters(connection), column))
        lookup = _lookups[key] = _Lookup(
            sql=(
                f"SELECT {', '.join(quote(str(f.column)) for f in fields)} "  # noqa: S608 - model names only
                f"FROM {quote(model._meta.db_table)} WHERE {where} LIMIT 1"
            ),
            names=[f.attname for f in fields],
            converters=converters,
            filters=filters,  # type: ignore[arg-type]
        )
    return lookup


def fetch_one(model: type[M], **equal: Any) -> M | None:
    """The row of ``model`` whose columns (attribute names, e.g. ``pk`` is not one: use ``id``) equal the
    values, or None; meant for lookups by a unique key."""
    lookup = _lookup(model, tuple(equal))
    params = [f.get_db_prep_value(v, connection) for f, v in zip(lookup.filters, equal.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, (functions, column) in enumerate(lookup.converters):
        for function in functions:
            values[index] = function(values[index], column, connection)
    return model.from_db(connection.alias, lookup.names, values)
