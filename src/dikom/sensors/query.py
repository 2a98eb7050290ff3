"""SensorThings query options: ``$filter`` compiled to Django ``Q`` (parsed by ``filterparse``), ``$orderby``, ``$select``, ``$expand``.

Everything compiles to SQL except the spatial functions: those are evaluated
in Python (``dikom.sensors.geometry``) over the Locations or
FeaturesOfInterest the path names, narrowed first by their bounding-box
columns, and enter the query as ``pk IN (...)``. So a spatial filter can be
combined freely with ``and``/``or``/``not`` and works on SQLite and
PostgreSQL alike, without a spatial database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import F, Q, Value
from django.db.models import functions as fn
from django.db.models import lookups as lk

from dikom.sensors import geometry as geo
from dikom.sensors import visibility
from dikom.sensors.entities import TYPES, EntityType
from dikom.sensors.filterparse import ADDITIVE, COMPARISON, MULTIPLICATIVE, QueryError, parse_filter

# --- paths ------------------------------------------------------------------------------------


@dataclass
class Resolved:
    orm: str  # ORM path
    kind: str  # "value", "json", "result", "geometry"
    owner: EntityType  # entity type the last property belongs to
    prefix: str  # ORM path to the owner ("" for the queried type)


def resolve_path(etype: EntityType, segments: list[str], pos: int | None = None) -> Resolved:
    current = etype
    prefix: list[str] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        if seg in current.navs:
            nav = current.navs[seg]
            prefix.append(nav.orm)
            current = TYPES[nav.target]
            i += 1
            continue
        base = "__".join(prefix)

        def join(name: str, base: str = base) -> str:
            return f"{base}__{name}" if base else name

        if seg in ("id", "@iot.id"):
            if i != len(segments) - 1:
                break
            return Resolved(join("id"), "value", current, base)
        if seg in current.intervals:
            if i != len(segments) - 1:
                break
            return Resolved(join(current.intervals[seg][0]), "value", current, base)
        if seg in current.props:
            field = current.props[seg]
            rest = segments[i + 1 :]
            if seg == "result" and current.name == "Observation":
                if rest:
                    return Resolved(join("__".join(["result", *rest])), "json", current, base)
                return Resolved(join("result"), "result", current, base)
            if seg == current.geometry and not rest:
                return Resolved(join(field), "geometry", current, base)
            if seg in ("properties", "parameters", "unitOfMeasurement", "resultQuality") or rest:
                if rest and seg not in ("properties", "parameters", "unitOfMeasurement", "resultQuality"):
                    break
                return Resolved(join("__".join([field, *rest])), "json", current, base)
            return Resolved(join(field), "value", current, base)
        break
    raise QueryError(f"Unknown property {'/'.join(segments)!r} of {etype.plural}", pos)


# --- compiler ---------------------------------------------------------------------------------

LOOKUPS: dict[str, type[lk.Lookup]] = {
    "eq": lk.Exact,
    "gt": lk.GreaterThan,
    "ge": lk.GreaterThanOrEqual,
    "lt": lk.LessThan,
    "le": lk.LessThanOrEqual,
}


class ResultText(models.Func):
    """An Observation's result as text: a string as it is, a number as written (10, 2.5), JSON as JSON."""

    output_field = models.TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s #>> '{}')", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(json_extract(%(expressions)s, '$') AS TEXT)", **extra)


SUFFIX = {"eq": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
SPATIAL = {
    "geo.intersects": geo.intersects,
    "st_intersects": geo.intersects,
    "st_within": geo.within,
    "st_contains": lambda a, b: geo.within(b, a),
    "st_equals": geo.equals,
    "st_disjoint": lambda a, b: not geo.intersects(a, b),
}
BOOLEAN_FUNCS = {"substringof", "contains", "startswith", "endswith", *SPATIAL}


class Compiler:
    def __init__(self, etype: EntityType) -> None:
        self.etype = etype
        self.needs_distinct = False
        #: (ORM prefix, entity type, to-many) of every navigation hop the current condition walks through.
        self.hops: set[tuple[str, str, bool]] = set()

    def _guarded(self, node: tuple, build: Any) -> Q:
        """A condition that may only look through entities the reader may see.

        ``Things?$filter=Datastreams/Observations/result gt 40`` must not find a public Thing by the
        readings of a Datastream its city withholds: every navigation hop of the condition is
        restricted to visible rows, in the same ``filter`` so that it constrains the same join.
        """
        outer, self.hops = self.hops, set()
        try:
            condition = build(node)
            hops = self.hops
        finally:
            self.hops = outer | self.hops
        if not hops:
            return condition
        for prefix, type_name, _many in sorted(hops):
            model = TYPES[type_name].model
            allowed = model.objects.filter(visibility.visible(type_name)).values("pk")
            condition &= Q(**{f"{prefix}__in": allowed}) | Q(**{f"{prefix}__isnull": True})
        if any(many for _prefix, _type, many in hops):
            # Across a to-many relation only one filter() keeps both parts on the same related row
            # (a negated Q would test them separately): the rows that match, as a subquery.
            return Q(pk__in=self.etype.model.objects.filter(condition).values("pk"))
        return condition

    # conditions -> Q
    def condition(self, node: tuple) -> Q:
        kind = node[0]
        if kind == "bin" and node[1] in ("and", "or"):
            left, right = self.condition(node[2]), self.condition(node[3])
            return left & right if node[1] == "and" else left | right
        if kind == "not":
            return ~self.condition(node[1])
        if kind == "bin" and node[1] in COMPARISON:
            return self._guarded(node, self.comparison)
        if kind == "call" and node[1] in BOOLEAN_FUNCS:
            return self._guarded(node, self.boolean_call)
        if kind == "lit" and isinstance(node[1], bool):
            return Q(pk__isnull=not node[1])
        if kind == "path":
            return self._guarded(node, lambda n: Q(**{self._resolve(n).orm: True}))
        raise QueryError("Expected a condition", node[-1])

    def _resolve(self, node: tuple) -> Resolved:
        resolved = resolve_path(self.etype, node[1], node[2])
        prefix: list[str] = []
        many = False
        for nav in _navs_along(self.etype, node[1]):
            prefix.append(nav.orm)
            many = many or nav.many
            self.hops.add(("__".join(prefix), nav.target, many))
        if resolved.prefix and any(
            nav.many for nav in _navs_along(self.etype, node[1])
        ):  # joins over a to-many relation repeat rows
            self.needs_distinct = True
        return resolved

    def comparison(self, node: tuple) -> Q:
        _bin, op, left, right, pos = node
        # true/false against a boolean function
        for a, b in ((left, right), (right, left)):
            if a[0] == "call" and a[1] in BOOLEAN_FUNCS and b[0] == "lit" and isinstance(b[1], bool):
                cond = self.boolean_call(a)
                wanted = b[1] if op == "eq" else (not b[1] if op == "ne" else None)
                if wanted is None:
                    raise QueryError("Booleans compare only with eq and ne", pos)
                return cond if wanted else ~cond
        # spatial measures: geo.distance(path, geography'...') lt 0.1
        for a, b, flipped in ((left, right, False), (right, left, True)):
            if a[0] == "call" and a[1] in ("geo.distance", "geo.length"):
                if b[0] != "lit" or not isinstance(b[1], (int, float)) or isinstance(b[1], bool):
                    raise QueryError(f"{a[1]} compares with a number", pos)
                return self.spatial_measure(a, _flip(op) if flipped else op, float(b[1]))
        # path op literal: plain field lookups
        for a, b, flipped in ((left, right, False), (right, left, True)):
            if a[0] == "path" and b[0] == "lit":
                return self.path_literal(a, _flip(op) if flipped else op, b[1], pos)
        lhs, rhs = self.expression(left), self.expression(right)
        if op == "ne":
            return ~Q(lk.Exact(lhs, rhs))
        return Q(LOOKUPS[op](lhs, rhs))

    def path_literal(self, path: tuple, op: str, value: Any, pos: int) -> Q:
        resolved = self._resolve(path)
        if resolved.kind == "geometry":
            raise QueryError("Compare geometries with the spatial functions", pos)
        orm = resolved.orm
        if resolved.kind == "result":
            if isinstance(value, bool) or value is None:
                orm = orm  # JSON comparison below
            elif isinstance(value, (int, float)):
                orm = orm[: -len("result")] + "result_number"
            elif isinstance(value, str):
                # A text literal compares with the result as text, whatever its type (as FROST and the OGC
                # conformance suite do): 10 is less than '3', and result ne '2' leaves out the number 2.
                text = ResultText(F(orm))
                if op == "ne":
                    return ~Q(lk.Exact(text, Value(value))) & Q(**{f"{orm}__isnull": False})
                return Q(LOOKUPS[op](text, Value(value)))
            else:
                raise QueryError("The result compares with numbers, strings, booleans or null", pos)
        if value is None:
            if op not in ("eq", "ne"):
                raise QueryError("null compares only with eq and ne", pos)
            q = Q(**{f"{orm}__isnull": True})
            return q if op == "eq" else ~q
        if isinstance(value, dt.datetime) and resolved.kind == "json":
            value = value.isoformat().replace("+00:00", "Z")
        if op == "ne":
            # SQL's and FROST's reading, which the OGC conformance suite checks: a missing value is not
            # "unequal", so ``resultTime ne …`` leaves out Observations without a resultTime.
            return ~Q(**{f"{orm}__exact": value}) & Q(**{f"{orm}__isnull": False})
        return Q(**{f"{orm}__{SUFFIX[op]}": value})

    def boolean_call(self, node: tuple) -> Q:
        _call, name, args, _pos = node
        if name in SPATIAL:
            return self.spatial_predicate(node)
        _arity(node, 2)
        a, b = (self.expression(x) for x in args)
        if name == "substringof":
            return Q(lk.Contains(b, a))
        if name == "contains":
            return Q(lk.Contains(a, b))
        if name == "startswith":
            return Q(lk.StartsWith(a, b))
        return Q(lk.EndsWith(a, b))

    # spatial functions: evaluated in Python over the geometry-bearing model
    def _spatial_operands(self, node: tuple) -> tuple[Resolved, dict[str, Any]]:
        args = node[2]
        path, literal = args[0], args[1]
        if path[0] == "lit" and literal[0] == "path":
            path, literal = literal, path
        if path[0] != "path" or literal[0] != "lit" or not isinstance(literal[1], dict):
            raise QueryError(f"{node[1]} takes a geometry property and a geography literal", node[3])
        resolved = self._resolve(path)
        if resolved.kind != "geometry":
            raise QueryError(f"{'/'.join(path[1])} is not a geometry", path[2])
        return resolved, literal[1]

    def _geometry_rows(self, resolved: Resolved, near: dict[str, Any] | None) -> list[tuple[int, Any]]:
        model = resolved.owner.model
        rows = model.objects.all()
        if near is not None:
            x0, y0, x1, y1 = geo.bbox(near)
            rows = rows.filter(min_x__lte=x1, max_x__gte=x0, min_y__lte=y1, max_y__gte=y0)
        field = resolved.owner.props[resolved.owner.geometry or ""]
        return list(rows.values_list("pk", field))

    def _pk_q(self, resolved: Resolved, ids: list[int]) -> Q:
        key = f"{resolved.prefix}__pk__in" if resolved.prefix else "pk__in"
        return Q(**{key: ids})

    def spatial_predicate(self, node: tuple) -> Q:
        _arity(node, 2)
        resolved, literal = self._spatial_operands(node)
        test = SPATIAL[node[1]]
        narrowing = literal if node[1] in ("geo.intersects", "st_intersects", "st_within", "st_equals") else None
        ids = [
            pk
            for pk, value in self._geometry_rows(resolved, narrowing)
            if (g := geo.geometry_of(value)) is not None and _safe(test, g, literal)
        ]
        return self._pk_q(resolved, ids)

    def spatial_measure(self, node: tuple, op: str, number: float) -> Q:
        ops = {
            "eq": lambda v: v == number,
            "ne": lambda v: v != number,
            "gt": lambda v: v > number,
            "ge": lambda v: v >= number,
            "lt": lambda v: v < number,
            "le": lambda v: v <= number,
        }
        if node[1] == "geo.length":
            _arity(node, 1)
            path = node[2][0]
            if path[0] != "path":
                raise QueryError("geo.length takes a geometry property", node[3])
            resolved = self._resolve(path)
            rows = self._geometry_rows(resolved, None)
            ids = [pk for pk, v in rows if (g := geo.geometry_of(v)) is not None and ops[op](geo.length(g))]
            return self._pk_q(resolved, ids)
        _arity(node, 2)
        resolved, literal = self._spatial_operands(node)
        ids = [
            pk
            for pk, v in self._geometry_rows(resolved, None)
            if (g := geo.geometry_of(v)) is not None and ops[op](_safe(geo.distance, g, literal))
        ]
        return self._pk_q(resolved, ids)

    # values -> expressions
    def expression(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            if isinstance(node[1], dict):
                raise QueryError("A geography literal belongs in a spatial function", node[2])
            return Value(node[1])
        if kind == "path":
            resolved = self._resolve(node)
            if resolved.kind == "geometry":
                raise QueryError("A geometry belongs in a spatial function", node[2])
            if resolved.kind == "result":
                return F(resolved.orm[: -len("result")] + "result_number")
            return F(resolved.orm)
        if kind == "bin" and node[1] in ADDITIVE | MULTIPLICATIVE:
            lhs, rhs = self.expression(node[2]), self.expression(node[3])
            if node[1] == "mod":
                return fn.Mod(lhs, rhs)
            operator = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[node[1]]
            if operator == "/":
                lhs = fn.Cast(lhs, models.FloatField())
            return models.ExpressionWrapper(
                models.expressions.CombinedExpression(lhs, operator, rhs), output_field=models.FloatField()
            )
        if kind == "call":
            return self.function(node)
        raise QueryError("Expected a value", node[-1])

    def function(self, node: tuple) -> Any:
        _call, name, args, pos = node
        utc = dt.UTC
        unary = {
            "tolower": fn.Lower,
            "toupper": fn.Upper,
            "trim": fn.Trim,
            "length": fn.Length,
            "round": fn.Round,
            "floor": fn.Floor,
            "ceiling": fn.Ceil,
        }
        dates = {
            "year": fn.ExtractYear,
            "month": fn.ExtractMonth,
            "day": fn.ExtractDay,
            "hour": fn.ExtractHour,
            "minute": fn.ExtractMinute,
            "second": fn.ExtractSecond,
        }
        if name in unary:
            _arity(node, 1)
            return unary[name](self.expression(args[0]))
        if name in dates:
            _arity(node, 1)
            return dates[name](self.expression(args[0]), tzinfo=utc)
        if name == "date":
            _arity(node, 1)
            return fn.TruncDate(self.expression(args[0]), tzinfo=utc)
        if name == "now":
            _arity(node, 0)
            return Value(dt.datetime.now(tz=utc))
        if name == "mindatetime":
            return Value(dt.datetime(1, 1, 1, tzinfo=utc))
        if name == "maxdatetime":
            return Value(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=utc))
        if name == "concat":
            _arity(node, 2)
            return fn.Concat(*(self.expression(a) for a in args), output_field=models.TextField())
        if name == "indexof":
            _arity(node, 2)
            return fn.StrIndex(self.expression(args[0]), self.expression(args[1])) - 1
        if name == "substring":
            if len(args) not in (2, 3):
                raise QueryError("substring takes 2 or 3 arguments", pos)
            start = self.expression(args[1]) + 1
            if len(args) == 3:
                return fn.Substr(self.expression(args[0]), start, self.expression(args[2]))
            return fn.Substr(self.expression(args[0]), start)
        if name in BOOLEAN_FUNCS or name in ("geo.distance", "geo.length"):
            raise QueryError(f"{name} cannot be used here", pos)
        raise QueryError(f"Unknown function {name!r}", pos)


def _navs_along(etype: EntityType, segments: list[str]) -> list[Any]:
    out, current = [], etype
    for seg in segments:
        nav = current.navs.get(seg)
        if nav is None:
            break
        out.append(nav)
        current = TYPES[nav.target]
    return out


def _arity(node: tuple, count: int) -> None:
    if len(node[2]) != count:
        raise QueryError(f"{node[1]} takes {count} argument(s)", node[3])


def _safe(test: Any, a: Any, b: Any) -> Any:
    try:
        return test(a, b)
    except (TypeError, ValueError, KeyError, IndexError):
        return False


def _flip(op: str) -> str:
    return {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)


def compile_filter(etype: EntityType, text: str) -> tuple[Q, bool]:
    """The condition for ``$filter=text`` on ``etype``, and whether rows may repeat (needs ``distinct``)."""
    compiler = Compiler(etype)
    condition = compiler.condition(parse_filter(text))
    return condition, compiler.needs_distinct


# --- $orderby, $select, $expand ----------------------------------------------------------------


def compile_orderby(etype: EntityType, text: str) -> list[Any]:
    out: list[Any] = []
    for item in _split(text, ","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"Bad $orderby item {item!r}")
        compiler = Compiler(etype)
        node = parse_filter(words[0])
        if node[0] == "path" and compiler._resolve(node).kind == "geometry":
            # No spatial order exists; a stable one by the stored GeoJSON's text (as other servers do).
            expression: Any = fn.Cast(F(compiler._resolve(node).orm), models.TextField())
        else:
            expression = compiler.expression(node)
        if isinstance(expression, Value):  # PostgreSQL refuses a constant in ORDER BY; it would order nothing
            raise QueryError(f"$orderby needs a property, not a constant: {words[0]!r}")
        descending = len(words) == 2 and words[1].lower() == "desc"
        out.append(expression.desc() if descending else expression.asc())
    return out


def _split(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses and quotes."""
    parts, depth, current, quoted = [], 0, "", False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("Unbalanced parentheses")
        if char == sep and depth == 0 and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if depth != 0 or quoted:
        raise QueryError("Unbalanced parentheses or quotes")
    parts.append(current.strip())
    return [p for p in parts if p]


@dataclass
class Options:
    top: int | None = None
    skip: int = 0
    count: bool | None = None
    filter: str | None = None
    orderby: str | None = None
    select: list[str] | None = None
    expand: dict[str, Options] | None = None
    result_format: str | None = None


MAX_TOP = 10_000
MAX_EXPAND_DEPTH = 5


def parse_options(params: dict[str, str], depth: int = 0) -> Options:
    if depth > MAX_EXPAND_DEPTH:
        raise QueryError("$expand is nested too deeply")
    options = Options()
    for key, value in params.items():
        if key == "$top":
            options.top = _non_negative(key, value)
            if options.top > MAX_TOP:
                raise QueryError(f"$top is at most {MAX_TOP}")
        elif key == "$skip":
            options.skip = _non_negative(key, value)
        elif key == "$count":
            if value not in ("true", "false"):
                raise QueryError("$count is true or false")
            options.count = value == "true"
        elif key == "$filter":
            parse_filter(value)  # syntax errors early, with their position
            options.filter = value
        elif key == "$orderby":
            options.orderby = value
        elif key == "$select":
            options.select = [s.strip() for s in value.split(",") if s.strip()]
        elif key == "$expand":
            options.expand = parse_expand(value, depth)
        elif key == "$resultFormat":
            if value != "dataArray":
                raise QueryError("The only $resultFormat is dataArray")
            options.result_format = value
        elif key.startswith("$"):
            raise QueryError(f"Unknown query option {key}")
    return options


def parse_expand(text: str, depth: int = 0) -> dict[str, Options]:
    out: dict[str, Options] = {}
    for item in _split(text, ","):
        name, _paren, rest = item.partition("(")
        name = name.strip()
        params: dict[str, str] = {}
        if _paren:
            if not rest.endswith(")"):
                raise QueryError(f"Bad $expand item {item!r}")
            for option in _split(rest[:-1], ";"):
                key, eq, value = option.partition("=")
                if not eq:
                    raise QueryError(f"Bad $expand option {option!r}")
                params[key.strip()] = value.strip()
        first, slash, remainder = name.partition("/")
        if slash:
            inner = out.setdefault(first, Options())
            inner.expand = inner.expand or {}
            nested = parse_expand(remainder + (f"({rest}" if _paren else ""), depth + 1)
            inner.expand.update(nested)
        else:
            existing = out.get(first)
            options = parse_options(params, depth + 1)
            if existing and existing.expand:
                options.expand = {**existing.expand, **(options.expand or {})}
            out[first] = options
    return out


def _non_negative(key: str, value: str) -> int:
    if not value.isdigit():
        raise QueryError(f"{key} is a non-negative integer")
    return int(value)
