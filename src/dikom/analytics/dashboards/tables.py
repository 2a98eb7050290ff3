"""Tables: the one shape every chart's data takes, shown on the page and exported as CSV, XLSX and PDF.

A table holds raw values (integers, fractions for rates); the page formats
them for people, CSV writes percentages with one decimal, XLSX keeps the
fraction with a percentage number format — the same numbers everywhere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dikom.lib import spreadsheet_safety
from dikom.lib.slugs import german_slugify as slugify

TEXT, INT, PERCENT, DECIMAL, SECONDS = "text", "int", "percent", "decimal", "seconds"
ROW = "row"  # the kind of this cell is the row's own (``Table.row_kinds``), e.g. a table of mixed key figures
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EMPTY = "\N{EN DASH}"


@dataclass
class Column:
    title: str
    kind: str = INT


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    row_kinds: list[str] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return [c.title + (" (%)" if c.kind == PERCENT else "") for c in self.columns]

    def kinds(self, index: int) -> list[str]:
        """The kind of every cell of row ``index``."""
        return [self.row_kinds[index] if c.kind == ROW else c.kind for c in self.columns]

    def typed_rows(self) -> list[list[tuple[Any, str]]]:
        return [list(zip(row, self.kinds(i), strict=True)) for i, row in enumerate(self.rows)]

    def display_rows(self) -> list[list[str]]:
        return [[display(value, kind) for value, kind in row] for row in self.typed_rows()]


def display(value: Any, kind: str) -> str:
    """A cell as people read it (localised numbers, percentages with one decimal)."""
    if value is None:
        return EMPTY
    if kind == PERCENT:
        # number_format cuts decimals off; round first so the page shows what CSV and XLSX show.
        return f"{number_format(round(value * 100, 1), 1, use_l10n=True)}\N{NO-BREAK SPACE}%"
    if kind == DECIMAL:
        return number_format(round(value, 2), 2, use_l10n=True)
    if kind in (INT, SECONDS):
        places = 0 if kind == INT else 1
        return number_format(round(value, places), places, use_l10n=True, force_grouping=True)
    return str(value)


def csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == PERCENT:
        return round(value * 100, 1)
    if kind == TEXT:
        return str(value)
    return value


def filename(*parts: str) -> str:
    return "-".join(slugify(p) for p in parts if p)


def excel_de_value(value: Any, kind: str) -> Any:
    """A cell for German Excel: numbers with a decimal comma and no grouping, so Excel reads them as numbers."""
    value = csv_value(value, kind)
    if isinstance(value, float):
        return f"{value:.{1 if kind == PERCENT else 2 if kind == DECIMAL else 1}f}".replace(".", ",")
    return value


def csv_response(table: Table, name: str, excel_de: bool = False) -> HttpResponse:
    """The table as CSV: RFC 4180 (comma, decimal point, UTF-8) for programs, or with
    ``excel_de`` for German Excel (UTF-8 with BOM, semicolon, decimal comma), which
    otherwise puts a whole row into one cell and garbles umlauts."""
    buffer = io.StringIO()
    if excel_de:
        buffer.write("\ufeff")
    writer = spreadsheet_safety.csv_writer(buffer, delimiter=";" if excel_de else ",")
    writer.writerow(table.headers)
    for row in table.typed_rows():
        writer.writerow([(excel_de_value if excel_de else csv_value)(value, kind) for value, kind in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    suffix = "-excel" if excel_de else ""
    response["Content-Disposition"] = f'attachment; filename="{name}{suffix}.csv"'
    return response


NUMBER_FORMATS = {INT: "#,##0", PERCENT: "0.0%", DECIMAL: "0.00", SECONDS: "#,##0.0"}


def xlsx_response(table: Table, name: str) -> HttpResponse:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook always has one sheet
    sheet.title = (table.title or _("Data"))[:31].translate({ord(c): " " for c in "[]:*?/\\"})
    spreadsheet_safety.append_row(sheet, table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_index, row in enumerate(table.typed_rows(), start=2):
        spreadsheet_safety.append_row(sheet, [str(v) if kind == TEXT and v is not None else v for v, kind in row])
        for column_index, (_value, kind) in enumerate(row, start=1):
            if kind in NUMBER_FORMATS:
                sheet.cell(row=row_index, column=column_index).number_format = NUMBER_FORMATS[kind]
    for index, header in enumerate(table.headers, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(12, len(header) + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def export_response(tables: dict[str, Table], fmt: str, table_slug: str, name: str) -> HttpResponse | None:
    """The CSV or XLSX download of one of ``tables``; None when the request names no valid export."""
    table = tables.get(table_slug)
    if table is None or fmt not in EXPORT_FORMATS:
        return None
    full_name = filename(name, table.slug)
    if fmt == "xlsx":
        return xlsx_response(table, full_name)
    return csv_response(table, full_name, excel_de=fmt == "csv-excel")


EXPORT_FORMATS = ("csv", "csv-excel", "xlsx")
