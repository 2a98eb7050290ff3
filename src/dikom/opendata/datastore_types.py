"""The DataStore's values: guessing a column's type from its cells, and converting cells and API values.

Types: ``int``, ``numeric`` (German ``1.234,5`` or English ``1,234.5``),
``date`` (``31.12.2024`` or ISO), ``timestamp``, else ``text``; ``bool`` and
``json`` only for tables created through the API. A value with a leading zero
(postcodes, AGS) is never a number. ``ColumnGuess`` and the loaders of
``loader`` accept exactly the same cells, so a load that guessed from the whole
file never meets a cell its column's type refuses. Pure functions, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext_lazy

from dikom.opendata import tabular

TYPES = ("text", "int", "numeric", "date", "timestamp", "bool", "json")
TYPE_ALIASES = {
    "int4": "int",
    "int8": "int",
    "integer": "int",
    "bigint": "int",
    "float": "numeric",
    "float8": "numeric",
    "double precision": "numeric",
    "number": "numeric",
    "boolean": "bool",
    "timestamptz": "timestamp",
    "string": "text",
    "varchar": "text",
}
# The types a publisher may choose for a column of a file's table.
COLUMN_TYPES = (
    ("text", gettext_lazy("Text")),
    ("int", gettext_lazy("Whole number")),
    ("numeric", gettext_lazy("Number")),
    ("date", gettext_lazy("Date")),
    ("timestamp", gettext_lazy("Date and time")),
)

LEADING_ZERO_RE = re.compile(r"^[+-]?0\d", re.ASCII)
INT_RE = re.compile(r"^[+-]?\d{1,15}$", re.ASCII)
NUM_DE_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$", re.ASCII)
NUM_EN_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$", re.ASCII)
DATE_DE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", re.ASCII)
DATE_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
TIMESTAMP_DE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)
TIMESTAMP_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$", re.ASCII
)


class DatastoreError(ValueError):
    """A request the DataStore refuses; ``field`` names the parameter (for CKAN's Validation Error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading values -------------------------------------------------------------------------------


def _date(text: str) -> date | None:
    match = DATE_DE_RE.match(text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        match = DATE_ISO_RE.match(text)
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return None


def _timestamp(text: str) -> datetime | None:
    match = TIMESTAMP_DE_RE.match(text)
    try:
        if match:
            return datetime(  # noqa: DTZ001 - local wall-clock times as the file states them
                int(match[3]), int(match[2]), int(match[1]), int(match[4]), int(match[5]), int(match[6] or 0)
            )
        if TIMESTAMP_ISO_RE.match(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return None


def _number(text: str, german: bool) -> float:
    if german:
        return float(text.replace(".", "").replace(",", "."))
    return float(text.replace(",", ""))


class ColumnGuess:
    """The types a column's values still allow; every non-empty value removes those it contradicts."""

    def __init__(self) -> None:
        self.candidates = {"int", "num_de", "num_en", "date", "timestamp"}
        self.seen = False

    def add(self, raw: str) -> None:
        text = raw.strip()
        if not text or not self.candidates:
            return
        self.seen = True
        if LEADING_ZERO_RE.match(text):
            # Postcodes, AGS and other keys ("06631009") are text: a number would lose the zero.
            self.candidates -= {"int", "num_de", "num_en"}
        checks = {
            "int": lambda t: bool(INT_RE.match(t)),
            "num_de": lambda t: bool(NUM_DE_RE.match(t)),
            "num_en": lambda t: bool(NUM_EN_RE.match(t)),
            "date": lambda t: _date(t) is not None,
            "timestamp": lambda t: _timestamp(t) is not None,
        }
        self.candidates = {c for c in self.candidates if checks[c](text)}

    def result(self, prefer_german: bool) -> str:
        if not self.seen:
            return "text"
        if "int" in self.candidates:
            return "int"
        if "num_de" in self.candidates and ("num_en" not in self.candidates or prefer_german):
            return "numeric:de"
        if "num_en" in self.candidates:
            return "numeric:en"
        if "date" in self.candidates:
            return "date"
        if "timestamp" in self.candidates:
            return "timestamp"
        return "text"


def convert_text(raw: str, kind: str) -> Any:
    """A cell read from a file → the stored JSON value of its column's (guessed) type."""
    text = raw.strip()
    if not text:
        return None
    if kind == "int":
        return int(text)
    if kind.startswith("numeric"):
        return _number(text, kind.endswith(":de"))
    if kind == "date":
        found = _date(text)
        return found.isoformat() if found else None
    if kind == "timestamp":
        stamp = _timestamp(text)
        return stamp.isoformat() if stamp else None
    return raw


def convert_value(value: Any, kind: str, column: str) -> Any:
    """A value from the API (JSON) → the stored value of a column of type ``kind``; DatastoreError if it is not one."""
    if value is None or value == "":
        return None
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
            if number is None:
                raise ValueError
            return number
        if kind == "numeric":
            if isinstance(value, bool):
                raise ValueError
            result = float(value)
            if result != result or result in (float("inf"), float("-inf")):
                raise ValueError
            return result
        if kind == "date":
            found = _date(str(value))
            if found is None:
                raise ValueError
            return found.isoformat()
        if kind == "timestamp":
            stamp = _timestamp(str(value))
            if stamp is None:
                day = _date(str(value))
                if day is None:
                    raise ValueError
                stamp = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - a date as given
            return stamp.isoformat()
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "ja", "yes"):
                return True
            if str(value).lower() in ("false", "0", "nein", "no"):
                return False
            raise ValueError
        if kind == "json":
            return value
    except (TypeError, ValueError, OverflowError):
        raise DatastoreError(
            "records", f'"{str(value)[:40]}" is not a valid value of type {kind} (column "{column[:40]}")'
        ) from None
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise DatastoreError("records", f'NUL character in column "{column[:40]}"')
    return text[: tabular.MAX_CELL_CHARS]


# --- loading cells into typed columns ------------------------------------------------------------


class Mismatch(ValueError):
    """A cell its column's type refuses (only possible when the type was guessed from a sample or set by hand)."""

    def __init__(self, index: int, value: str) -> None:
        super().__init__(value)
        self.index = index
        self.value = value


def loader(kind: str, index: int, long_text: list[bool]) -> Callable[[str], str | None]:
    """Cell → the column's value as text for ``COPY``/SQLite (None for an empty cell); ``Mismatch`` if it does not fit.

    ``kind`` as ``ColumnGuess.result`` names it (``numeric:de`` …). ``long_text[index]`` is set when a text
    cell is too long for a B-tree index.
    """
    limit = 1000

    if kind == "text":

        def text(cell: str) -> str | None:
            if not cell or cell.isspace():
                return None
            if len(cell) > limit:
                long_text[index] = True
            return cell

        return text
    if kind == "int":

        def whole(cell: str) -> str | None:
            value = cell.strip()
            if not value:
                return None
            if INT_RE.match(value) and not LEADING_ZERO_RE.match(value):
                return value
            raise Mismatch(index, cell)

        return whole
    if kind.startswith("numeric"):
        german = kind.endswith(":de")
        pattern = NUM_DE_RE if german else NUM_EN_RE

        def number(cell: str) -> str | None:
            value = cell.strip()
            if not value:
                return None
            if pattern.match(value) and not LEADING_ZERO_RE.match(value):
                return value.replace(".", "").replace(",", ".") if german else value.replace(",", "")
            raise Mismatch(index, cell)

        return number
    if kind in ("date", "timestamp"):
        parse = _date if kind == "date" else _timestamp
        seen: dict[str, str] = {}

        def moment(cell: str) -> str | None:
            value = cell.strip()
            if not value:
                return None
            found = seen.get(value)
            if found is None:
                parsed = parse(value)
                if parsed is None:
                    raise Mismatch(index, cell)
                found = parsed.isoformat()
                if len(seen) > 100_000:
                    seen.clear()
                seen[value] = found
            return found

        return moment
    raise ValueError(kind)
