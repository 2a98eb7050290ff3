"""Cells the platform writes into CSV and XLSX files never run as formulas (CSV injection).

Spreadsheet programs read a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a line break as a formula, also in a CSV file: a service named
``=HYPERLINK("https://evil.example", "Details")`` would become a link, and
worse payloads can start programs. Following OWASP's advice, such text gets a
leading apostrophe, which spreadsheets show as plain text.

Only text is changed. Numbers stay numbers, and so does text that is just a
number (``-3``, ``-1,5``), so negative figures keep their meaning.

Every writer of the platform goes through this module: ``csv_writer`` in
place of ``csv.writer``, ``append_row`` in place of ``sheet.append``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*$")


def safe_cell(value: Any) -> Any:
    """``value`` as it may be written into a spreadsheet cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


class SafeCsvWriter:
    """``csv.writer`` whose rows are made safe cell by cell."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def csv_writer(stream: Any, **options: Any) -> SafeCsvWriter:
    """A CSV writer (same options as ``csv.writer``) that neutralises formula-like text."""
    return SafeCsvWriter(stream, **options)


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` for an openpyxl worksheet, with formula-like text neutralised.

    openpyxl itself stores any text starting with ``=`` as a formula.
    """
    sheet.append(safe_row(values))
