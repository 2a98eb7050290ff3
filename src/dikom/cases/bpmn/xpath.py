"""XPath conditions of older modelling tools, translated into dikom's safe expression language.

BPMN 2.0's default expression language is XPath 1.0. Exports of older tools
(and the MIWG reference models) write conditions such as
``bpmn:getDataObject('order')/amount &gt; 100 and $approved = true()``.
``translate(text)`` turns the simple forms into a safe expression:

- comparisons ``= != < <= > >=``, ``and``, ``or``, ``not(…)``, parentheses;
- string literals (``'a'``, ``"a"``), numbers, ``true()``, ``false()``;
- data references: ``bpmn:getDataObject('name')`` (optionally followed by ``/field/…``),
  variable references ``$name`` (also ``$name/field``), and plain names.

Anything else (other functions, axes, attributes, arithmetic) raises
``XPathNotTranslatable`` naming the part that cannot be translated; the
import check then refuses the condition with the exact expression and line.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<dataobject>bpmn:getDataObject\(\s*(?P<q>['"])(?P<dataname>[A-Za-z_][\w.-]*)(?P=q)\s*\))
  | (?P<variable>\$(?P<varname>[A-Za-z_][\w-]*))
  | (?P<literal>(?:true|false)\(\s*\))
  | (?P<not>not\s*\()
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<paren>[()])
  | (?P<path>/[A-Za-z_][\w-]*)
  | (?P<name>[A-Za-z_][\w-]*)
  """,
    re.VERBOSE,
)
_NAME = re.compile(r"[A-Za-z_]\w*")


class XPathNotTranslatable(ValueError):
    """The condition uses XPath beyond the simple forms; ``part`` is where translation stopped."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


def _identifier(name: str) -> str:
    """A data name as a safe-language name (``-`` and ``.`` are not allowed there; they become ``_``)."""
    ident = re.sub(r"[^\w]", "_", name)
    if not _NAME.fullmatch(ident):
        raise XPathNotTranslatable(name)
    return ident


def translate(text: str) -> str:
    """The safe expression for an XPath condition; raises ``XPathNotTranslatable``."""
    out: list[str] = []
    position = 0
    previous = ""  # kind of the last token, to attach /field paths to a data reference
    depth = 0
    source = text.strip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise XPathNotTranslatable(source[position : position + 20])
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(0)
        if kind == "space":
            continue
        if kind == "string":
            out.append(repr(value[1:-1]))
        elif kind == "number":
            out.append(value)
        elif kind == "dataobject":
            out.append(_identifier(match.group("dataname")))
        elif kind == "variable":
            out.append(_identifier(match.group("varname")))
        elif kind == "literal":
            out.append("True" if value.startswith("true") else "False")
        elif kind == "not":
            out.append("not (")
            depth += 1
        elif kind == "op":
            out.append({"=": "==", "!=": "!="}.get(value, value))
        elif kind == "paren":
            depth += 1 if value == "(" else -1
            if depth < 0:
                raise XPathNotTranslatable(value)
            out.append(value)
        elif kind == "path":
            if previous not in {"dataobject", "variable", "name", "path"}:
                raise XPathNotTranslatable(value)
            out.append(f"[{value[1:]!r}]")
        elif kind == "name":
            if value in {"and", "or"}:
                out.append(f" {value} ")
            elif value in {"true", "false"}:
                out.append(value.capitalize())  # exports write the literal without XPath's parentheses
            elif source[position : position + 1] == "(" or value in {"div", "mod"}:
                raise XPathNotTranslatable(value)  # another function, or arithmetic
            else:
                out.append(_identifier(value))
        previous = kind
    if depth != 0:
        raise XPathNotTranslatable(source[-20:])
    return " ".join("".join(out).split()).replace("( ", "(").replace(" )", ")")
