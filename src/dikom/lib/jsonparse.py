"""JSON from outside, decoded with limits on nesting depth and size.

The standard library's decoder recurses once per nesting level: ``[`` ×
100 000 raises ``RecursionError`` (a 500), and a document nested a thousand
levels deep that it still reads makes ``json.dumps`` fail later, when it is
stored. Every decoder of text that reaches us from outside (request bodies,
uploaded files, form fields, answers of other servers) goes through
``loads_limited``: it counts the nesting depth first, without recursion, and
refuses a deeper document with ``JSONTooDeep``.

Both errors are ``json.JSONDecodeError`` (a ``ValueError``), so code that
already reports malformed JSON (with ``msg``, ``lineno``, ``colno``) reports
these too without change.

Cost: nothing when the text holds no more opening brackets than the limit
(two ``count`` calls in C); otherwise one regular-expression pass that drops
the strings and sums up the brackets that remain (about twice the time orjson
needs to decode the same text, measured on a 1.3 MB batch of 10 000 events).
The ingestion fast path therefore decodes with orjson alone, which stops at
1 024 levels by itself; see ``analytics/api/fastpath.py``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Deep enough for every structure dikom reads (service definitions nest about
# ten levels, rules a few more), far from the interpreter's recursion limit.
MAX_DEPTH = 64

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_NON_BRACKET_RUN = re.compile(r"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONTooDeep(json.JSONDecodeError):
    """The document nests deeper than allowed (``pos`` is where the limit is passed)."""


class JSONTooLarge(json.JSONDecodeError):
    """The document is longer than allowed."""


class JSONHasNul(json.JSONDecodeError):
    """A string of the document holds NUL (``\\u0000``), which PostgreSQL cannot store."""


# ``\u0000`` after an even number of backslashes (an odd number escapes the escape).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def check_nul(text: str | bytes) -> None:
    """Raise ``JSONHasNul`` if a string in ``text`` holds NUL."""
    doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if "u0000" not in doc and "\x00" not in doc:
        return
    match = _NUL_ESCAPE.search(doc)
    position = match.end() - 6 if match else doc.find("\x00")
    if position >= 0:
        raise JSONHasNul("NUL character in a string", doc, position)


def _opening_brackets(text: str | bytes) -> int:
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


def depth(text: str | bytes) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings do not count).

    Works on any text, valid JSON or not, without recursion.
    """
    if isinstance(text, bytes):
        brackets = _STRING_BYTES.sub(b"", text).translate(None, _NOT_BRACKETS)
    else:
        brackets = _NON_BRACKET_RUN.sub("", _STRING.sub("", text)).encode("ascii")
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(text: str | bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``JSONTooDeep`` if ``text`` nests deeper than ``max_depth``."""
    if _opening_brackets(text) <= max_depth or depth(text) <= max_depth:
        return
    doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    level = 0
    position = 0
    for match in _TOKEN.finditer(doc):
        piece = match.group()
        if piece in ("[", "{"):
            level += 1
            if level > max_depth:
                position = match.start()
                break
        elif piece in ("]", "}"):
            level -= 1
    raise JSONTooDeep(f"nested deeper than {max_depth} levels", doc, position)


class _NotJSON(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not valid JSON")


def loads_limited(text: str | bytes, max_depth: int = MAX_DEPTH, max_bytes: int | None = None) -> Any:
    """Decode JSON from outside: ``JSONTooLarge`` beyond ``max_bytes``, ``JSONTooDeep`` beyond ``max_depth``,
    ``JSONHasNul`` for a NUL character in a string.

    Strict JSON: ``NaN`` and ``Infinity`` are refused. Other malformed text
    raises ``json.JSONDecodeError`` as ``json.loads`` does.
    """
    if max_bytes is not None and len(text) > max_bytes:
        doc = text[:200].decode("utf-8", "replace") if isinstance(text, bytes) else text[:200]
        raise JSONTooLarge(f"longer than {max_bytes} bytes", doc, 0)
    check_depth(text, max_depth)
    check_nul(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (_NotJSON, UnicodeDecodeError) as error:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(str(error), doc, 0) from None
