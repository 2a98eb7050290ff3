"""The ``$filter`` language of SensorThings (OData subset): tokenizer and parser to a tuple tree.

Bounded on purpose: at most ``MAX_LENGTH`` characters and ``MAX_DEPTH`` levels of
nesting, so hostile input gets a ``QueryError`` with its position, never a deep
recursion. ``query`` compiles the tree to Django ``Q``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from dikom.sensors import geometry as geo


class QueryError(ValueError):
    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --- tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<geo>geography'(?:[^']|'')*')
  | (?P<duration>duration'[^']*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_@][A-Za-z0-9_.@]*(?:/[A-Za-z_@][A-Za-z0-9_.@]*)*)
  | (?P<punct>[(),])
""",
    re.X,
)

MAX_DEPTH = 50
MAX_LENGTH = 10_000


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    if len(text) > MAX_LENGTH:
        raise QueryError("The $filter is too long.", 0)
    pos, out = 0, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise QueryError(f"Unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, match.group(), pos))
        pos = match.end()
    out.append(Tok("end", "", len(text)))
    return out


# --- AST: tuples ------------------------------------------------------------------------------
# ("lit", value, pos) ("path", [segments], pos) ("bin", op, left, right, pos) ("not", x, pos)
# ("call", name, [args], pos)

COMPARISON = {"eq", "ne", "gt", "ge", "lt", "le"}
ADDITIVE = {"add", "sub"}
MULTIPLICATIVE = {"mul", "div", "mod"}


class Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, words: set[str]) -> str | None:
        if self.tok.kind == "name" and self.tok.text.lower() in words:
            return self.take().text.lower()
        return None

    def expect(self, text: str) -> None:
        if self.tok.text != text:
            raise QueryError(f"Expected {text!r} but found {self.tok.text or 'the end'!r}", self.tok.pos)
        self.take()

    def parse(self) -> tuple:
        node = self.expr_or()
        if self.tok.kind != "end":
            raise QueryError(f"Unexpected {self.tok.text!r}", self.tok.pos)
        return node

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError("The $filter is nested too deeply.", self.tok.pos)

    def expr_or(self) -> tuple:
        node = self.expr_and()
        while (pos := self.tok.pos) is not None and self.keyword({"or"}):
            node = ("bin", "or", node, self.expr_and(), pos)
        return node

    def expr_and(self) -> tuple:
        node = self.expr_not()
        while (pos := self.tok.pos) is not None and self.keyword({"and"}):
            node = ("bin", "and", node, self.expr_not(), pos)
        return node

    def expr_not(self) -> tuple:
        pos = self.tok.pos
        if self.keyword({"not"}):
            self._nest()
            node = ("not", self.expr_not(), pos)
            self.depth -= 1
            return node
        return self.expr_cmp()

    def expr_cmp(self) -> tuple:
        node = self.expr_add()
        pos = self.tok.pos
        op = self.keyword(COMPARISON)
        if op:
            node = ("bin", op, node, self.expr_add(), pos)
        return node

    def expr_add(self) -> tuple:
        node = self.expr_mul()
        while (pos := self.tok.pos) is not None and (op := self.keyword(ADDITIVE)):
            node = ("bin", op, node, self.expr_mul(), pos)
        return node

    def expr_mul(self) -> tuple:
        node = self.atom()
        while (pos := self.tok.pos) is not None and (op := self.keyword(MULTIPLICATIVE)):
            node = ("bin", op, node, self.atom(), pos)
        return node

    def atom(self) -> tuple:
        tok = self.tok
        if tok.text == "(":
            self.take()
            self._nest()
            node = self.expr_or()
            self.depth -= 1
            self.expect(")")
            return node
        if tok.kind == "string":
            self.take()
            return ("lit", tok.text[1:-1].replace("''", "'"), tok.pos)
        if tok.kind == "number":
            self.take()
            number: float | int = float(tok.text) if re.search(r"[.eE]", tok.text) else int(tok.text)
            return ("lit", number, tok.pos)
        if tok.kind in ("datetime", "date"):
            self.take()
            return ("lit", _parse_time(tok), tok.pos)
        if tok.kind == "geo":
            self.take()
            try:
                return ("lit", geo.parse_wkt(tok.text[len("geography'") : -1]), tok.pos)
            except geo.GeometryError as exc:
                raise QueryError(str(exc), tok.pos) from exc
        if tok.kind == "duration":
            raise QueryError("Durations are not supported in $filter.", tok.pos)
        if tok.kind == "name":
            self.take()
            lowered = tok.text.lower()
            if self.tok.text == "(":
                self.take()
                args: list[tuple] = []
                self._nest()
                if self.tok.text != ")":
                    args.append(self.expr_or())
                    while self.tok.text == ",":
                        self.take()
                        args.append(self.expr_or())
                self.depth -= 1
                self.expect(")")
                return ("call", lowered, args, tok.pos)
            if lowered in ("true", "false"):
                return ("lit", lowered == "true", tok.pos)
            if lowered == "null":
                return ("lit", None, tok.pos)
            if lowered == "-":
                raise QueryError("Unexpected '-'", tok.pos)
            return ("path", tok.text.split("/"), tok.pos)
        if tok.kind == "end":
            raise QueryError("The $filter ends too early.", tok.pos)
        raise QueryError(f"Unexpected {tok.text!r}", tok.pos)


def _parse_time(tok: Tok) -> dt.datetime:
    text = tok.text
    if tok.kind == "date":
        text += "T00:00:00Z"
    value = parse_datetime(text.replace("Z", "+00:00"))
    if value is None:
        raise QueryError(f"Not a valid time: {tok.text!r}", tok.pos)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def parse_filter(text: str) -> tuple:
    return Parser(text).parse()
