"""Conditions written for other engines (Camunda JUEL, Zeebe FEEL, XPath) turned into dikom expressions."""

from __future__ import annotations

import re

from lxml import etree

from ..xmlsafe import is_bpmn

_STRING_LITERAL = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')")


FEEL_KEYWORDS = {
    "and", "or", "not", "true", "false", "null", "between", "in", "instance", "of", "if", "then", "else",
    "some", "every", "satisfies", "for", "return",
}  # fmt: skip
#: FEEL's quantifiers over a list with an equality test: ``some x in list satisfies x = "a"`` is ``"a" in list``,
#: ``every x in list satisfies x = "a"`` is ``["a"] * len(list) == list``. Any other quantified expression stays
#: and is refused by the safe-expression check.
_FEEL_QUANTIFIER = re.compile(
    r"\b(some|every)\s+([A-Za-z_]\w*)\s+in\s+([A-Za-z_]\w*)\s+satisfies\s+\2\s*=\s*"
    r"(\"[^\"]*\"|'[^']*'|-?\d+(?:\.\d+)?|true|false)(?=\s*(?:$|\)|\band\b|\bor\b))"
)


def _feel_quantifier(match: re.Match[str]) -> str:
    kind, collection, value = match.group(1), match.group(3), match.group(4)
    return f"({value} in {collection})" if kind == "some" else f"([{value}] * len({collection}) == {collection})"


XPATH_LITERALS = {"true": "True", "true()": "True", "false": "False", "false()": "False"}


def _has_condition(flow: etree._Element) -> bool:
    """Whether a sequence flow carries a condition (an empty condition element, as XPath tools export it, is
    none)."""
    return any(is_bpmn(c, "conditionExpression") and (c.text or "").strip() for c in flow)


def _join_feel_names(part: str) -> str:
    """FEEL names may contain spaces (``Vacation Approval``): join their words with ``_`` for the safe language."""

    def join(match: re.Match[str]) -> str:
        words = match.group(0).split(" ")
        out: list[str] = []
        for word in words:
            if out and word.lower() not in FEEL_KEYWORDS and out[-1].lower() not in FEEL_KEYWORDS:
                out[-1] = f"{out[-1]}_{word}"
            else:
                out.append(word)
        return " ".join(out)

    return re.sub(r"[A-Za-z_]\w*(?: [A-Za-z_]\w*)+", join, part)


def _convert_foreign_expression(text: str, feel: bool = False) -> tuple[str, str | None]:
    """Convert Camunda 7 JUEL (``${a && b}``) and Zeebe FEEL (``= a = 1``) conditions.

    Returns (expression, dialect) where dialect is None when nothing was converted.
    Only simple comparisons and boolean logic convert; anything else is left
    for the safe-expression check to refuse.
    """
    stripped = text.strip()
    dialect = None
    if (stripped.startswith("${") or stripped.startswith("#{")) and stripped.endswith("}"):
        stripped, dialect = stripped[2:-1], "JUEL"
    elif stripped.startswith("="):
        stripped, dialect = stripped[1:], "FEEL"
    elif "bpmn:getDataObject(" in stripped:
        # BPMN's XPath functions (the spec's default expression language)
        stripped = re.sub(r"bpmn:getDataObject\(\s*'([A-Za-z_]\w*)'\s*\)", r"\1", stripped)
        stripped = re.sub(r"\b(true|false)\(\)", r"\1", stripped)
        stripped = re.sub(r"(?<![\w.])not\(", "not (", stripped)
        dialect = "XPath"
    elif feel:
        dialect = "FEEL"
    if dialect is None:
        return text, None
    if dialect == "FEEL":
        stripped = _FEEL_QUANTIFIER.sub(_feel_quantifier, stripped)
    parts = _STRING_LITERAL.split(stripped)
    for index in range(0, len(parts), 2):  # even parts are outside string literals
        part = parts[index]
        part = part.replace("&&", " and ").replace("||", " or ")
        part = re.sub(r"!(?!=)", " not ", part)
        if dialect in {"FEEL", "XPath"}:
            part = re.sub(r"(?<![<>!=])=(?!=)", "==", part)
            part = _join_feel_names(part)
        part = re.sub(r"\btrue\b", "True", part)
        part = re.sub(r"\bfalse\b", "False", part)
        part = re.sub(r"\bnull\b", "None", part)
        parts[index] = part
    return " ".join("".join(parts).split()), dialect
