"""Hostile workbooks: a lying <dimension>, too many rows, columns or cells, zip bombs, a parse time limit.

The declared dimension must not decide how much work is done: the sheet is
streamed cell by cell. These tests count work, not seconds: with openpyxl's
padded ``iter_rows`` the XFD1048576 file would not finish within any test run.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import override_settings

from dikom.analytics.figures import parsing
from dikom.analytics.figures.models import FigureUpload
from dikom.analytics.figures.parsing import FileRejected, read_file
from dikom.analytics.figures.tests.conftest import xlsx_bytes
from dikom.analytics.models import Service

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Tabelle1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages of direct parser calls in English (pages are German by default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _inline(ref: str, value: str | int) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _workbook(rows_xml: str, dimension: str = "A1:D3") -> bytes:
    """A minimal hand-written XLSX whose sheet XML is ``rows_xml`` and whose declared size is ``dimension``."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


HEADER = (
    '<row r="1">'
    + _inline("A1", "month")
    + _inline("B1", "service")
    + _inline("C1", "metric")
    + _inline("D1", "value")
    + "</row>"
)


def _data_row(number: int, value: int = 5) -> str:
    return (
        f'<row r="{number}">'
        + _inline(f"A{number}", "2025-01")
        + _inline(f"B{number}", f"s{number}")
        + _inline(f"C{number}", "visits")
        + _inline(f"D{number}", value)
        + "</row>"
    )


def test_lying_dimension_is_ignored_and_rows_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a small workbook that claims to span every cell a sheet can have
    data = _workbook(HEADER + _data_row(2) + _data_row(3, 7), dimension="A1:XFD1048576")
    assert len(data) < 2000
    # and a guard that fails if anything asks openpyxl for the padded, dimension-sized rows
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the declared dimension was used to pad rows")

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", forbidden)
    # When it is read
    parsed = read_file("gross.xlsx", data)
    # Then exactly the two data rows come back, with their own width
    assert [(row.number, row.cells["service"], row.cells["value"]) for row in parsed.rows] == [
        (2, "s2", 5),
        (3, "s3", 7),
    ]


def test_far_away_rows_do_not_create_work_for_the_gap() -> None:
    # A row at the sheet's last line and a cell in its last column (within an otherwise tiny file)
    data = _workbook(HEADER + _data_row(2) + _data_row(1048576), dimension="A1:XFD1048576")
    parsed = read_file("luecke.xlsx", data)
    assert [row.number for row in parsed.rows] == [2, 1048576]


def test_a_value_in_column_xfd_is_refused_as_too_many_columns() -> None:
    data = _workbook(HEADER + '<row r="2">' + _inline("XFD2", "x") + "</row>", dimension="A1:XFD2")
    with pytest.raises(FileRejected, match="more than 50 columns"):
        read_file("breit.xlsx", data)


def test_too_many_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_XLSX_CELLS", 100)
    # 30 empty rows of 4 cells each: no data, but every element costs parsing time
    blank = "".join(f'<row r="{n}"><c r="A{n}"/><c r="B{n}"/><c r="C{n}"/><c r="D{n}"/></row>' for n in range(2, 32))
    with pytest.raises(FileRejected, match="more than 100 cells"):
        read_file("leer.xlsx", _workbook(HEADER + blank))


@override_settings(DIKOM_ANALYTICS_FIGURES_MAX_ROWS=2)
def test_too_many_rows_in_a_workbook_are_refused() -> None:
    data = _workbook(HEADER + "".join(_data_row(n) for n in range(2, 6)))
    with pytest.raises(FileRejected, match="more than 2 data rows"):
        read_file("lang.xlsx", data)


@override_settings(DIKOM_ANALYTICS_FIGURES_MAX_PARSE_SECONDS=0)
def test_reading_stops_at_the_time_limit() -> None:
    with pytest.raises(FileRejected, match="took longer than 0 seconds"):
        read_file("langsam.xlsx", _workbook(HEADER + _data_row(2)))


def test_a_highly_compressed_part_is_refused_as_a_zip_bomb_before_parsing() -> None:
    # 20 MB of spaces compress about a thousand fold: under the total limit, over the ratio limit
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (20 * 1024 * 1024))
    with pytest.raises(FileRejected, match="zip bomb"):
        read_file("bombe.xlsx", buffer.getvalue())


def test_hostile_dimension_through_the_upload_page(upload: Any, staff_client: Any, trade: Service) -> None:
    # The reviewer's file, at the sheet's full size, through the page as staff upload it
    data = _workbook(
        HEADER.replace("service", "leika") + _data_row(2).replace(">s2<", ">99050012104000<"),
        dimension="A1:XFD1048576",
    )
    response = upload(data, name="zahlen.xlsx")
    assert response.status_code == 200
    record = FigureUpload.objects.latest("created_at")
    assert record.status == FigureUpload.Status.PREVIEW, record.errors
    assert [row["leika_key"] for row in record.rows] == ["99050012104000"]


def test_wide_file_is_refused_with_a_german_message_on_the_page(upload: Any, staff_client: Any) -> None:
    from django.conf import settings

    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    data = _workbook(HEADER + '<row r="2">' + _inline("AZ2", "x") + "</row>")
    response = upload(data, name="breit.xlsx")
    record = FigureUpload.objects.latest("created_at")
    assert record.status == FigureUpload.Status.FAILED
    assert "mehr als 50 Spalten" in response.content.decode()


def test_ordinary_workbook_still_works() -> None:
    data = xlsx_bytes(
        [["Monat", "Dienst", "Kennzahl", "Wert"], ["2025-01", "a", "visits", 3], [None], ["2025-02", "a", "visits", 4]]
    )
    parsed = read_file("ok.xlsx", data)
    assert [(row.number, row.cells["value"]) for row in parsed.rows] == [(2, 3), (4, 4)]
