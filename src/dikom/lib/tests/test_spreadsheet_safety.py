"""``spreadsheet_safety``: formula-like text is neutralised, numbers stay numbers, every writer uses it."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from dikom.lib.spreadsheet_safety import append_row, csv_writer, safe_cell

SRC = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text", ["=1+1", '=HYPERLINK("http://x","y")', "+49 661", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "\nx"]
)
def test_formula_like_text_gets_an_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3, -1.5, Decimal("-2.25"), 0, None, "-3", "-1,5", "+4.5", "Fulda", "a=b", ""])
def test_numbers_and_plain_text_stay_as_they_are(value: object) -> None:
    assert safe_cell(value) == value


def test_csv_writer_neutralises_every_cell() -> None:
    buffer = io.StringIO()
    csv_writer(buffer, delimiter=";").writerow(["=cmd", -5, "-5", "@x"])

    assert next(csv.reader(io.StringIO(buffer.getvalue()), delimiter=";")) == ["'=cmd", "-5", "-5", "'@x"]


def test_xlsx_rows_hold_no_formulas() -> None:
    workbook = Workbook()
    sheet = workbook.active
    append_row(sheet, ["=1+1", -5])
    buffer = io.BytesIO()
    workbook.save(buffer)

    cells = next(load_workbook(buffer).active.iter_rows())
    assert (cells[0].data_type, cells[0].value) == ("s", "'=1+1")
    assert (cells[1].data_type, cells[1].value) == ("n", -5)


def test_no_module_writes_csv_or_sheet_rows_around_the_helper() -> None:
    unsafe = re.compile(r"\bcsv\.(writer|DictWriter)\(|\bsheet\.append\(|\.cell\([^)]*value=")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "tests" not in path.parts and path.name != "spreadsheet_safety.py" and unsafe.search(path.read_text())
    ]
    assert offenders == []
