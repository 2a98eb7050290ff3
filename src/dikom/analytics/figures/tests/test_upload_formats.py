"""Uploading CSV and XLSX files: encodings, separators, number formats, limits and broken files."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from dikom.analytics.figures.models import FigureUpload, MonthlyFigure
from dikom.analytics.figures.tests.conftest import xlsx_bytes
from dikom.analytics.models import Service


def _last_upload() -> FigureUpload:
    return FigureUpload.objects.latest("created_at")


def _apply(staff_client: Any, upload: FigureUpload) -> Any:
    page = staff_client.get(f"/analytics/daten/fulda/uploads/{upload.uuid}/")
    fingerprint = page.content.decode().split('name="fingerprint" value="')[1].split('"')[0]
    return staff_client.post(
        f"/analytics/daten/fulda/uploads/{upload.uuid}/anwenden", {"fingerprint": fingerprint}, follow=True
    )


def test_semicolon_csv_with_decimal_comma_and_german_headers(upload: Any, staff_client: Any, parking: Service) -> None:
    response = upload(
        "Monat;Dienst;Kennzahl;Wert;Anzahl\n"
        "2025-01;anwohnerparken;transactions;1.234\n"
        "2025-01;anwohnerparken;processing_time_days;12,5;40\n"
        "01/2025;anwohnerparken;satisfaction_avg;4,25\n"
    )
    assert response.status_code == 200
    record = _last_upload()
    assert record.status == "preview" and record.errors == []
    values = {row["metric"]: (row["value"], row["observations"]) for row in record.rows}
    # "1.234" with ";" as separator is German notation: one thousand two hundred thirty-four.
    assert values == {
        "transactions": ("1234", None),
        "processing_time_days": ("12.5", 40),
        "satisfaction_avg": ("4.25", None),
    }
    _apply(staff_client, record)
    figure = MonthlyFigure.objects.get(metric="processing_time_days")
    assert figure.service == parking and figure.value == Decimal("12.5") and figure.total == Decimal(500)


def test_comma_csv_with_bom_and_decimal_point(upload: Any, parking: Service) -> None:
    upload('\ufeffmonth,service,metric,value\n2025-02,anwohnerparken,satisfaction_avg,4.5\n2025-02,x1,visits,"1,200"\n')
    record = _last_upload()
    assert record.errors == []
    assert [(r["service_key"], r["value"]) for r in record.rows] == [("anwohnerparken", "4.5"), ("x1", "1200")]


def test_windows_1252_with_umlauts_in_header_and_months(upload: Any) -> None:
    upload(
        "Monat;LeiKa-Schlüssel;Kennzahl;Wert\nMärz 2025;99050012104000;transactions;17\n",
        encoding="cp1252",
    )
    record = _last_upload()
    assert record.errors == [] and record.rows[0]["month"] == "2025-03-01"
    assert record.rows[0]["leika_key"] == "99050012104000"


def test_xlsx_with_numbers_and_dates(upload: Any, trade: Service, staff_client: Any) -> None:
    from datetime import date

    data = xlsx_bytes(
        [
            ["Monat", "LeiKa", "Kennzahl", "Wert", "Region"],
            [date(2025, 4, 1), 99050012104000, "transactions", 321, "Fulda"],
            ["2025-04", "99050012104000", "satisfaction_avg", 3.5, "Fulda"],
        ]
    )
    upload(data, name="zsk.xlsx")
    record = _last_upload()
    assert record.errors == [] and record.ignored_columns == ["Region"]
    _apply(staff_client, record)
    stored = {f.metric: (f.service, f.value) for f in MonthlyFigure.objects.all()}
    assert stored == {"transactions": (trade, Decimal(321)), "satisfaction_avg": (trade, Decimal("3.5"))}


def test_xlsx_formulas_are_rejected_with_row_number(upload: Any) -> None:
    data = xlsx_bytes(
        [
            ["month", "service", "metric", "value"],
            ["2025-05", "a1", "visits", 10],
            ["2025-05", "a2", "visits", "=B2*2"],
        ]
    )
    response = upload(data, name="formel.xlsx")
    record = _last_upload()
    assert len(record.rows) == 1
    assert record.errors == [
        {
            "row": 3,
            "column": "value",
            "message": "The cell contains a formula; save the sheet with values only (paste as values).",
        }
    ]
    assert "1 row with errors will be skipped." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("kaputt.xlsx", b"this is not a zip", "not an Excel workbook"),
        ("daten.xlsx", b"PK\x03\x04garbage garbage", "not an Excel workbook"),
        ("bild.csv", bytes(range(256)) * 10, "not a CSV text file"),
        ("leer.csv", b"   \n", "empty"),
        ("falsch.csv", b"foo;bar\n1;2\n", "lacks the column"),
    ],
)
def test_garbage_files_fail_with_a_clear_reason(upload: Any, name: str, content: bytes, message: str) -> None:
    response = upload(content, name=name)
    assert response.status_code == 200
    record = _last_upload()
    assert record.status == "failed" and message in record.errors[0]["message"]
    assert message in response.content.decode()
    assert not MonthlyFigure.objects.exists()


def test_zip_bomb_is_refused_before_unpacking(upload: Any) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (210 * 1024 * 1024))
    upload(buffer.getvalue(), name="bombe.xlsx")
    record = _last_upload()
    assert record.status == "failed" and "zip bomb" in record.errors[0]["message"]


@override_settings(DIKOM_ANALYTICS_FIGURES_MAX_UPLOAD_BYTES=100)
def test_too_large_file_is_413(upload: Any) -> None:
    response = upload("month;service;metric;value\n" + "2025-01;a;visits;1\n" * 20)
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not FigureUpload.objects.exists()


@override_settings(DIKOM_ANALYTICS_FIGURES_MAX_ROWS=3)
def test_too_many_rows_fail_the_file(upload: Any) -> None:
    upload("month;service;metric;value\n" + "".join(f"2025-01;s{i};visits;1\n" for i in range(4)))
    record = _last_upload()
    assert record.status == "failed" and "more than 3 data rows" in record.errors[0]["message"]


def test_every_invalid_row_is_reported_with_row_number_and_reason(upload: Any) -> None:
    response = upload(
        "month;service;leika;metric;value\n"
        "2025-01;ok;;visits;5\n"
        "2025-13;ok;;visits;5\n"
        "2025-01;;;visits;5\n"
        "2025-01;ok;12345;visits;5\n"
        "2025-01;ok;;clicks;5\n"
        "2025-01;ok;;starts;-1\n"
        "2025-01;ok;;starts;2,5\n"
        "2025-01;ok;;satisfaction_avg;7\n"
        "2099-01;ok;;visits;5\n"
        "2025-01;ok;;completions;viele\n"
        "2025-01;ok;;visits;6\n"
    )
    record = _last_upload()
    assert [r["row"] for r in record.rows] == [2, 12]
    by_row = {(e["row"], e["column"]) for e in record.errors}
    assert by_row == {
        (3, "month"),
        (4, "service"),
        (5, "leika"),
        (6, "metric"),
        (7, "value"),
        (8, "value"),
        (9, "value"),
        (10, "month"),
        (11, "value"),
    }
    page = response.content.decode()
    assert "There is no month 13." in page and "Unknown metric “clicks”" in page
    # Row 12 repeats row 2's figure: reported in the preview, not stored twice.
    assert "Row 12 repeats the figure of row 2" in page
    assert "10 rows with errors will be skipped." in page
