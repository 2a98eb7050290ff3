"""The staff's readings export: chosen datastreams or devices and days, CSV (semicolon, BOM, decimal comma) or
JSON, streamed in keyset pages, only the city's own data, audit logged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dikom.audit.models import AuditEvent
from dikom.sensors import export
from dikom.sensors import service as sensors
from dikom.smartcity.tests.factories import probe_thing

URL = "/stadt/fulda/messwerte-export/"
DAY = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.UTC)


def _stream(city: Any, values: list[tuple[dt.datetime, float]], depth: int = 30) -> tuple[int, int]:
    thing = probe_thing(city, values, depth=depth)
    return thing, sensors.datastreams_of(city).get(thing_id=thing).pk


def _query(**extra: Any) -> dict[str, Any]:
    return {"download": "1", "start": "2026-06-10", "end": "2026-06-11", "fmt": "csv", **extra}


@pytest.mark.django_db
def test_csv_for_german_spreadsheets(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    _thing, ds = _stream(
        city_a,
        [
            (DAY - dt.timedelta(days=1), 1.0),  # before the period
            (DAY, 12.5),
            (DAY + dt.timedelta(hours=1), -3.25),
            (DAY + dt.timedelta(days=1, hours=13), 0.00001),  # 11 June, 23:00 local: still inside
            (DAY + dt.timedelta(days=2), 99.0),  # after
        ],
    )
    _stream(city_a, [(DAY, 7.0)], depth=60)  # another datastream, not chosen
    login(client, owner)
    response = client.get(URL, _query(datastreams=[ds], decimal_comma="on"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="messwerte-fulda-20260610-20260611.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "Datastream-ID;Datastream;Thing;Messgröße;Zeit;Wert;Einheit"
    rows = [line.split(";") for line in lines[1:]]
    assert [r[5] for r in rows] == ["12,5", "-3,25", "0,00001"]
    assert rows[0][4] == "2026-06-10T10:00:00+02:00"  # local time with its offset
    assert {r[0] for r in rows} == {str(ds)} and rows[0][6] == "cbar" and rows[0][2] == "Baum mit Sonde"
    event = AuditEvent.objects.get(action="sensors.readings_exported")
    assert event.municipality_id == city_a.pk and event.changes["datastreams"] == [ds]
    # without the decimal comma: points
    plain = b"".join(client.get(URL, _query(datastreams=[ds])).streaming_content).decode("utf-8-sig")
    assert ";12.5;" in plain


@pytest.mark.django_db
def test_json_of_whole_devices(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    thing, ds = _stream(city_a, [(DAY, 21.0), (DAY + dt.timedelta(hours=2), 22.5)])
    login(client, owner)
    response = client.get(URL, _query(things=[thing], fmt="json"))
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(b"".join(response.streaming_content))
    assert data["municipality"] == "fulda"
    assert data["datastreams"] == [
        {
            "id": ds,
            "name": "Saugspannung 30 cm",
            "thing": "Baum mit Sonde",
            "observedProperty": "Bodenwasserspannung",
            "unit": "cbar",
        }
    ]
    assert [(r["datastream"], r["result"]) for r in data["readings"]] == [(ds, 21.0), (ds, 22.5)]
    assert data["readings"][0]["time"] == "2026-06-10T10:00:00+02:00"


@pytest.mark.django_db
def test_pages_cover_every_row_with_equal_times(city_a: Any) -> None:
    # Two readings at the same instant (different datastreams share nothing, so one stream gets both through
    # a second probe moved onto it): the keyset (time, id) must not skip or repeat either across a page border.
    times = [DAY + dt.timedelta(minutes=m) for m in range(7)]
    _thing, ds = _stream(city_a, [(t, float(i)) for i, t in enumerate(times)])
    _other_thing, other = _stream(city_a, [(times[1], 100.0), (times[4], 101.0)], depth=60)
    from dikom.sensors.models import Observation

    Observation.objects.filter(datastream_id=other).update(datastream_id=ds)
    streams = export.streams_info(city_a, [ds])
    with CaptureQueriesContext(connection) as queries:
        rows = list(export.export_rows(city_a, streams, DAY, DAY + dt.timedelta(days=1), page=2))
    assert sorted(r.value for r in rows) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0, 101.0]
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    assert len(queries) == 5  # 9 rows in pages of 2, each a bounded query
    assert all("LIMIT 2" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_validation_in_german_and_no_foreign_data(
    client: Any, city_a: Any, city_b: Any, owner: Any, login: Any
) -> None:
    _stream(city_a, [(DAY, 1.0)])
    foreign_thing, foreign = _stream(city_b, [(DAY, 5.0)])
    login(client, owner)
    page = client.get(URL)
    assert page.status_code == 200 and "Saugspannung 30 cm" in page.content.decode()
    assert "Gießen" not in page.content.decode()
    response = client.get(URL, _query(datastreams=[foreign]))
    assert response.status_code == 400
    assert "ist keine gültige Auswahl" in response.content.decode()
    response = client.get(URL, _query(things=[foreign_thing]))
    assert response.status_code == 400
    response = client.get(URL, _query(start="2026-06-12", end="2026-06-10"))
    text = response.content.decode()
    assert "Das Ende liegt vor dem Beginn." in text
    assert "Wählen Sie mindestens einen Datenstrom oder ein Gerät." in text
    # the service itself leaves another city's datastreams out, whatever it is given
    count, chunks = sensors.readings_export(city_a, [foreign], DAY, DAY + dt.timedelta(days=1), "csv")
    assert count == 0 and b"".join(chunks).decode("utf-8-sig").count("\n") == 1
    assert not AuditEvent.objects.filter(action="sensors.readings_exported").exists()


@pytest.mark.django_db
def test_export_is_for_the_city_staff_only(
    client: Any, city_a: Any, city_b: Any, colleague: Any, outsider: Any, citizen: Any, login: Any
) -> None:
    _thing, ds = _stream(city_a, [(timezone.now(), 1.0)])
    assert client.get(URL).status_code == 302
    for user in (colleague, outsider, citizen):
        login(client, user)
        assert client.get(URL, _query(datastreams=[ds])).status_code == 403
    login(client, outsider)
    # Gießen's admin on Gießen's page cannot pick Fulda's datastream either
    response = client.get("/stadt/giessen/messwerte-export/", _query(datastreams=[ds]))
    assert response.status_code == 400


def test_readings_that_json_cannot_express_are_exported_as_empty_values():
    # A NaN or an infinity stored as a result must not make the JSON file invalid (json.dumps would
    # write the bare token NaN) nor appear as "NaN" in a spreadsheet column of numbers.
    stream = export.StreamInfo(
        id=7, name="Saugspannung 30 cm", thing="Sonde 1", observed_property="Saugspannung", unit="cbar"
    )
    at = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    rows = [
        export.Row(stream, at, float("nan")),
        export.Row(stream, at, float("inf")),
        export.Row(stream, at, {"depths": [30.5, float("-inf")]}),
        export.Row(stream, at, 42.5),
    ]
    city = type("City", (), {"slug": "fulda"})()
    document = json.loads(
        b"".join(export.json_chunks(city, [stream], at, at, rows)).decode(),
        parse_constant=lambda name: pytest.fail(name),
    )
    assert [r["result"] for r in document["readings"]] == [None, None, {"depths": [30.5, None]}, 42.5]
    lines = b"".join(export.csv_chunks(rows, decimal_comma=True)).decode("utf-8-sig").splitlines()
    assert [line.split(";")[5] for line in lines[1:3]] == ["", ""]
    assert "NaN" not in "".join(lines) and "Infinity" not in "".join(lines)
    assert lines[4].split(";")[5] == "42,5"
