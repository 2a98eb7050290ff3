"""What people read in the dashboards: step labels instead of keys, dates in their language's format,
no "drop" for the day still running, and CSV files German Excel opens as a table."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import timezone

from dikom.analytics.dashboards.tests.conftest import D1, D2, auth, ev, ingest, key_for, local_date, period_query
from dikom.analytics.models import Service
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db

SERVICES_URL = "/api/v1/analytics/services/"


def _funnel_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))[1:]


def test_funnel_steps_show_the_labels_registered_with_the_service(
    client: Any, login: Any, analyst: Any, city_a: Any
) -> None:
    # Given an external form system registered with labels for its step ids
    token = key_for(city_a, "analytics:manage")
    response = client.post(
        SERVICES_URL,
        {
            "name": "Sperrmüll",
            "external_key": "sperrmuell",
            "source_system": "civento",
            "step_labels": {"s1": {"de": "Adresse", "en": "Address"}, "s2": "Gegenstände"},
        },
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 201, response.content
    assert response.json()["step_labels"]["s2"] == "Gegenstände"
    service = Service.objects.get(municipality=city_a, external_key="sperrmuell")
    day = local_date(D1)
    ingest(
        city_a,
        [
            ev("service_started", "sperrmuell", day, 0, visit_id="a"),
            ev("step_viewed", "sperrmuell", day, 1, visit_id="a", step_key="s1", step_position=1),
            ev("step_viewed", "sperrmuell", day, 2, visit_id="a", step_key="s2", step_position=2),
            ev("step_viewed", "sperrmuell", day, 2, visit_id="a", step_key="s3", step_position=3),
        ],
    )
    url = f"/analytics/fulda/dienste/{service.uuid}/"

    # When the analyst opens the service's funnel (page and export)
    login(client, analyst)
    page = client.get(url + period_query()).content.decode()
    rows = _funnel_rows(client.get(url + period_query(export="csv", table="trichter")))

    # Then the steps carry their labels; a step without a label keeps its key
    assert ">Adresse<" in page and ">Gegenstände<" in page
    assert [row[0] for row in rows] == ["Adresse", "Gegenstände", "s3"]
    english = english_client()
    login(english, analyst)
    english_rows = _funnel_rows(english.get(url + period_query(export="csv", table="trichter")))
    assert [row[0] for row in english_rows] == ["Address", "Gegenstände", "s3"]


def test_invalid_step_labels_are_refused(client: Any, city_a: Any) -> None:
    response = client.post(
        SERVICES_URL,
        {"name": "X", "external_key": "x", "step_labels": {"s1": {"de": 3}}},
        content_type="application/json",
        **auth(key_for(city_a, "analytics:manage")),
    )
    assert response.status_code == 400
    assert "step_labels" in str(response.json())


def test_dates_on_axes_and_in_tables_follow_the_language(client: Any, login: Any, analyst: Any, example: Any) -> None:
    url = f"/analytics/fulda/dienste/{example['parking'].uuid}/"
    d1 = local_date(D1)
    login(client, analyst)
    german = client.get(url + period_query()).content.decode()
    series = _funnel_rows(client.get(url + period_query(export="csv", table="zeitreihe")))
    assert f'font-size="10">{d1:%d.%m.%Y}</text>' in german  # the chart's axis
    assert f">{d1.isoformat()}<" not in german
    assert series[0][0] == f"{d1:%d.%m.%Y}"
    weekly = client.get(url + period_query(granularity="week")).content.decode()
    assert f"KW {d1.isocalendar()[1]}/{d1.isocalendar()[0]}" in weekly

    english = english_client()
    login(english, analyst)
    english_series = _funnel_rows(english.get(url + period_query(export="csv", table="zeitreihe")))
    assert english_series[0][0] == f"{d1:%m/%d/%Y}"


def test_presets_end_yesterday_so_the_running_day_shows_no_drop(
    client: Any, login: Any, analyst: Any, example: Any
) -> None:
    # Given a few visits today, on a day that is not over yet
    today = local_date(0)
    now = timezone.now().isoformat()
    events = [
        {"type": "service_started", "service": "parken", "occurred_at": now, "visit_id": f"t{i}"} for i in range(3)
    ]
    ingest(example["parking"].municipality, events)
    login(client, analyst)

    # The default period (last 30 days) ends yesterday: today's visits are not in it
    page = client.get("/analytics/fulda/").content.decode()
    assert f"bis {local_date(1):%d.%m.%Y}" in page
    assert "nicht abgeschlossen" not in page
    rows = _funnel_rows(client.get("/analytics/fulda/?export=csv&table=dienste&sort=name"))
    parking = next(r for r in rows if r[0] == "Bewohnerparkausweis")
    assert parking[1] == "7"  # 5 + 2 visits of the example, none of today

    # A period that reaches today says so and shows no change against the previous period
    since = local_date(D2).isoformat()
    custom = f"?period=custom&since={since}&until={today.isoformat()}&sort=name"
    page = client.get("/analytics/fulda/" + custom).content.decode()
    assert "nicht abgeschlossen" in page
    rows = _funnel_rows(client.get("/analytics/fulda/" + custom + "&export=csv&table=dienste"))
    parking = next(r for r in rows if r[0] == "Bewohnerparkausweis")
    assert parking[3] == ""  # change in visits
    detail = client.get(
        f"/analytics/fulda/dienste/{example['parking'].uuid}/" + custom + "&export=csv&table=kennzahlen"
    )
    assert all(row[3] == "" for row in _funnel_rows(detail))


def test_csv_for_german_excel_has_bom_semicolons_and_decimal_commas(
    client: Any, login: Any, analyst: Any, example: Any
) -> None:
    login(client, analyst)
    page = client.get("/analytics/fulda/" + period_query()).content.decode()
    assert "export=csv-excel" in page and "CSV für Excel (deutsch)" in page

    response = client.get("/analytics/fulda/" + period_query(sort="name", export="csv-excel", table="dienste"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('-excel.csv"')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Dienst", "Besuche"]
    parking = next(r for r in rows if r[0] == "Bewohnerparkausweis")
    assert parking[1:] == ["5", "2", "150,0", "5", "2", "40,0", "60,0", "3,00"]

    # The plain CSV for programs stays RFC 4180 with comma and decimal point, without BOM
    plain = client.get("/analytics/fulda/" + period_query(sort="name", export="csv", table="dienste"))
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert b"150.0" in plain.content
