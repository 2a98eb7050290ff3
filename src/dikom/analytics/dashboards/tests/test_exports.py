"""Every table downloads as CSV and XLSX with the page's numbers; PDF reports of a page and a dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any
from unittest import mock

import pytest
from openpyxl import load_workbook

from dikom.analytics.dashboards.tests.conftest import period_query
from dikom.analytics.models import Service
from dikom.lib.pdf import PdfUnavailable

pytestmark = pytest.mark.django_db


def _csv(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_overview_csv_has_the_page_numbers(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    response = client.get("/analytics/fulda/" + period_query(sort="name", export="csv", table="dienste"))
    rows = _csv(response)
    assert 'attachment; filename="nutzung-fulda-' in response["Content-Disposition"]
    assert rows[0][:4] == ["Dienst", "Besuche", "Besuche, vorheriger Zeitraum", "Veränderung der Besuche (%)"]
    assert len(rows[0]) == 9
    parking = next(r for r in rows if r[0] == "Bewohnerparkausweis")
    assert parking[1:] == ["5", "2", "150.0", "5", "2", "40.0", "60.0", "3.0"]
    assert not any(r[0] == "Gießener Dienst" for r in rows)


def test_service_tables_as_xlsx_with_number_formats(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    url = f"/analytics/fulda/dienste/{example['parking'].uuid}/"
    response = client.get(url + period_query(export="xlsx", table="trichter"))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("antrag", 1, 2, 0, 1, 0.5)
    assert sheet.cell(row=2, column=6).number_format == "0.0%"
    assert sheet.cell(row=2, column=3).number_format == "#,##0"
    kpis = load_workbook(io.BytesIO(client.get(url + period_query(export="xlsx", table="kennzahlen")).content)).active
    by_name = {row[0]: row[1:] for row in kpis.iter_rows(min_row=2, values_only=True)}
    assert by_name["Besuche"] == (5, 2, 1.5)
    # Time series by day: the two days of the period.
    series = _csv(client.get(url + period_query(export="csv", table="zeitreihe")))
    assert [r[1:] for r in series[1:]] == [["3", "3", "1"], ["2", "2", "1"]]


def test_unknown_table_renders_the_page(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    response = client.get("/analytics/fulda/" + period_query(export="csv", table="gibtsnicht"))
    assert response["Content-Type"].startswith("text/html")


def test_text_cells_cannot_inject_formulas(client: Any, login: Any, analyst: Any, city_a: Any, example: Any) -> None:
    Service.objects.filter(pk=example["dogs"].pk).update(name='=HYPERLINK("http://x","y")')
    login(client, analyst)
    rows = _csv(client.get("/analytics/fulda/" + period_query(export="csv", table="dienste")))
    assert '\'=HYPERLINK("http://x","y")' in [r[0] for r in rows]
    response = client.get("/analytics/fulda/" + period_query(export="xlsx", table="dienste"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [c for c in sheet["A"] if str(c.value).lstrip("'").startswith("=")]
    assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


def test_pdf_report_of_the_service_page(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    response = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/" + period_query(export="pdf"))
    if response.status_code == 503:
        pytest.skip("WeasyPrint's system libraries are missing on this machine")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert _pdf_has_title(response.content, "Bewohnerparkausweis")


def _pdf_has_title(document: bytes, title: str) -> bool:
    """The document's metadata title (WeasyPrint writes the HTML <title> as a literal or UTF-16 string)."""
    import zlib

    chunks = [document]
    # Metadata may sit in a compressed object stream; inflate every stream to look inside.
    for part in document.split(b"stream")[1:]:
        body = part.split(b"endstream")[0].strip(b"\r\n")
        try:
            chunks.append(zlib.decompress(body))
        except zlib.error:
            continue
    utf16 = title.encode("utf-16-be").hex().upper().encode()
    return any(f"/Title ({title}".encode() in c or utf16 in c.upper() for c in chunks)


def test_missing_weasyprint_libraries_give_a_clear_page(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    # The renderer process reports missing system libraries (Pango) as PdfUnavailable; the view turns it into 503.
    with mock.patch(
        "dikom.analytics.dashboards.pdf.render_pdf", side_effect=PdfUnavailable("WeasyPrint is not usable")
    ):
        response = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/" + period_query(export="pdf"))
    assert response.status_code == 503
    assert "analytics_dashboards/pdf_unavailable.html" in [t.name for t in response.templates]


def test_a_pdf_report_that_takes_too_long_gives_a_clear_page(
    client: Any, login: Any, analyst: Any, example: Any, settings: Any
) -> None:
    # A time budget no render fits in: the renderer process is stopped and the page says so, instead of hanging.
    settings.DIKOM_PDF_TIMEOUT_SECONDS = 0.001
    login(client, analyst)
    response = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/" + period_query(export="pdf"))
    assert response.status_code == 503
    assert "Der PDF-Bericht konnte nicht erstellt werden (Fehler oder Zeitüberschreitung)" in response.content.decode()
