"""Reading figure files (CSV, XLSX) and the values in them: months and numbers.

Everything here is pure (no database). A file-level problem raises
``FileRejected``; a bad cell is a ``CellError`` that the caller reports with its
row number. The parsers are property-tested: they never raise anything else.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

# Column names (lower-case) → canonical field.
COLUMNS = {
    "month": "month",
    "monat": "month",
    "service": "service",
    "dienst": "service",
    "leika": "leika",
    "leika_key": "leika",
    "leika-schlüssel": "leika",
    "leistungsschlüssel": "leika",
    "metric": "metric",
    "kennzahl": "metric",
    "value": "value",
    "wert": "value",
    "count": "count",
    "anzahl": "count",
}
REQUIRED = ("month", "metric", "value")

MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("januar", "jan", "jänner", "january"),
            ("februar", "feb", "february"),
            ("märz", "mär", "maerz", "mrz", "march", "mar"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "jun", "june"),
            ("juli", "jul", "july"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt", "october", "oct"),
            ("november", "nov"),
            ("dezember", "dez", "december", "dec"),
        ],
        start=1,
    )
    for name in names
}
MIN_YEAR, MAX_YEAR = 2000, 2100


def max_upload_bytes() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_FIGURES_MAX_UPLOAD_BYTES", 5 * 1024 * 1024))


def max_rows() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_FIGURES_MAX_ROWS", 50_000))


def max_parse_seconds() -> float:
    return float(getattr(settings, "DIKOM_ANALYTICS_FIGURES_MAX_PARSE_SECONDS", 60))


MAX_CELL_LENGTH = 200
# An XLSX is a zip of XML parts; a real one with 50 000 rows unpacks to a few ten MB.
MAX_XLSX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_XLSX_PARTS = 1000
# Office XML compresses about 5-20 fold; a part that unpacks more than this is not a spreadsheet but a bomb.
MAX_XLSX_RATIO = 100
MAX_XLSX_RATIO_FROM_BYTES = 1024 * 1024  # small parts (styles, an empty sheet) may compress better
# A figures sheet has a handful of columns; the cell budget counts every <c> and <row> element read, empty or
# not, so a sheet of blank cells cannot keep the parser busy either.
MAX_XLSX_COLUMNS = 50
MAX_XLSX_CELLS = 2_000_000
# Check the clock every so many cells (time.monotonic per cell would cost more than the cell).
CLOCK_EVERY = 1000
PROGRESS_EVERY = 1000  # report parsing progress every so many data rows


class FileRejected(Exception):
    """The file as a whole cannot be read; ``message`` says why (translated)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


class CellError(ValueError):
    """One cell's value is invalid; the message is translated."""


@dataclass
class RawRow:
    """One data row of a file, cells as found (str, int, float, datetime or None)."""

    number: int  # row number as a spreadsheet shows it (header = 1)
    cells: dict[str, Any]
    formula_columns: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows: list[RawRow]
    ignored_columns: list[str]
    decimal_comma: bool  # how ambiguous numbers in text cells are read


# --- numbers ------------------------------------------------------------------------------------

_NUMBER_CHARS = re.compile(r"^[+-]?[0-9.,]+$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_number(raw: Any, *, decimal_comma: bool) -> Decimal:
    """A number from a cell: int/float/Decimal as is, text in German or English notation.

    Text with both separators takes the last one as the decimal mark ("1.234,5",
    "1,234.5"). A single separator followed by exactly three digits ("1.234") is
    ambiguous and read by the file's convention: grouping when ``decimal_comma``
    is set for ".", when it is not for ",". Repeated separators are grouping and
    must form groups of three digits. Anything else is a ``CellError``.
    """
    if isinstance(raw, bool) or raw is None:
        raise CellError(_("Enter a number."))
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise CellError(_("Enter a number."))
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise CellError(_("Enter a number."))
        return raw
    text = _SPACES.sub("", str(raw))
    if not text:
        raise CellError(_("Enter a number."))
    if not _NUMBER_CHARS.match(text):
        raise CellError(_("“%(value)s” is not a number.") % {"value": str(raw)[:40]})
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:]
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        if text.count(decimal_mark) > 1 or text.rfind(group_mark) > text.rfind(decimal_mark):
            raise CellError(_("“%(value)s” is not a number.") % {"value": str(raw)[:40]})
        integer, fraction = text.split(decimal_mark)
        integer = _ungroup(integer, group_mark, raw)
    elif dots or commas:
        mark = "." if dots else ","
        parts = text.split(mark)
        if len(parts) > 2:
            integer, fraction = _ungroup(text, mark, raw), ""
        elif len(parts[1]) == 3 and parts[0] not in ("", "0") and parts[0].isdigit():
            # Ambiguous: "1.234" is 1234 in German, 1.234 in English notation.
            is_group = (mark == ".") == decimal_comma
            if is_group:
                integer, fraction = _ungroup(text, mark, raw), ""
            else:
                integer, fraction = parts
        else:
            integer, fraction = parts
    else:
        integer, fraction = text, ""
    if not integer:
        integer = "0"
    if not integer.isdigit() or (fraction and not fraction.isdigit()):
        raise CellError(_("“%(value)s” is not a number.") % {"value": str(raw)[:40]})
    if len(integer) > 15 or len(fraction) > 4:
        raise CellError(_("“%(value)s” has too many digits.") % {"value": str(raw)[:40]})
    try:
        return Decimal(f"{sign}{integer}" + (f".{fraction}" if fraction else ""))
    except InvalidOperation as exc:  # pragma: no cover - guarded by the checks above
        raise CellError(_("Enter a number.")) from exc


def _ungroup(text: str, mark: str, raw: Any) -> str:
    groups = text.split(mark)
    if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
        raise CellError(_("“%(value)s” is not a number.") % {"value": str(raw)[:40]})
    return "".join(groups)


# --- months -------------------------------------------------------------------------------------

_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-01)?$")
_NUMERIC_MONTH = re.compile(r"^(\d{1,2})\s*[/.]\s*(\d{4})$")
_NAMED_MONTH = re.compile(r"^([^\W\d_]+)\.?\s*[ /-]?\s*(\d{4})$")


def parse_month(raw: Any) -> date:
    """The first day of the month in a cell: 2026-10, 10/2026, 10.2026, "Oktober 2026", or a date cell on day 1."""
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        if raw.day != 1:
            raise CellError(_("Give a month (e.g. 2026-10), not a single day."))
        year, month = raw.year, raw.month
    else:
        if raw is None or isinstance(raw, bool):
            raise CellError(_("Give the month, e.g. 2026-10."))
        text = str(raw).strip().lower()
        if match := _ISO_MONTH.match(text):
            year, month = int(match[1]), int(match[2])
        elif match := _NUMERIC_MONTH.match(text):
            month, year = int(match[1]), int(match[2])
        elif (match := _NAMED_MONTH.match(text)) and match[1] in MONTH_NAMES:
            month, year = MONTH_NAMES[match[1]], int(match[2])
        else:
            raise CellError(
                _("“%(value)s” is not a month; write it as YYYY-MM, MM/YYYY or “Oktober 2026”.")
                % {"value": str(raw)[:40]}
            )
    if not 1 <= month <= 12:
        raise CellError(_("There is no month %(month)d.") % {"month": month})
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(_("The year must lie between %(min)d and %(max)d.") % {"min": MIN_YEAR, "max": MAX_YEAR})
    return date(year, month, 1)


# --- files --------------------------------------------------------------------------------------


def _header_map(header: list[Any]) -> tuple[dict[int, str], list[str]]:
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        name = str(cell if cell is not None else "").strip().lstrip("\ufeff").strip().lower()
        if not name:
            continue
        canonical = COLUMNS.get(name)
        if canonical is None:
            ignored.append(str(cell)[:MAX_CELL_LENGTH])
            continue
        if canonical in mapping.values():
            raise FileRejected(_("The column “%(name)s” appears twice in the header.") % {"name": str(cell)})
        mapping[index] = canonical
    missing = [name for name in REQUIRED if name not in mapping.values()]
    if "service" not in mapping.values() and "leika" not in mapping.values():
        missing.append("service/leika")
    if missing:
        raise FileRejected(
            _(
                "The header row lacks the column(s) %(missing)s. Expected: month (Monat), service (Dienst) "
                "and/or leika (LeiKa), metric (Kennzahl), value (Wert)."
            )
            % {"missing": ", ".join(missing)}
        )
    return mapping, ignored


def read_file(name: str, data: bytes, progress: Callable[[int], None] | None = None) -> ParsedFile:
    """Parse an uploaded CSV or XLSX file into raw rows (header mapped to canonical names).

    ``progress``, when given, is called with the number of data rows read so far
    (every ``PROGRESS_EVERY`` rows) while a workbook is read.
    """
    if len(data) > max_upload_bytes():
        raise FileRejected(
            _("The file is larger than %(mb)s MB.") % {"mb": round(max_upload_bytes() / 1024 / 1024, 1)},
            too_large=True,
        )
    if not data.strip():
        raise FileRejected(_("The file is empty."))
    is_zip = data[:4] == b"PK\x03\x04"
    if name.lower().endswith((".xlsx", ".xlsm")) or is_zip:
        if not is_zip:
            raise FileRejected(_("The file is not an Excel workbook (.xlsx)."))
        return _read_xlsx(data, progress)
    return _read_csv(data)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise FileRejected(_("The file is not a CSV text file. Upload CSV (UTF-8 or Windows-1252) or XLSX."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # German Excel saves "CSV (Trennzeichen-getrennt)" in Windows-1252.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileRejected(_("The file's character encoding is neither UTF-8 nor Windows-1252.")) from exc


def _read_csv(data: bytes) -> ParsedFile:
    text = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";", ",", "\t", key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise FileRejected(_("No column separator found in the header row; use “;” or “,”."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[RawRow] = []
    header: list[str] | None = None
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    try:
        for number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
                mapping, ignored = _header_map(record)
                continue
            if len(rows) >= max_rows():
                raise FileRejected(_("The file has more than %(n)d data rows.") % {"n": max_rows()}, too_large=True)
            cells = {canonical: record[index] if index < len(record) else None for index, canonical in mapping.items()}
            rows.append(RawRow(number=number, cells=cells))
    except csv.Error as exc:
        raise FileRejected(_("The CSV file cannot be read: %(error)s") % {"error": str(exc)}) from exc
    if header is None:
        raise FileRejected(_("The file is empty."))
    # German Excel writes ";" and a decimal comma; "," as separator implies a decimal point.
    return ParsedFile(rows=rows, ignored_columns=ignored, decimal_comma=delimiter != ",")


def _check_zip(data: bytes) -> None:
    """Refuse archives that unpack to too much before any XML parser sees them (zip bombs)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(_("The file is not an Excel workbook (.xlsx).")) from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            raise FileRejected(_("The file is not an Excel workbook (.xlsx)."))
        # zipfile stops at the declared size (and fails on a CRC mismatch), so the declared sizes bound the work.
        bomb = len(infos) > MAX_XLSX_PARTS or sum(info.file_size for info in infos) > MAX_XLSX_UNPACKED_BYTES
        bomb = bomb or any(
            info.file_size > MAX_XLSX_RATIO_FROM_BYTES and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1)
            for info in infos
        )
        if bomb:
            raise FileRejected(
                _("The workbook unpacks to more data than allowed; it may be damaged or a zip bomb."),
                too_large=True,
            )


def _read_xlsx(data: bytes, progress: Callable[[int], None] | None = None) -> ParsedFile:
    _check_zip(data)
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # lazily: only uploads need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:
        raise FileRejected(_("The workbook cannot be read; it may be damaged.")) from exc
    try:
        return _read_sheet(workbook, progress)
    except FileRejected:
        raise
    except Exception as exc:
        raise FileRejected(_("The workbook cannot be read; it may be damaged.")) from exc
    finally:
        workbook.close()


def _read_sheet(workbook: Any, progress: Callable[[int], None] | None) -> ParsedFile:
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise FileRejected(_("The workbook has no sheet."))
    rows: list[RawRow] = []
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    header_seen = False
    for number, record in _sheet_rows(workbook, sheet):
        values = [value for value, _formula in record]
        if all(value is None or (isinstance(value, str) and not value.strip()) for value in values):
            continue
        if not header_seen:
            header_seen = True
            mapping, ignored = _header_map(values)
            continue
        if len(rows) >= max_rows():
            raise FileRejected(_("The file has more than %(n)d data rows.") % {"n": max_rows()}, too_large=True)
        cells: dict[str, Any] = {}
        formulas: list[str] = []
        for index, canonical in mapping.items():
            value, is_formula = record[index] if index < len(record) else (None, False)
            cells[canonical] = value
            if is_formula:
                formulas.append(canonical)
        rows.append(RawRow(number=number, cells=cells, formula_columns=formulas))
        if progress is not None and len(rows) % PROGRESS_EVERY == 0:
            progress(len(rows))
    if not header_seen:
        raise FileRejected(_("The file is empty."))
    # Text cells in a German workbook use the decimal comma; numeric cells are numbers anyway.
    return ParsedFile(rows=rows, ignored_columns=ignored, decimal_comma=True)


def _sheet_rows(workbook: Any, sheet: Any) -> Iterator[tuple[int, list[tuple[Any, bool]]]]:
    """(row number, [(value, is_formula), …]) for every row the sheet's XML holds, streamed.

    The sheet's declared ``<dimension>`` is never used: openpyxl's ``iter_rows``
    pads every row to the declared width and fills every gap up to the declared
    height, so ``A1:XFD1048576`` in a 2 KB file means 17 billion empty cells. The
    worksheet parser openpyxl's read-only mode is built on yields only the cells
    present, with their true row and column; here every cell and row element
    counts against a budget, columns beyond ``MAX_XLSX_COLUMNS`` are refused,
    and the clock is checked as the rows stream by.
    """
    from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]

    deadline = time.monotonic() + max_parse_seconds()
    budget = MAX_XLSX_CELLS
    since_clock = CLOCK_EVERY  # so the first row looks at the clock too
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=False,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for row_number, cells in parser.parse():
            budget -= len(cells) + 1
            if budget < 0:
                raise FileRejected(
                    _("The sheet has more than %(n)d cells; remove empty or unneeded cells.") % {"n": MAX_XLSX_CELLS},
                    too_large=True,
                )
            since_clock += len(cells) + 1
            if since_clock >= CLOCK_EVERY:
                since_clock = 0
                if time.monotonic() > deadline:
                    raise FileRejected(
                        _("Reading the sheet took longer than %(s)d seconds; split the file.")
                        % {"s": max_parse_seconds()},
                        too_large=True,
                    )
            if not cells:
                continue
            width = max(cell["column"] for cell in cells)
            if width > MAX_XLSX_COLUMNS:
                if all(_blank(cell["value"]) for cell in cells if cell["column"] > MAX_XLSX_COLUMNS):
                    width = MAX_XLSX_COLUMNS
                else:
                    raise FileRejected(
                        _("The sheet has more than %(n)d columns.") % {"n": MAX_XLSX_COLUMNS}, too_large=True
                    )
            record: list[tuple[Any, bool]] = [(None, False)] * width
            for cell in cells:
                column = cell["column"]
                if column <= width:
                    record[column - 1] = (cell["value"], cell["data_type"] == "f")
            yield row_number, record


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
