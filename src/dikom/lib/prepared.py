"""Querysets whose SQL is built once per thread and database, then run with new values (issue 21).

The citizen's most frequent pages read one row with a few joined models by a unique key
(the step's application with its city, adoption and service; a city by its slug). Building
that SQL with the ORM (resolving the lookups, the joins and some 100 selected columns) cost
more CPU than running it. ``PreparedQuery`` builds the queryset once with sample values,
keeps the compiled statement and Django's own row-to-object machinery (converters, the
``select_related`` populators), and per call only binds the new values and runs it: the same
statement, the same objects, the same router choice as the ORM query.

The queryset is given as a function of the values (``build``) together with the model fields
whose lookup each value goes through (``fields``), so that each value is prepared for the
database exactly as the lookup prepares it (``get_db_prep_value``: a UUID as 32 hex digits on
SQLite, as ``uuid`` on PostgreSQL). Building checks that every sample value appears once among
the statement's parameters; other parameters (constants such as ``active = true``) are kept.

Private Django API in use (``Query.get_compiler``, ``SQLCompiler.as_sql``/``get_converters``/
``apply_converters``, ``get_related_populators``): the same calls ``ModelIterable`` makes;
``lib/tests/test_prepared.py`` compares the objects with the ORM's on every run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Field, Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

M = TypeVar("M", bound=Model)


class _Compiled:
    """One compiled statement for one connection object (Django's connections are per thread)."""

    __slots__ = ("connection", "converters", "init_list", "model_fields", "params", "populators", "slots", "sql")

    def __init__(self, query: PreparedQuery[Any], alias: str) -> None:
        connection = connections[alias]
        queryset = query.build(*query.samples).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        objects = queryset._iterable_class is ModelIterable
        if not objects and queryset._iterable_class is not ValuesListIterable:
            raise ImproperlyConfigured("PreparedQuery: model objects or values_list() rows only")
        if (
            (objects and compiler.annotation_col_map)
            or queryset._known_related_objects  # type: ignore[attr-defined]
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        ):
            raise ImproperlyConfigured(
                "PreparedQuery: annotations, known related objects and prefetching are not supported"
            )
        template = list(params)
        slots: list[tuple[int, int]] = []  # (parameter position, value index)
        for index, (sample, field) in enumerate(zip(query.samples, query.fields, strict=True)):
            prepared = field.get_db_prep_value(sample, connection, prepared=False)
            positions = [pos for pos, value in enumerate(template) if value == prepared]
            if len(positions) != 1:
                raise ImproperlyConfigured(
                    f"PreparedQuery: sample value {index} appears {len(positions)} times among the parameters"
                )
            slots.append((positions[0], index))
        klass_info = compiler.klass_info
        select = compiler.select
        self.connection = connection
        self.sql = sql
        self.params = template
        self.slots = slots
        if not objects:  # ``values_list()``: rows in the order of its fields, no objects
            self.model_fields = (0, 0)
            self.init_list = []
            self.populators = []
        else:
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            self.model_fields = (start, end)
            self.init_list = [column[0].target.attname for column in select[start:end]]
            self.populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]  # 5.2's signature
        fields = [column[0] for column in select[0 : compiler.col_count]]
        self.converters = (compiler, compiler.get_converters(fields))


class PreparedQuery(Generic[M]):
    """``build(*values)`` as a queryset of ``M``, compiled once per thread and database.

    ``fields[i]`` is the model field whose lookup ``values[i]`` goes through; ``samples`` are
    values of the right types that occur nowhere else in the statement (used only to build it).
    ``all(*values)`` gives the same objects as ``list(build(*values))``.
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M, Any]], fields: Sequence[Field[Any, Any]],
                 samples: Sequence[Any]) -> None:  # fmt: skip
        if len(fields) != len(samples):
            raise ImproperlyConfigured("PreparedQuery: one field per sample value")
        self.model = model
        self.build = build
        self.fields = tuple(fields)
        self.samples = tuple(samples)
        self._local = threading.local()

    def _compiled(self, alias: str) -> _Compiled:
        store: dict[str, _Compiled] | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = {}
        compiled = store.get(alias)
        if compiled is None or compiled.connection is not connections[alias]:
            compiled = store[alias] = _Compiled(self, alias)
        return compiled

    def _run(self, values: tuple[Any, ...]) -> tuple[str, _Compiled, Any]:
        alias = router.db_for_read(self.model)
        compiled = self._compiled(alias)
        connection = compiled.connection
        params = list(compiled.params)
        for position, index in compiled.slots:
            params[position] = self.fields[index].get_db_prep_value(values[index], connection, prepared=False)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Any = cursor.fetchall()
        compiler, converters = compiled.converters
        if converters:
            rows = compiler.apply_converters(rows, converters)
        return alias, compiled, rows

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """The rows of a ``values_list()`` queryset (fields only), as ``list(build(*values))`` gives them."""
        _alias, compiled, rows = self._run(values)
        if compiled.populators or compiled.init_list:
            raise ImproperlyConfigured("PreparedQuery.rows is for values_list() querysets")
        return [tuple(row) for row in rows]

    def all(self, *values: Any) -> list[M]:
        alias, compiled, rows = self._run(values)
        if not compiled.init_list:
            raise ImproperlyConfigured("PreparedQuery.all is for querysets of model objects")
        start, end = compiled.model_fields
        objects = []
        for row in rows:
            obj = self.model.from_db(alias, compiled.init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def first(self, *values: Any) -> M | None:
        found = self.all(*values)
        return found[0] if found else None
