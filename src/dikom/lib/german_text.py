"""German word folding and light stemming, shared by the searches (open data, the transfer forum).

- ``fold``: lower-case, umlauts and ß folded (ä/ae → a, ö/oe → o, ü/ue → u, ß → ss), so that
  "Straße" and "Strasse", "Bäume" and "Baeume" are written alike.
- ``words``: the folded words of a text.
- ``stem``: common German endings removed (a stem keeps at least ``MIN_STEM`` letters), so that
  "Baum", "Bäume" and "Bäumen" all become "baum".

The same functions are applied to the indexed text and to the query, so both sides agree.
"""

from __future__ import annotations

import re

WORD_RE = re.compile(r"[\w]+", re.UNICODE)
FOLDS = (("ß", "ss"), ("ä", "a"), ("ö", "o"), ("ü", "u"), ("ae", "a"), ("oe", "o"), ("ue", "u"))
# Longest first; a stem keeps at least MIN_STEM letters.
SUFFIXES = ("ungen", "ern", "em", "en", "er", "es", "e", "n", "s")
MIN_STEM = 3


def fold(text: str) -> str:
    text = text.lower()
    for old, new in FOLDS:
        text = text.replace(old, new)
    return text


def words(text: str) -> list[str]:
    return [w for w in WORD_RE.findall(fold(text)) if w and not w.isspace()]


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> list[str]:
    """The stems of the folded words of ``text``, in order, without underscores."""
    return [stem(w.replace("_", "")) for w in words(text) if w.replace("_", "")]
