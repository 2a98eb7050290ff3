"""German-aware search over datasets that works the same on SQLite and PostgreSQL.

Every dataset keeps ``search_text``: the words of its title, description,
keywords and organisation, lower-cased with umlauts and ß folded
(ä/ae → a, ö/oe → o, ü/ue → u, ß → ss), one space before each word. A query
word is folded the same way and stemmed (common German endings removed), and
matches any indexed word that *starts* with the stem: "Baum" and "Bäume" both
become "baum" and find "Bäume" and "Baumkataster"; "Strasse" finds "Straße".

``parse_q`` and ``parse_fq`` read the part of Solr's syntax that CKAN clients
send (``field:value``, quoted phrases, ``[a TO b]`` ranges, ``-`` for negation,
``AND``/``OR``) and raise ``SearchQueryError`` for anything malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The folding and stemming are shared with the transfer forum's search (dikom.lib.german_text).
from dikom.lib.german_text import FOLDS, MIN_STEM, SUFFIXES, WORD_RE, fold, stem, words

__all__ = ["FOLDS", "MIN_STEM", "SUFFIXES", "WORD_RE", "fold", "stem", "words"]

MAX_TERMS = 12
# Longer words are indexed by their first TERM_LENGTH characters; a longer query stem is checked on search_text.
TERM_LENGTH = 200


class SearchQueryError(ValueError):
    """A query CKAN's Solr would refuse; the message says why."""


def index_text(*parts: str) -> str:
    """The ``search_text`` of a dataset: each folded word once, each preceded by a space."""
    seen: dict[str, None] = {}
    for part in parts:
        for word in words(part):
            seen.setdefault(word.replace("_", ""), None)
    return "".join(f" {w}" for w in seen if w)


def terms_of(text: str) -> list[str]:
    """The indexed words of a ``search_text`` (each stored as one ``SearchTerm`` row)."""
    return [term[:TERM_LENGTH] for term in text.split() if term]


def query_stems(text: str) -> list[str]:
    """The prefixes a free-text query looks for, each to be found at the start of an indexed word."""
    return [stem(w.replace("_", "")) for w in words(text)][:MAX_TERMS]


@dataclass
class Clause:
    field: str
    value: str | None = None
    low: str | None = None
    high: str | None = None
    negate: bool = False


@dataclass
class ParsedQuery:
    text: list[str] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)


TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<sign>[+-])?
        (?:(?P<field>[A-Za-z_][\w.]*):)?
        (?:
            "(?P<phrase>[^"]*)"
          | \[(?P<low>[^\s\]]+)\s+TO\s+(?P<high>[^\s\]]+)\]
          | (?P<word>[^\s"()\[\]{}:]+)
        )
    )""",
    re.VERBOSE,
)
OPERATORS = {"AND", "OR", "&&", "||"}


def _check_balance(text: str) -> None:
    if text.count('"') % 2:
        raise SearchQueryError('Unbalanced quotation mark (")')
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise SearchQueryError(f"Unexpected '{char}'")
    if depth:
        raise SearchQueryError("Unbalanced brackets")


def parse(text: str, *, allow_text: bool = True) -> ParsedQuery:
    """Parse a q or fq string; unknown or malformed syntax raises SearchQueryError."""
    text = (text or "").strip()
    result = ParsedQuery()
    if not text or text in {"*:*", "*"}:
        return result
    if len(text) > 2000:
        raise SearchQueryError("Query too long")
    _check_balance(text)
    # Grouping parentheses carry no meaning here beyond their balance: clauses are ANDed.
    text = text.replace("(", " ").replace(")", " ")
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN_RE.match(text, position)
        if not match or match.end() == position:
            raise SearchQueryError(f"Cannot parse '{text[position : position + 40].strip()}'")
        position = match.end()
        if position < len(text) and not text[position].isspace():
            raise SearchQueryError(f"Cannot parse '{text[match.start() : position + 1].strip()}'")
        field_name = match.group("field")
        word = match.group("word")
        phrase = match.group("phrase")
        negate = match.group("sign") == "-"
        if field_name is None:
            if word in OPERATORS:
                continue
            if word == "NOT":
                raise SearchQueryError("NOT is not supported; use -field:value")
            if match.group("low") is not None:
                raise SearchQueryError("A range needs a field name")
            if not allow_text:
                raise SearchQueryError(f"Expected field:value, got '{word or phrase}'")
            result.text.append(word if word is not None else phrase or "")
            continue
        if match.group("low") is not None:
            result.clauses.append(Clause(field_name, low=match.group("low"), high=match.group("high"), negate=negate))
        else:
            value = phrase if phrase is not None else word
            if value is None or value == "":
                raise SearchQueryError(f"Field '{field_name}' has no value")
            result.clauses.append(Clause(field_name, value=value, negate=negate))
    return result
