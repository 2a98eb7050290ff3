"""Tree inventory import (CSV/GeoJSON, in the background, idempotent, with a report) and the DWD rain import."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dikom.lib.testing import run_task_worker
from dikom.smartcity import inventory
from dikom.smartcity.models import RainDay, Tree, TreeImport
from dikom.smartcity.need import need_for
from dikom.smartcity.rain import dwd_text, parse_dwd_daily
from dikom.smartcity.tests.factories import make_tree

CSV = (
    "Baum-Nr;Art deutsch;Art botanisch;Pflanzjahr;Straße;Stadtteil;Rechtswert;Hochwert\n"
    "F-1;Winterlinde;Tilia cordata;1985;Bahnhofstraße;Innenstadt;548950;5603450\n"
    "F-2;Spitzahorn;Acer platanoides;2019;Lindenallee;Ziehers;548990,5;5603420,25\n"
    ";Stieleiche;Quercus robur;2001;Schulstraße;Horas;548900;5603400\n"  # no number
    "F-4;Platane;;;Ringstraße;Innenstadt;abc;5603400\n"  # broken coordinates
    "F-1;Winterlinde;Tilia cordata;1985;Bahnhofstraße;Innenstadt;548950;5603450\n"  # duplicate
    "F-5;Hainbuche;;1890;Am Stadtpark;Innenstadt;2.35;48.85\n"  # Paris, not in Germany
)


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _upload(client: Any, name: str, data: bytes, capture: Any, city: str = "fulda") -> Any:
    with capture(execute=True):
        response = client.post(f"/stadt/{city}/baeume/import/", {"file": SimpleUploadedFile(name, data)})
    return response


@pytest.mark.django_db
def test_csv_import_in_the_background_with_report_and_idempotent_reimport(
    client: Any, city_a: Any, owner: Any, login: Any, media: Any, django_capture_on_commit_callbacks: Any
) -> None:
    login(client, owner)
    response = _upload(client, "baumkataster.csv", CSV.encode("cp1252"), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job = TreeImport.objects.get()
    assert job.status == TreeImport.Status.WAITING
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page  # follows the progress without JavaScript
    run_task_worker()
    job.refresh_from_db()
    assert job.status == TreeImport.Status.DONE and job.total_rows == 6
    assert (job.created_count, job.updated_count, job.rejected_count) == (2, 0, 4)
    assert not list(media.rglob("*.csv"))  # the stored file is gone after reading
    trees = {t.number: t for t in Tree.objects.filter(municipality=city_a)}
    assert set(trees) == {"F-1", "F-2"}
    linde = trees["F-1"]
    # UTM 32 (EPSG:25832) converted to WGS 84: Fulda's centre
    assert abs(linde.longitude - 9.6775) < 0.03 and abs(linde.latitude - 50.5558) < 0.03
    assert (linde.species, linde.species_latin, linde.planting_year, linde.district) == (
        "Winterlinde",
        "Tilia cordata",
        1985,
        "Innenstadt",
    )
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page
    for text in (
        "Die Baumnummer fehlt",
        "Koordinaten fehlen",
        "kommt in der Datei mehrfach vor",
        "außerhalb Deutschlands",
    ):
        assert text in page, text

    # The same file again updates by tree number: nothing new, the same rows rejected.
    Tree.objects.filter(number="F-2").update(species="falsch")
    _upload(client, "baumkataster.csv", CSV.encode("utf-8"), django_capture_on_commit_callbacks)
    run_task_worker()
    second = TreeImport.objects.order_by("-pk").first()
    assert second is not None
    assert (second.created_count, second.updated_count, second.rejected_count) == (0, 2, 4)
    assert Tree.objects.filter(municipality=city_a).count() == 2
    assert Tree.objects.get(number="F-2").species == "Spitzahorn"


@pytest.mark.django_db
def test_geojson_import_streams_features(
    client: Any, city_a: Any, owner: Any, login: Any, media: Any, django_capture_on_commit_callbacks: Any
) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"baumnummer": f"G-{n}", "baumart": "Stieleiche", "pflanzjahr": "2020", "strasse": "Allee"},
            "geometry": {"type": "Point", "coordinates": [9.67 + n / 10000, 50.55]},
        }
        for n in range(2500)
    ]
    features.append({"type": "Feature", "properties": {"baumnummer": "G-x"}, "geometry": None})
    features.append(
        {
            "type": "Feature",
            "properties": {"baumnummer": "G-y"},
            "geometry": {"type": "Point", "coordinates": [50.55, 9.67]},
        }
    )
    data = json.dumps({"type": "FeatureCollection", "name": "Bäume", "features": features}).encode()
    login(client, owner)
    _upload(client, "baeume.geojson", data, django_capture_on_commit_callbacks)
    run_task_worker()
    job = TreeImport.objects.get()
    assert (job.status, job.created_count, job.rejected_count) == (TreeImport.Status.DONE, 2500, 2)
    assert {r["message"] for r in job.rejected} == {
        "Das Objekt hat keine Punktgeometrie.",
        "Längen- und Breitengrad scheinen vertauscht zu sein.",
    }


def test_utm_zone_32_conversion() -> None:
    # On the central meridian (9° E) the northing of 50° N is the meridian arc: 5 538 630.7 m x 0.9996.
    lon, lat = inventory.utm32_to_wgs84(500_000, 5_538_630.7)
    assert abs(lon - 9.0) < 1e-7 and abs(lat - 50.0) < 1e-5
    assert inventory.locate(32_500_000, 5_538_630.7) == (9.0, round(lat, 7))  # easting with zone prefix


def test_streaming_reader_bounded_and_clear_errors() -> None:
    # A feature list split across many chunks is read feature by feature.
    body = (
        b'{"type":"FeatureCollection","features":['
        + b",".join(
            b'{"type":"Feature","properties":{"id":"%d"},"geometry":{"type":"Point","coordinates":[9.6,50.5]}}' % n
            for n in range(20000)
        )
        + b"]}"
    )
    assert sum(1 for _ in inventory.iter_features(io.BytesIO(body))) == 20000
    with pytest.raises(inventory.Unreadable):
        list(inventory.iter_features(io.BytesIO(b'{"type":"FeatureCollection","features":[{"type":')))
    with pytest.raises(inventory.Unreadable):
        list(inventory.iter_features(io.BytesIO(b'{"type":"Feature"}')))
    with pytest.raises(inventory.Unreadable):
        list(inventory.read_rows(io.BytesIO(b"name;art\nx;y\n"), "csv"))  # no number, no coordinates


@pytest.mark.django_db
def test_file_over_the_row_cap_is_refused_before_any_change(
    client: Any, city_a: Any, owner: Any, login: Any, media: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DIKOM_TREE_IMPORT_MAX_ROWS = 3
    login(client, owner)
    _upload(client, "baumkataster.csv", CSV.encode(), django_capture_on_commit_callbacks)
    run_task_worker()
    job = TreeImport.objects.get()
    assert job.status == TreeImport.Status.FAILED
    assert "mehr als 3 Zeilen" in job.message
    assert not Tree.objects.exists()
    response = client.post("/stadt/fulda/baeume/import/", {"file": SimpleUploadedFile("x.xlsx", b"PK..")})
    assert response.status_code == 400 and "CSV-Datei" in response.content.decode()


@pytest.mark.django_db
def test_import_boundaries_between_cities(
    client: Any,
    city_a: Any,
    city_b: Any,
    owner: Any,
    outsider: Any,
    citizen: Any,
    login: Any,
    media: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    login(client, owner)
    _upload(client, "baumkataster.csv", CSV.encode(), django_capture_on_commit_callbacks)
    job = TreeImport.objects.get()
    login(client, outsider)  # administrator of Gießen
    assert client.get("/stadt/fulda/baeume/import/").status_code == 403
    assert (
        client.post("/stadt/fulda/baeume/import/", {"file": SimpleUploadedFile("a.csv", CSV.encode())}).status_code
        == 403
    )
    assert client.get(f"/stadt/fulda/baeume/import/{job.uuid}/").status_code == 404
    assert client.get(f"/stadt/giessen/baeume/import/{job.uuid}/").status_code == 404
    assert client.post("/stadt/fulda/regen/import/", {"file": SimpleUploadedFile("r.txt", b"x")}).status_code == 403
    client.force_login(citizen)
    assert client.get("/stadt/fulda/baeume/import/").status_code == 403
    run_task_worker()
    assert Tree.objects.filter(municipality=city_b).count() == 0
    assert TreeImport.objects.filter(municipality=city_b).count() == 0


# --- rain -----------------------------------------------------------------------------------------


def test_dwd_daily_product_parsed() -> None:
    text = (
        "STATIONS_ID;MESS_DATUM;QN_3;  FX;  FM;QN_4; RSK;RSKF; SDK;SHK_TAG;  NM; VPM;  PM; TMK; UPM; TXK; TNK; TGK;eor\n"
        "       1526;20240701;   10;  12.1;   3.2;    3;   4.3;   6;   5.1;   0;   6.4;  14.2; 976.1;  16.3;  82.0;  20.1;  12.0;  10.9;eor\n"
        "       1526;20240702;   10;  -999;  -999;    3;  -999;-999;-999;-999;-999;-999;-999;-999;-999;-999;-999;-999;eor\n"
        "       1526;2024073x;   10;  -999;  -999;    3;   1.0;-999;-999;-999;-999;-999;-999;-999;-999;-999;-999;-999;eor\n"
    )
    series = parse_dwd_daily(text.encode("latin-1"))
    assert series.station == "1526"
    assert series.days == {dt.date(2024, 7, 1): 4.3}
    assert series.missing == 1 and series.problem_count == 1


@pytest.mark.django_db
def test_rain_import_feeds_the_watering_need(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    today = timezone.localdate()
    # The model estimates a need in the vegetation period only: judge the tree on a July day of last year.
    summer = dt.datetime(today.year - 1, 7, 15, 12, tzinfo=dt.UTC)
    tree = make_tree(city_a, planting_year=today.year - 3)
    assert need_for(tree, now=summer).level == "critical"  # no rain stored, no waterings
    days = {today - dt.timedelta(days=n): 8.0 for n in range(30)}
    days.update({summer.date() - dt.timedelta(days=n): 8.0 for n in range(30)})
    days[today - dt.timedelta(days=40)] = -999
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("produkt_klima_tag_20240101_20241231_01526.txt", dwd_text("1526", days))
        z.writestr("Metadaten_Geographie_01526.txt", "Stations_id;Stationshoehe\n")
    login(client, owner)
    response = client.post(
        "/stadt/fulda/regen/import/", {"file": SimpleUploadedFile("tageswerte_KL_01526.zip", archive.getvalue())}
    )
    assert response.status_code == 200
    assert "60 Tage der Station 1526 gespeichert" in response.content.decode()
    assert RainDay.objects.filter(municipality=city_a).count() == 60
    assert need_for(tree, now=summer).level == "good"  # 240 mm in 30 days
    page = client.get("/stadt/fulda/regen/").content.decode()
    assert "240,0 mm" in page
    bad = client.post("/stadt/fulda/regen/import/", {"file": SimpleUploadedFile("x.txt", b"a;b\n1;2\n")})
    assert bad.status_code == 400 and "MESS_DATUM" in bad.content.decode()
