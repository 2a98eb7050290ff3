"""Previews of uploaded CSV, XLSX and JSON files on the dataset page: first rows, bounded, nothing executed."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import Workbook

from dikom.opendata import actions, preview
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def with_file(org, content: bytes, filename: str, name: str = "datei"):
    dataset = make_dataset(org, name, "Datei", resources=[])
    actions.create_resource(dataset, {"name": "Tabelle"}, upload=io.BytesIO(content), filename=filename)
    return dataset


def preview_table(html: str) -> tuple[list[str], list[list[str]]]:
    block = html.split('<details class="opendata-preview">', 1)[1].split("</details>", 1)[0]
    head = re.findall(r'<th scope="col">(.*?)</th>', block)
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>", 1)[1])]
    return head, rows


def test_german_csv_in_windows_1252_is_previewed(client: Client, org_a) -> None:
    lines = ["Baum-Nr;Art;Straße;Umfang"] + [f"{n};Stieleiche;Königsweg;{n},5" for n in range(1, 31)]
    with_file(org_a, "\r\n".join(lines).encode("cp1252"), "baeume.csv")
    html = client.get("/opendata/datensaetze/datei/").content.decode()
    head, rows = preview_table(html)
    assert head == ["Baum-Nr", "Art", "Straße", "Umfang"]
    assert len(rows) == preview.PREVIEW_ROWS and rows[0] == ["1", "Stieleiche", "Königsweg", "1,5"]
    assert "Erste 20 Zeilen von Tabelle" in html and "Weitere Zeilen im Download." in html


def test_formulas_and_markup_are_shown_as_text(client: Client, org_a) -> None:
    content = 'Name,Wert\n"=HYPERLINK(""https://evil.example"",""x"")",<script>alert(1)</script>\n@SUM(A1),+1\n'
    with_file(org_a, content.encode("utf-8-sig"), "boese.csv")
    html = client.get("/opendata/datensaetze/datei/").content.decode()
    head, rows = preview_table(html)
    assert head == ["Name", "Wert"]
    assert rows[0] == [
        "=HYPERLINK(&quot;https://evil.example&quot;,&quot;x&quot;)",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ]
    assert rows[1] == ["@SUM(A1)", "+1"]
    assert "<script>alert" not in html


def test_ragged_rows_tab_separator_and_wide_tables(client: Client, org_a) -> None:
    header = "\t".join(f"c{i}" for i in range(40))
    with_file(org_a, f"{header}\n1\t2\n".encode(), "breit.csv")
    html = client.get("/opendata/datensaetze/datei/").content.decode()
    head, rows = preview_table(html)
    assert len(head) == preview.PREVIEW_COLUMNS and rows[0][:3] == ["1", "2", ""]
    assert "10 weitere Spalten im Download." in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Die Datei ist leer."),
        ("\t".join(f"c{i}" for i in range(10_000)).encode(), "10000 Spalten"),
        (b"a,b\n" + b"x" * (2 * 1024 * 1024), "länger als 1 MB"),
        (b"\x00\x01\x02binary", "binäre Daten"),
    ],
)
def test_files_without_a_readable_table_say_why(client: Client, org_a, content: bytes, message: str) -> None:
    with_file(org_a, content, "kaputt.csv")
    response = client.get("/opendata/datensaetze/datei/")
    assert response.status_code == 200
    assert message in response.content.decode()


def test_xlsx_shows_stored_values_and_a_zip_bomb_is_not_opened(client: Client, org_a) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Jahr", "Anzahl"])
    sheet.append([2024, 3])
    sheet.append([2025, "=B2*1000"])
    data = io.BytesIO()
    workbook.save(data)
    with_file(org_a, data.getvalue(), "zahlen.xlsx")
    html = client.get("/opendata/datensaetze/datei/").content.decode()
    head, rows = preview_table(html)
    # openpyxl stores no computed value for the formula: the cell stays empty, nothing is computed.
    assert head == ["Jahr", "Anzahl"] and rows == [["2024", "3"], ["2025", ""]]

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    with_file(org_a, bomb.getvalue(), "bombe.xlsx", name="bombe")
    html = client.get("/opendata/datensaetze/bombe/").content.decode()
    assert "entpackt sich zu weit mehr Daten" in html


def test_json_records_and_geojson_features_become_tables(client: Client, org_a) -> None:
    records = [{"name": "Spielplatz Am Dom", "plaetze": 12}, {"name": "Bolzplatz", "plaetze": 30, "neu": True}]
    with_file(org_a, json.dumps({"result": records}).encode(), "spiel.json")
    head, rows = preview_table(client.get("/opendata/datensaetze/datei/").content.decode())
    assert head == ["name", "plaetze", "neu"] and rows[1] == ["Bolzplatz", "30", "True"]

    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [8.68, 50.55]},
                "properties": {"name": "Brunnen"},
            }
        ],
    }
    with_file(org_a, json.dumps(geojson).encode(), "brunnen.geojson", name="brunnen")
    head, rows = preview_table(client.get("/opendata/datensaetze/brunnen/").content.decode())
    assert head == ["name", "Geometrie", "Koordinaten"] and rows == [["Brunnen", "Point", "[8.68, 50.55]"]]

    with_file(org_a, b"[" * 100_000, "tief.json", name="tief")
    assert "kein gültiges JSON" in client.get("/opendata/datensaetze/tief/").content.decode()


def test_linked_files_are_never_fetched_for_a_preview(client: Client, org_a) -> None:
    make_dataset(org_a, "link", "Link", resources=[{"url": "http://127.0.0.1:1/geheim.csv", "format": "CSV"}])
    html = client.get("/opendata/datensaetze/link/").content.decode()
    assert "opendata-preview" not in html
