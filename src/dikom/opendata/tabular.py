"""Reading the tables inside published files (CSV and XLSX), for previews and the DataStore.

Files come from publishers and harvested portals, so everything is bounded and
nothing is ever evaluated: a cell is text as found (a spreadsheet formula is
read as the text ``=…``, never computed; of an XLSX only the values the
spreadsheet program stored are read, no formula is computed), lines and cells have length limits, an
XLSX is checked for zip bombs before it is opened, and the number of columns
is capped. Pure functions, no database; a problem with the file raises
``Unreadable`` with a German message for the page or the API.

CSV as German portals publish it: ``,`` ``;`` tab or ``|`` as separator (the
one that occurs most often outside quotes in the header line), UTF-8 with or
without BOM, else Windows-1252 (which covers Latin-1's printable range).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _

MAX_COLUMNS = 500
MAX_CELL_CHARS = 32_000
MAX_LINE_BYTES = 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_XLSX_PARTS = 2000
MAX_XLSX_RATIO = 100
MAX_XLSX_RATIO_FROM_BYTES = 1024 * 1024
SEPARATORS = (";", ",", "\t", "|")
SAMPLE_BYTES = 64 * 1024


class Unreadable(Exception):
    """The file holds no table we can read; ``message`` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    columns: list[str]
    rows: Iterator[list[str]]
    encoding: str = ""
    separator: str = ""
    # Rows with more cells than the header ("long") lose the extra cells; counted so the loader can say so.
    ragged: dict[str, int] = field(default_factory=lambda: {"long": 0, "first_long": 0})


def unique_columns(raw: list[Any]) -> list[str]:
    """Header cells → distinct, non-empty column names (``Spalte 3`` for an empty one, ``x_2`` for a repeat)."""
    names: list[str] = []
    seen: set[str] = {"_id"}  # CKAN's row number; a header "_id" becomes "_id_2"
    for index, cell in enumerate(raw, start=1):
        base = " ".join(str(cell if cell is not None else "").split())[:63] or f"Spalte {index}"
        name, number = base, 2
        while name.lower() in seen:
            name, number = f"{base}_{number}", number + 1
        seen.add(name.lower())
        names.append(name)
    return names


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        # The sample may end inside a multi-byte character: decode incrementally, not final.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def detect_separator(header_line: str) -> str:
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Decoded lines, each at most ``MAX_LINE_BYTES`` long (a file without line breaks is refused)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict" if encoding.startswith("utf-8") else "replace")
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        if len(raw) > MAX_LINE_BYTES:
            raise Unreadable(_("A line of the file is longer than 1 MB; it is not a table."))
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError:
            raise Unreadable(_("The file mixes character encodings; save it as UTF-8.")) from None


def read_csv(stream: IO[bytes]) -> Table:
    """The header and a lazy iterator of rows (each as long as the header) of a CSV file."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise Unreadable(_("The file is empty."))
    if b"\x00" in sample:
        raise Unreadable(_("The file contains binary data; it is not a CSV table."))
    encoding = detect_encoding(sample)
    first_line = sample.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0] if sample else ""
    separator = detect_separator(first_line)
    reader = csv.reader(_lines(stream, encoding), delimiter=separator)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise Unreadable(_("The CSV file cannot be read: %(error)s") % {"error": str(error)[:100]}) from None
    if not header or not any(cell.strip() for cell in header):
        raise Unreadable(_("The file has no header line."))
    if len(header) > MAX_COLUMNS:
        raise Unreadable(
            _("The table has %(n)d columns; at most %(max)d are supported.") % {"n": len(header), "max": MAX_COLUMNS}
        )
    columns = unique_columns(header)
    width = len(columns)
    ragged = {"long": 0, "first_long": 0}

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) > width and any(cell.strip() for cell in row[width:]):
                    ragged["long"] += 1
                    ragged["first_long"] = ragged["first_long"] or reader.line_num
                cells = [cell[:MAX_CELL_CHARS] for cell in row[:width]]
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield cells
        except csv.Error as error:
            raise Unreadable(
                _("The CSV file cannot be read at line %(line)d: %(error)s")
                % {"line": reader.line_num, "error": str(error)[:100]}
            ) from None

    return Table(columns, rows(), encoding=encoding, separator=separator, ragged=ragged)


def check_xlsx(stream: IO[bytes]) -> zipfile.ZipFile:
    """The archive of an XLSX, refused when it is not one or unpacks to far more than it weighs."""
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Unreadable(_("The file is not a valid XLSX workbook.")) from None
    too_big = len(infos) > MAX_XLSX_PARTS or sum(i.file_size for i in infos) > MAX_XLSX_UNPACKED_BYTES
    too_packed = any(
        i.file_size > MAX_XLSX_RATIO_FROM_BYTES and i.file_size > MAX_XLSX_RATIO * max(i.compress_size, 1)
        for i in infos
    )
    if too_big or too_packed:
        raise Unreadable(_("The workbook unpacks to far more data than it contains; it was not opened."))
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise Unreadable(_("The file is not a valid XLSX workbook."))
    return archive


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:MAX_CELL_CHARS].replace("\x00", "")


def read_xlsx(stream: IO[bytes]) -> Table:
    """The first sheet of an XLSX: header and lazy rows, cells as text (stored values; no formula is computed)."""
    check_xlsx(stream)
    stream.seek(0)
    try:
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        # data_only: the values the spreadsheet program stored, never a formula to compute.
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        if sheet.max_column and sheet.max_column > MAX_COLUMNS:
            raise Unreadable(
                _("The table has %(n)d columns; at most %(max)d are supported.")
                % {"n": sheet.max_column, "max": MAX_COLUMNS}
            )
        iterator = sheet.iter_rows(values_only=True)
        header = next(iterator, None)
    except Unreadable:
        raise
    except Exception:  # openpyxl raises many kinds for broken workbooks
        raise Unreadable(_("The file is not a valid XLSX workbook.")) from None
    if not header or not any(cell not in (None, "") for cell in header):
        raise Unreadable(_("The file has no header line."))
    header = list(header)
    while header and header[-1] in (None, ""):
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise Unreadable(
            _("The table has %(n)d columns; at most %(max)d are supported.") % {"n": len(header), "max": MAX_COLUMNS}
        )
    columns = unique_columns(header)
    width = len(columns)

    def rows() -> Iterator[list[str]]:
        try:
            for row in iterator:
                cells = [_text(value) for value in list(row)[:width]]
                if not any(cells):
                    continue
                cells.extend([""] * (width - len(cells)))
                yield cells
        except Exception:
            raise Unreadable(_("The file is not a valid XLSX workbook.")) from None
        finally:
            workbook.close()

    return Table(columns, rows(), encoding="xlsx")


def read_table(stream: IO[bytes], file_format: str) -> Table:
    """CSV or XLSX by the resource's format (``CSV``, ``XLSX``)."""
    if file_format.upper() in ("XLSX", "XLS"):
        return read_xlsx(stream)
    return read_csv(stream)
