"""A small, safe JSON-Logic evaluator for the rules of a service definition.

Rules decide visibility (``visible_if``), required-ness (``required_if``) and
fee amounts (``amount_rule``). They are plain JSON, e.g.
``{"==": [{"var": "antragsteller.hund"}, "yes"]}``; nothing is ever passed to
``eval``. Evaluation is bounded in depth, in the number of visited nodes and in
the size of the numbers and strings it produces, and every problem surfaces as
:class:`LogicError` — never as another exception type.

Supported operators (a documented subset of jsonlogic.com plus date helpers):
``var``, ``and``, ``or``, ``!``, ``!!``, ``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, ``in``, ``if``, ``+``, ``-``, ``*``, ``/``, ``%``, ``min``, ``max``,
``cat``, ``today``, ``date_add``, ``days_between``, ``age_years``.

Differences from jsonlogic.com, on purpose: ``==`` compares strictly (numbers
by value, everything else by type and value: ``1 == "1"`` is false) because
loose equality surprises process designers; comparisons between values of
different types are false instead of coerced; arithmetic with a missing value
(``null``) yields ``null``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

MAX_DEPTH = 32
MAX_NODES = 5000
MAX_NUMBER = 10**15
MAX_STRING = 10_000
TIMEZONE = ZoneInfo("Europe/Berlin")

OPERATORS = frozenset(
    {
        "var",
        "and",
        "or",
        "!",
        "!!",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "in",
        "if",
        "+",
        "-",
        "*",
        "/",
        "%",
        "min",
        "max",
        "cat",
        "today",
        "date_add",
        "days_between",
        "age_years",
    }
)

# (minimum, maximum) number of arguments; None = unbounded.
_ARITY: dict[str, tuple[int, int | None]] = {
    "var": (1, 2),
    "and": (1, None),
    "or": (1, None),
    "!": (1, 1),
    "!!": (1, 1),
    "==": (2, 2),
    "!=": (2, 2),
    "<": (2, 3),
    "<=": (2, 3),
    ">": (2, 2),
    ">=": (2, 2),
    "in": (2, 2),
    "if": (1, None),
    "+": (0, None),
    "-": (1, 2),
    "*": (1, None),
    "/": (2, 2),
    "%": (2, 2),
    "min": (1, None),
    "max": (1, None),
    "cat": (0, None),
    "today": (0, 0),
    "date_add": (2, 2),
    "days_between": (2, 2),
    "age_years": (1, 2),
}

COMPARISON_OPERATORS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class LogicError(ValueError):
    """A rule is malformed or cannot be evaluated on the given data."""


def truthy(value: Any) -> bool:
    """JSON-Logic truthiness: null, false, 0, "" and [] are false."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _operation(rule: Any) -> tuple[str, list[Any]] | None:
    """Return (operator, arguments) if ``rule`` is an operation, else None."""
    if not isinstance(rule, dict):
        return None
    if len(rule) != 1:
        raise LogicError(f"an operation must have exactly one operator, found {len(rule)} keys")
    op, args = next(iter(rule.items()))
    if not isinstance(op, str) or op not in OPERATORS:
        raise LogicError(f"unknown operator {op!r}")
    if not isinstance(args, list):
        args = [args]
    low, high = _ARITY[op]
    if len(args) < low or (high is not None and len(args) > high):
        raise LogicError(f"operator {op!r} got {len(args)} arguments")
    return op, args


def check(rule: Any) -> None:
    """Raise :class:`LogicError` if ``rule`` is not a well-formed rule."""
    counter = [0]

    def walk(node: Any, depth: int) -> None:
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise LogicError("rule is too large")
        if depth > MAX_DEPTH:
            raise LogicError("rule is nested too deeply")
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
            return
        operation = _operation(node)
        if operation is None:
            if isinstance(node, float) and not math.isfinite(node):
                raise LogicError("numbers must be finite")
            if isinstance(node, str | int | float | bool) or node is None:
                return
            raise LogicError(f"unsupported value of type {type(node).__name__}")
        op, args = operation
        if op == "var" and not isinstance(args[0], str):
            raise LogicError("a variable name must be a literal string")
        for arg in args:
            walk(arg, depth + 1)

    walk(rule, 0)


def variables(rule: Any) -> set[str]:
    """Names of all variables a rule reads (``{"var": "step.field"}`` → ``step.field``).

    Raises :class:`LogicError` for malformed rules, including variable names
    that are computed instead of written literally (they cannot be checked).
    """
    check(rule)
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        operation = _operation(node)
        if operation is None:
            return
        op, args = operation
        if op == "var":
            if args[0]:
                found.add(args[0])
            for arg in args[1:]:
                walk(arg)
            return
        for arg in args:
            walk(arg)

    walk(rule)
    return found


def comparisons(rule: Any) -> list[tuple[str, str, Any]]:
    """(operator, variable, literal) of every ``var op literal`` comparison in a rule.

    ``literal op var`` is normalised to ``var op' literal``. Used by the static
    checks for unreachable steps; no evaluation happens.
    """
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
    found: list[tuple[str, str, Any]] = []

    def literal(node: Any) -> bool:
        return node is None or isinstance(node, str | int | float | bool)

    def var_name(node: Any) -> str | None:
        if isinstance(node, dict) and len(node) == 1 and "var" in node:
            arg = node["var"]
            if isinstance(arg, list) and arg:
                arg = arg[0]
            return arg if isinstance(arg, str) else None
        return None

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict) or len(node) != 1:
            return
        op, args = next(iter(node.items()))
        if op in COMPARISON_OPERATORS and isinstance(args, list) and len(args) == 2:
            left, right = args
            if var_name(left) and literal(right):
                found.append((op, var_name(left) or "", right))
            elif var_name(right) and literal(left):
                found.append((flipped[op], var_name(right) or "", left))
        if (
            op == "in"
            and isinstance(args, list)
            and len(args) == 2
            and var_name(args[0])
            and isinstance(args[1], list)
            and all(literal(a) for a in args[1])
        ):
            found.append(("in", var_name(args[0]) or "", args[1]))
        if isinstance(args, list):
            walk(args)

    walk(rule)
    return found


def lookup(data: Any, name: str) -> Any:
    """Resolve a dotted variable name in nested dicts/lists; missing → None."""
    if name == "":
        return data
    current = data
    for part in name.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _number(value: Any, op: str) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise LogicError(f"operator {op!r} needs numbers, got a boolean")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = float(value.strip().replace(",", "."))
        except ValueError:
            raise LogicError(f"operator {op!r} needs numbers, got {value[:30]!r}") from None
        return int(parsed) if parsed.is_integer() and abs(parsed) <= MAX_NUMBER else parsed
    raise LogicError(f"operator {op!r} needs numbers, got {type(value).__name__}")


def _bounded(value: int | float) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise LogicError("calculation result is not a finite number")
    if abs(value) > MAX_NUMBER:
        raise LogicError("calculation result is too large")
    return value


def _date(value: Any, op: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise LogicError(f"operator {op!r} needs ISO dates (YYYY-MM-DD), got {str(value)[:30]!r}")


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _ordered(a: Any, b: Any, op: str) -> bool:
    comparable_numbers = (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )
    if not comparable_numbers and not (isinstance(a, str) and isinstance(b, str)):
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def evaluate(rule: Any, data: Any, *, today: dt.date | None = None) -> Any:
    """Evaluate a JSON-Logic rule against ``data`` (answers as ``{step: {field: value}}``).

    ``today`` fixes the date used by the date helpers (tests, reproducible fees).
    Raises :class:`LogicError` for malformed rules or impossible operations.
    """
    if today is None:
        today = dt.datetime.now(tz=TIMEZONE).date()
    counter = [0]
    the_day: dt.date = today

    def run(node: Any, depth: int) -> Any:
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise LogicError("rule is too large")
        if depth > MAX_DEPTH:
            raise LogicError("rule is nested too deeply")
        if isinstance(node, list):
            return [run(item, depth + 1) for item in node]
        operation = _operation(node)
        if operation is None:
            if isinstance(node, float) and not math.isfinite(node):
                raise LogicError("numbers must be finite")
            if node is None or isinstance(node, str | int | float | bool):
                return node
            raise LogicError(f"unsupported value of type {type(node).__name__}")
        op, args = operation
        handler = _HANDLERS[op]
        return handler(args, lambda n: run(n, depth + 1), the_day, data)

    result = run(rule, 0)
    if isinstance(result, int | float) and not isinstance(result, bool):
        _bounded(result)
    return result


Evaluator = Callable[[Any], Any]


def _op_var(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    name = ev(args[0])
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str):
        raise LogicError("a variable name must be a string")
    value = lookup(data, name)
    if value is None and len(args) > 1:
        return ev(args[1])
    return value


def _op_and(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    value: Any = None
    for arg in args:
        value = ev(arg)
        if not truthy(value):
            return value
    return value


def _op_or(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    value: Any = None
    for arg in args:
        value = ev(arg)
        if truthy(value):
            return value
    return value


def _op_not(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    return not truthy(ev(args[0]))


def _op_notnot(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    return truthy(ev(args[0]))


def _op_eq(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    return equal(ev(args[0]), ev(args[1]))


def _op_ne(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    return not equal(ev(args[0]), ev(args[1]))


def _comparison(op: str) -> Callable[[list[Any], Evaluator, dt.date, Any], Any]:
    def handler(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
        values = [ev(arg) for arg in args]
        if len(values) == 3:  # between: a < b < c
            return _ordered(values[0], values[1], op) and _ordered(values[1], values[2], op)
        return _ordered(values[0], values[1], op)

    return handler


def _op_in(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    needle, haystack = ev(args[0]), ev(args[1])
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list):
        return any(equal(needle, item) for item in haystack)
    return False


def _op_if(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    index = 0
    while index + 1 < len(args):
        if truthy(ev(args[index])):
            return ev(args[index + 1])
        index += 2
    return ev(args[index]) if index < len(args) else None


def _numbers(args: list[Any], ev: Evaluator, op: str) -> list[int | float] | None:
    values = [_number(ev(arg), op) for arg in args]
    if any(v is None for v in values):
        return None
    return [v for v in values if v is not None]


def _op_add(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "+")
    return None if values is None else _bounded(sum(values))


def _op_sub(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "-")
    if values is None:
        return None
    return _bounded(-values[0] if len(values) == 1 else values[0] - values[1])


def _op_mul(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "*")
    if values is None:
        return None
    result: int | float = 1
    for value in values:
        result = _bounded(result * value)
    return result


def _op_div(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "/")
    if values is None:
        return None
    if values[1] == 0:
        raise LogicError("division by zero")
    result = values[0] / values[1]
    return _bounded(int(result) if result.is_integer() else result)


def _op_mod(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "%")
    if values is None:
        return None
    if values[1] == 0:
        raise LogicError("division by zero")
    return _bounded(values[0] % values[1])


def _op_min(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "min")
    return None if values is None else min(values)


def _op_max(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    values = _numbers(args, ev, "max")
    return None if values is None else max(values)


def _op_cat(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    parts = []
    for arg in args:
        value = ev(arg)
        if isinstance(value, list | dict):
            raise LogicError("operator 'cat' needs plain values")
        parts.append("" if value is None else str(value))
    result = "".join(parts)
    if len(result) > MAX_STRING:
        raise LogicError("text is too long")
    return result


def _op_today(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    return today.isoformat()


def _op_date_add(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    start = _date(ev(args[0]), "date_add")
    days = _number(ev(args[1]), "date_add")
    if start is None or days is None:
        return None
    try:
        return (start + dt.timedelta(days=int(days))).isoformat()
    except (OverflowError, ValueError):
        raise LogicError("date out of range") from None


def _op_days_between(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    first, second = _date(ev(args[0]), "days_between"), _date(ev(args[1]), "days_between")
    if first is None or second is None:
        return None
    return (second - first).days


def _op_age_years(args: list[Any], ev: Evaluator, today: dt.date, data: Any) -> Any:
    born = _date(ev(args[0]), "age_years")
    reference = _date(ev(args[1]), "age_years") if len(args) > 1 else today
    if born is None or reference is None:
        return None
    years = reference.year - born.year
    if (reference.month, reference.day) < (born.month, born.day):
        years -= 1
    return years


_HANDLERS: dict[str, Callable[[list[Any], Evaluator, dt.date, Any], Any]] = {
    "var": _op_var,
    "and": _op_and,
    "or": _op_or,
    "!": _op_not,
    "!!": _op_notnot,
    "==": _op_eq,
    "!=": _op_ne,
    "<": _comparison("<"),
    "<=": _comparison("<="),
    ">": _comparison(">"),
    ">=": _comparison(">="),
    "in": _op_in,
    "if": _op_if,
    "+": _op_add,
    "-": _op_sub,
    "*": _op_mul,
    "/": _op_div,
    "%": _op_mod,
    "min": _op_min,
    "max": _op_max,
    "cat": _op_cat,
    "today": _op_today,
    "date_add": _op_date_add,
    "days_between": _op_days_between,
    "age_years": _op_age_years,
}
