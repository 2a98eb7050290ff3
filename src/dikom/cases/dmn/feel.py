"""FEEL as DMN decision tables use it, translated into dikom's safe expression language.

A decision table cell is never run as FEEL: at import every input entry (a
FEEL *simple unary test*) and every output entry and input expression (a
simple FEEL expression) is translated into a safe expression
(``dikom.cases.bpmn.expressions``) and checked there. What cannot be
translated is refused with ``FeelError``, which carries the exact text.

Input entries test the value of their column, bound to the name
:data:`INPUT` while the cell runs:

===========================  ======================================================
FEEL                         safe expression
===========================  ======================================================
``-`` (or empty)             matches anything
``"Spring"``                 ``dmn_input == "Spring"``
``"Medium","Low"``           ``dmn_input == "Medium" or dmn_input == "Low"``
``< 18``, ``>= limit``       ``dmn_input < 18``, ``dmn_input >= limit``
``[1..10]``, ``]1..10[``     ``(1 <= dmn_input and dmn_input <= 10)``, ``(1 < …)``
``not("High")``              ``not (dmn_input == "High")``
``true``, ``null``           ``dmn_input is True``, ``dmn_input is None``
``date("2025-01-01")``       ``"2025-01-01"`` (dates are ISO texts in case data)
===========================  ======================================================
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from dikom.cases.bpmn.checks import _convert_foreign_expression
from dikom.cases.bpmn.expressions import ExpressionError, validate_expression

#: The name an input entry uses for the value of its column.
INPUT = "dmn_input"

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NAME = re.compile(r"[A-Za-z_][\w]*(?:\s+[A-Za-z_][\w]*)*(?:\.[A-Za-z_][\w]*)*")
_TEMPORAL = re.compile(r'(date and time|date|time|duration)\s*\(\s*("(?:[^"\\]|\\.)*")\s*\)')
_COMPARISON = re.compile(r"^(<=|>=|<|>|!=|=)\s*(.+)$", re.DOTALL)
_INTERVAL = re.compile(r"^([\[\(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\]\)\[])$", re.DOTALL)
_KEYWORDS = {"true": "True", "false": "False", "null": "None"}
_RESERVED = {"and", "or", "not", "between", "in", "instance", "of", "if", "then", "else", "for", "some", "every"}


class FeelError(ValueError):
    """A FEEL text dikom does not translate; ``text`` is the exact expression."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason}: {text!r}")
        self.text = text
        self.reason = reason


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside strings, brackets and parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if in_string:
        raise FeelError(text, _("unterminated text"))
    parts.append("".join(current).strip())
    return parts


def endpoint(text: str) -> str:
    """A FEEL literal or name (an end point of a range, a compared value) as a safe expression."""
    value = text.strip()
    if _STRING.fullmatch(value):
        return value
    if _NUMBER.fullmatch(value):
        return value
    if value in _KEYWORDS:
        return _KEYWORDS[value]
    temporal = _TEMPORAL.fullmatch(value)
    if temporal:
        if temporal.group(1) == "duration":
            raise FeelError(text, _("durations are not supported"))
        return temporal.group(2)
    if _NAME.fullmatch(value) and not (set(value.lower().split()) & _RESERVED):
        head, *path = value.split(".")
        safe = "_".join(head.split())
        if safe in {"True", "False", "None"} or safe.startswith("_"):
            raise FeelError(text, _("not a usable name"))
        return safe + "".join(f'["{step}"]' for step in path)
    raise FeelError(text, _("only texts, numbers, true/false/null, date(...) and names are allowed here"))


def _positive_test(text: str) -> str:
    value = text.strip()
    interval = _INTERVAL.match(value)
    if interval and ".." in value:
        opening, low, high, closing = interval.groups()
        low_op = "<=" if opening == "[" else "<"
        high_op = "<=" if closing == "]" else "<"
        return f"({endpoint(low)} {low_op} {INPUT} and {INPUT} {high_op} {endpoint(high)})"
    comparison = _COMPARISON.match(value)
    if comparison:
        operator, operand = comparison.groups()
        operator = "==" if operator == "=" else operator
        return f"{INPUT} {operator} {endpoint(operand)}"
    literal = endpoint(value)
    if literal in {"True", "False", "None"}:
        return f"{INPUT} is {literal}"
    return f"{INPUT} == {literal}"


def unary_tests(text: str | None) -> str | None:
    """Translate a FEEL simple unary test; ``None`` means "matches anything" (``-`` or empty)."""
    source = (text or "").strip()
    if source in {"", "-"}:
        return None
    negated = False
    match = re.fullmatch(r"not\s*\((.*)\)", source, re.DOTALL)
    if match:
        negated, source = True, match.group(1).strip()
    try:
        tests = [_positive_test(part) for part in _split_top_level(source)]
    except FeelError as exc:
        raise FeelError(text or "", exc.reason) from None
    if any(not part for part in _split_top_level(source)):
        raise FeelError(text or "", _("empty test in a list"))
    expression = " or ".join(tests) if len(tests) > 1 else tests[0]
    if negated:
        expression = f"not ({expression})"
    _validated(text or "", expression)
    return expression


def expression(text: str | None) -> str | None:
    """Translate a simple FEEL expression (input expression, output entry, literal decision); ``None`` if empty."""
    source = (text or "").strip()
    if not source:
        return None
    try:
        return _validated(source, endpoint(source))
    except FeelError:
        pass
    converted = _TEMPORAL.sub(lambda m: m.group(2), source)
    if re.search(r"\bduration\s*\(", converted):
        raise FeelError(source, _("durations are not supported"))
    converted, _dialect = _convert_foreign_expression(converted, feel=True)
    return _validated(source, converted)


def _validated(original: str, safe: str) -> str:
    try:
        validate_expression(safe)
    except ExpressionError as exc:
        raise FeelError(original, _("not translatable into a safe expression (%(error)s)") % {"error": exc}) from None
    return safe


def readable(safe: str, input_text: str) -> str:
    """The translated test with the column's input expression in place of :data:`INPUT` (for people)."""
    return re.sub(rf"\b{INPUT}\b", input_text.strip() or INPUT, safe)
