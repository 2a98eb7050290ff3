"""A small, safe expression and script language for conditions and script tasks.

Process files are shared between cities and come from outside tools, so their
conditions and scripts are untrusted input. SpiffWorkflow's default engine
passes them to Python's ``eval``/``exec``; dikom never does. Instead the source
is parsed with :mod:`ast`, checked against a short allow-list (see
``docs/bpmn.md``), and walked by the tiny interpreter below. Nothing here can
import, read attributes, call anything but the functions in ``FUNCTIONS`` or
loop, and results that could exhaust memory (long strings, huge numbers) are
refused.

Expressions: names of case data, constants, ``and/or/not``, comparisons
(``== != < <= > >= in not in is is not``), ``+ - * / // %``, ``x if c else y``,
list/tuple/dict literals, subscripts ``data["key"]`` / ``items[0]`` and calls to
the whitelisted functions.

Scripts: assignments ``name = expr`` / ``name += expr``, ``if/elif/else`` and
``pass``; nothing else.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, MutableMapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from .clock import current_time

MAX_SOURCE_LENGTH = 5_000
MAX_STRING_CONSTANT = 1_000
MAX_COLLECTION_LITERAL = 200
MAX_SCRIPT_STATEMENTS = 200
MAX_RESULT_LENGTH = 100_000
MAX_INT_BITS = 256


class ExpressionError(ValueError):
    """An expression or script is not allowed, or failed while running.

    ``line`` is the line inside the expression/script (1-based) when known.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise ExpressionError(f"{value!r} is not an ISO 8601 date")


def _today() -> str:
    return current_time().date().isoformat()


def _now() -> str:
    return current_time().isoformat()


def _add_days(value: Any, days: Any) -> str:
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > 100_000:
        raise ExpressionError("add_days needs a whole number of days")
    return (_to_date(value) + timedelta(days=days)).isoformat()


def _days_between(first: Any, second: Any) -> int:
    return (_to_date(second) - _to_date(first)).days


def _get(container: Any, key: Any, default: Any = None) -> Any:
    if isinstance(container, Mapping):
        return container.get(key, default)
    if isinstance(container, list | tuple) and isinstance(key, int) and -len(container) <= key < len(container):
        return container[key]
    return default


def _str_method(name: str) -> Callable[..., Any]:
    def call(value: Any, *args: Any) -> Any:
        if not isinstance(value, str) or not all(isinstance(a, str) for a in args):
            raise ExpressionError(f"{name}() works on text only")
        return getattr(value, name)(*args)

    return call


#: The only callables an expression may use. Each is pure and bounded.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "any": any,
    "all": all,
    "sorted": sorted,
    "lower": _str_method("lower"),
    "upper": _str_method("upper"),
    "strip": _str_method("strip"),
    "startswith": _str_method("startswith"),
    "endswith": _str_method("endswith"),
    "get": _get,
    "today": _today,
    "now": _now,
    "add_days": _add_days,
    "days_between": _days_between,
}

_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}
_CMP_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _check_name(name: str, node: ast.AST) -> None:
    if name.startswith("_"):
        raise ExpressionError(
            f"Names starting with an underscore are not allowed: {name}", getattr(node, "lineno", None)
        )


def _check_expr(node: ast.AST) -> None:
    line = getattr(node, "lineno", None)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            if len(value) > MAX_STRING_CONSTANT:
                raise ExpressionError("Text constant is too long", line)
        elif isinstance(value, bool | int | float) or value is None:
            if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
                raise ExpressionError("Number is too large", line)
        else:
            raise ExpressionError(f"Constant of type {type(value).__name__} is not allowed", line)
    elif isinstance(node, ast.Name):
        if not isinstance(node.ctx, ast.Load):
            raise ExpressionError("Assignment inside an expression is not allowed", line)
        _check_name(node.id, node)
    elif isinstance(node, ast.BoolOp):
        for operand in node.values:
            _check_expr(operand)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN_OPS:
            raise ExpressionError(f"Operator {type(node.op).__name__} is not allowed", line)
        _check_expr(node.left)
        _check_expr(node.right)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY_OPS:
            raise ExpressionError(f"Operator {type(node.op).__name__} is not allowed", line)
        _check_expr(node.operand)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMP_OPS:
                raise ExpressionError(f"Comparison {type(op).__name__} is not allowed", line)
        _check_expr(node.left)
        for comparator in node.comparators:
            _check_expr(comparator)
    elif isinstance(node, ast.IfExp):
        _check_expr(node.test)
        _check_expr(node.body)
        _check_expr(node.orelse)
    elif isinstance(node, ast.List | ast.Tuple):
        if len(node.elts) > MAX_COLLECTION_LITERAL:
            raise ExpressionError("List literal is too long", line)
        for element in node.elts:
            if isinstance(element, ast.Starred):
                raise ExpressionError("Unpacking with * is not allowed", line)
            _check_expr(element)
    elif isinstance(node, ast.Dict):
        if len(node.keys) > MAX_COLLECTION_LITERAL:
            raise ExpressionError("Dictionary literal is too long", line)
        for key in node.keys:
            if key is None:
                raise ExpressionError("Unpacking with ** is not allowed", line)
            _check_expr(key)
        for item in node.values:
            _check_expr(item)
    elif isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            raise ExpressionError("Slices are not allowed", line)
        _check_expr(node.value)
        _check_expr(node.slice)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(f"Calling {name}() is not allowed", line)
        if node.keywords:
            raise ExpressionError("Keyword arguments are not allowed", line)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError("Unpacking with * is not allowed", line)
            _check_expr(arg)
    elif isinstance(node, ast.Attribute):
        raise ExpressionError(f"Attribute access (.{node.attr}) is not allowed", line)
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed", line)


def _check_statement(node: ast.stmt) -> None:
    line = node.lineno
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if not isinstance(target, ast.Name):
                raise ExpressionError("Only simple names can be assigned to", line)
            _check_target(target)
        _check_expr(node.value)
    elif isinstance(node, ast.AugAssign):
        if not isinstance(node.target, ast.Name):
            raise ExpressionError("Only simple names can be assigned to", line)
        if type(node.op) not in _BIN_OPS:
            raise ExpressionError(f"Operator {type(node.op).__name__} is not allowed", line)
        _check_target(node.target)
        _check_expr(node.value)
    elif isinstance(node, ast.If):
        _check_expr(node.test)
        for child in [*node.body, *node.orelse]:
            _check_statement(child)
    elif isinstance(node, ast.Pass):
        pass
    elif isinstance(node, ast.Import | ast.ImportFrom):
        raise ExpressionError("Imports are not allowed", line)
    else:
        raise ExpressionError(f"Statement {type(node).__name__} is not allowed", line)


def _check_target(target: ast.Name) -> None:
    _check_name(target.id, target)
    if target.id in FUNCTIONS:
        raise ExpressionError(f"{target.id} is a function name and cannot be assigned to", target.lineno)


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("The expression is empty")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError("The expression is too long")
    try:
        return ast.parse(source.strip() if mode == "eval" else _dedent(source), mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(f"Syntax error: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("The expression cannot be parsed") from None


def _dedent(source: str) -> str:
    import textwrap

    return textwrap.dedent(source.replace("\r\n", "\n")).strip("\n")


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> ast.Expression:
    """Parse and check an expression; raise ``ExpressionError`` if it is not allowed."""
    tree = _parse(source, "eval")
    assert isinstance(tree, ast.Expression)  # noqa: S101 - mode="eval" always gives one
    try:
        _check_expr(tree.body)
    except RecursionError:
        raise ExpressionError("The expression is nested too deeply") from None
    return tree


@lru_cache(maxsize=512)
def compile_script(source: str) -> ast.Module:
    """Parse and check a script; raise ``ExpressionError`` if it is not allowed."""
    tree = _parse(source, "exec")
    assert isinstance(tree, ast.Module)  # noqa: S101 - mode="exec" always gives one
    if len(list(ast.walk(tree))) > MAX_SCRIPT_STATEMENTS * 20:
        raise ExpressionError("The script is too long")
    statements = sum(1 for node in ast.walk(tree) if isinstance(node, ast.stmt))
    if statements > MAX_SCRIPT_STATEMENTS:
        raise ExpressionError("The script has too many statements")
    try:
        for statement in tree.body:
            _check_statement(statement)
    except RecursionError:
        raise ExpressionError("The script is nested too deeply") from None
    return tree


def validate_expression(source: str) -> None:
    """Raise ``ExpressionError`` unless ``source`` is an allowed expression."""
    compile_expression(source)


def validate_script(source: str) -> None:
    """Raise ``ExpressionError`` unless ``source`` is an allowed script."""
    compile_script(source)


class _Interpreter:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        self.assigned: set[str] = set()

    def lookup(self, name: str, line: int | None) -> Any:
        if name in self.variables:
            return self.variables[name]
        if name in FUNCTIONS:
            raise ExpressionError(f"{name} is a function; call it as {name}(...)", line)
        raise ExpressionError(f"Unknown name: {name}", line)

    def eval(self, node: ast.AST) -> Any:
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id, line)
        if isinstance(node, ast.BoolOp):
            result: Any = None
            for value in node.values:
                result = self.eval(value)
                if isinstance(node.op, ast.And) and not result:
                    return result
                if isinstance(node.op, ast.Or) and result:
                    return result
            return result
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left), self.eval(node.right)
            _guard_size(node.op, left, right, line)
            return _limit(_BIN_OPS[type(node.op)](left, right), line)
        if isinstance(node, ast.UnaryOp):
            return _UNARY_OPS[type(node.op)](self.eval(node.operand))
        if isinstance(node, ast.Compare):
            left = self.eval(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.eval(comparator)
                if not _CMP_OPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)
        if isinstance(node, ast.List):
            return [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values, strict=True) if k is not None}
        if isinstance(node, ast.Subscript):
            container, key = self.eval(node.value), self.eval(node.slice)
            if not isinstance(container, Mapping | list | tuple | str):
                raise ExpressionError("Only lists, texts and dictionaries can be indexed", line)
            return container[key]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)  # noqa: S101 - guaranteed by _check_expr
            args = [self.eval(a) for a in node.args]
            for arg in args:
                if isinstance(arg, str | list | tuple | dict) and len(arg) > MAX_RESULT_LENGTH:
                    raise ExpressionError("Value is too large", line)
            return _limit(FUNCTIONS[node.func.id](*args), line)
        raise ExpressionError(f"{type(node).__name__} is not allowed", line)

    def run(self, statements: list[ast.stmt], variables: MutableMapping[str, Any]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Assign):
                value = self.eval(statement.value)
                for target in statement.targets:
                    assert isinstance(target, ast.Name)  # noqa: S101 - guaranteed by _check_statement
                    variables[target.id] = value
                    self.assigned.add(target.id)
            elif isinstance(statement, ast.AugAssign):
                assert isinstance(statement.target, ast.Name)  # noqa: S101
                current = self.lookup(statement.target.id, statement.lineno)
                operand = self.eval(statement.value)
                _guard_size(statement.op, current, operand, statement.lineno)
                variables[statement.target.id] = _limit(
                    _BIN_OPS[type(statement.op)](current, operand), statement.lineno
                )
                self.assigned.add(statement.target.id)
            elif isinstance(statement, ast.If):
                self.run(statement.body if self.eval(statement.test) else statement.orelse, variables)


def _guard_size(op: ast.operator, left: Any, right: Any, line: int | None) -> None:
    # Refuse before computing: "x" * 10**12 would exhaust memory first.
    if isinstance(op, ast.Mod) and isinstance(left, str | bytes):
        raise ExpressionError("Text formatting with % is not allowed", line)
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(count, int) and len(seq) * count > MAX_RESULT_LENGTH:
                raise ExpressionError("Result is too large", line)
    if (
        isinstance(op, ast.Add)
        and isinstance(left, str | list | tuple)
        and isinstance(right, str | list | tuple)
        and len(left) + len(right) > MAX_RESULT_LENGTH
    ):
        raise ExpressionError("Result is too large", line)


def _limit(value: Any, line: int | None) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError("Number is too large", line)
    return value


def evaluate(source: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate an allowed expression against ``variables`` (the case data)."""
    return evaluate_compiled(compile_expression(source), variables)


def evaluate_compiled(tree: ast.Expression, variables: Mapping[str, Any]) -> Any:
    """Evaluate a tree from ``compile_expression`` (callers that run the same expression often keep the tree)."""
    try:
        return _Interpreter(variables).eval(tree.body)
    except ExpressionError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from None


def execute(source: str, variables: MutableMapping[str, Any], read_only: Mapping[str, Any] | None = None) -> None:
    """Run an allowed script, assigning to ``variables`` in place.

    Assignments only become visible in ``variables`` once the whole script
    succeeded, so a failing script leaves the data as it was.
    """
    tree = compile_script(source)
    scope: dict[str, Any] = {**(read_only or {}), **variables}
    interpreter = _Interpreter(scope)
    try:
        interpreter.run(tree.body, scope)
    except ExpressionError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from None
    for name in interpreter.assigned:
        variables[name] = scope[name]
