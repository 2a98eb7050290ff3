"""Open usage tables: publication switch, stable URLs, suppression, caching, no free text."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from dikom.analytics.models import Service
from dikom.analytics.sharing import opendata
from dikom.audit.models import AuditEvent

from .conftest import stats

YEAR = timezone.localdate().year - 1
MONTH_URL = "/opendata/nutzungsstatistik/{ags}/{period}.{fmt}"


@pytest.fixture
def services(city_a):
    names = {"parking": "Bewohnerparkausweis", "dogs": "Hundesteuer", "birth": "Geburtsurkunde"}
    return {
        key: Service.objects.create(municipality=city_a, name=name, external_key=key, leika_key=f"9910600101{i:04d}")
        for i, (key, name) in enumerate(names.items())
    }


@pytest.fixture
def usage(services):
    # March of last year: parking 40 starts, dogs 3 (small), birth 10 (complement).
    day = date(YEAR, 3, 10)
    stats(
        services["parking"],
        day,
        visits=60,
        starts=40,
        completions=30,
        feedback_count=12,
        rating_sum=48,
        rating_count=12,
    )
    stats(services["dogs"], day, visits=8, starts=3, completions=2, feedback_count=1, rating_sum=5, rating_count=1)
    stats(services["birth"], day, visits=15, starts=10, completions=9)
    stats(services["parking"], date(YEAR, 4, 2), visits=50, starts=30, completions=20)
    stats(services["dogs"], date(YEAR, 4, 2), visits=25, starts=20, completions=10)


def publish(client, login, owner, city_a):
    login(client, owner)
    client.post(f"/analytics/vergleich/{city_a.slug}/opendata/", {"enabled": "on"})
    client.logout()


def rows_of(response):
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_unpublished_city_is_404_and_not_listed(client, city_a, usage):
    for fmt in ("csv", "json"):
        assert client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt=fmt)).status_code == 404
    assert client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}.csv").status_code == 404
    assert city_a.ags not in client.get("/opendata/nutzungsstatistik/index.json").content.decode()


def test_only_admins_switch_publication_and_it_is_audited(client, login, owner, colleague, outsider, city_a, usage):
    login(client, colleague)
    assert client.post(f"/analytics/vergleich/{city_a.slug}/opendata/", {"enabled": "on"}).status_code == 403
    login(client, outsider)
    assert client.post(f"/analytics/vergleich/{city_a.slug}/opendata/", {"enabled": "on"}).status_code == 403
    assert client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv")).status_code == 404
    publish(client, login, owner, city_a)
    assert AuditEvent.objects.filter(action="analytics.open_data_enable", municipality=city_a).count() == 1
    assert client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv")).status_code == 200
    login(client, owner)
    client.post(f"/analytics/vergleich/{city_a.slug}/opendata/", {"enabled": "off"})
    assert AuditEvent.objects.filter(action="analytics.open_data_disable", municipality=city_a).count() == 1
    client.logout()
    assert client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv")).status_code == 404


def test_monthly_csv_suppresses_small_counts_and_their_complement(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    response = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = {row["service"] or "TOTAL": row for row in rows_of(response)}
    assert rows["Hundesteuer"]["starts"] == "" and "starts" in rows["Hundesteuer"]["suppressed"].split()
    # 40 - (3 + 10 hidden) would otherwise give away the 3: the smallest sufficient complement is hidden too.
    assert rows["Geburtsurkunde"]["starts"] == ""
    assert rows["Bewohnerparkausweis"]["starts"] == "40"
    assert rows["TOTAL"]["starts"] == "53" and rows["TOTAL"]["row_type"] == "total"
    assert rows["Hundesteuer"]["conversion_rate"] == "" and "conversion_rate" in rows["Hundesteuer"]["suppressed"]
    assert rows["Bewohnerparkausweis"]["conversion_rate"] == "0.75"
    # satisfaction only with at least k ratings
    assert rows["Bewohnerparkausweis"]["satisfaction_average"] == "4.0"
    assert rows["Hundesteuer"]["satisfaction_average"] == ""
    assert rows["Bewohnerparkausweis"]["ags"] == city_a.ags and rows["Bewohnerparkausweis"]["period"] == f"{YEAR}-03"


def test_monthly_json_uses_null_and_columns_are_documented(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    body = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="json")).json()
    dogs = next(row for row in body["rows"] if row["service"] == "Hundesteuer")
    assert dogs["starts"] is None and dogs["visits"] == 8
    documented = {c["name"] for c in client.get("/opendata/nutzungsstatistik/spalten.json").json()["columns"]}
    assert set(body["columns"]) == documented and set(dogs) == documented
    assert client.get("/opendata/nutzungsstatistik/spalten/").status_code == 200


def test_yearly_total_of_a_service_with_a_hidden_month_is_hidden(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    rows = {
        row["service"] or "TOTAL": row
        for row in rows_of(client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}.csv"))
    }
    # dogs: 3 hidden in March, 20 published in April; a yearly 23 would give the 3 away.
    assert rows["Hundesteuer"]["starts"] == ""
    april = {
        r["service"]: r for r in rows_of(client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-04", fmt="csv")))
    }
    assert april["Hundesteuer"]["starts"] == "20"
    assert rows["Bewohnerparkausweis"]["starts"] == "70"


def test_only_complete_past_months_and_years(client, login, owner, city_a, services):
    today = timezone.localdate()
    stats(services["parking"], today - timedelta(days=1) if today.day > 1 else today, visits=50, starts=50)
    publish(client, login, owner, city_a)
    current = f"{today.year:04d}-{today.month:02d}"
    assert client.get(MONTH_URL.format(ags=city_a.ags, period=current, fmt="csv")).status_code == 404
    assert client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{today.year}.csv").status_code == 404
    index = client.get("/opendata/nutzungsstatistik/index.json").json()
    assert current not in [m["month"] for c in index["cities"] for m in c["months"]]


def test_index_lists_published_months_in_html_and_json(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    index = client.get("/opendata/nutzungsstatistik/index.json").json()
    (entry,) = index["cities"]
    assert [m["month"] for m in entry["months"]] == [f"{YEAR}-03", f"{YEAR}-04"]
    assert entry["years"][0]["csv"] == f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}.csv"
    html = client.get("/opendata/nutzungsstatistik/").content.decode()
    assert f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}-03.csv" in html
    # The largest suppressed count (k - 1) is named in the explanation.
    assert f"Anzahlen von 1 bis {opendata.k_threshold() - 1} werden unterdrückt" in html


def test_etag_and_last_modified_revalidate(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    url = MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv")
    first = client.get(url)
    assert first["ETag"] and first["Last-Modified"] and "public" in first["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_no_free_text_is_ever_published(client, login, owner, city_a, services, django_capture_on_commit_callbacks):
    from dikom.lib.testing import run_task_worker

    from .conftest import auth, key_for

    token = key_for(city_a, "analytics:ingest")
    when = timezone.now() - timedelta(days=40)
    events = [
        {
            "type": "feedback",
            "service": "parking",
            "occurred_at": when.isoformat(),
            "rating": 2,
            "comment": "GEHEIMER Freitext",
        }
    ] + [{"type": "service_started", "service": "parking", "occurred_at": when.isoformat()} for _ in range(6)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/analytics/events", json.dumps({"events": events}), content_type="application/json", **auth(token)
        )
    assert response.status_code == 200
    run_task_worker()
    publish(client, login, owner, city_a)
    local = timezone.localtime(when)
    period = f"{local.year:04d}-{local.month:02d}"
    for fmt in ("csv", "json"):
        body = client.get(MONTH_URL.format(ags=city_a.ags, period=period, fmt=fmt)).content.decode()
        assert "Bewohnerparkausweis" in body
        assert "GEHEIM" not in body and "Freitext" not in body and "comment" not in body


def test_csv_publishes_formula_like_service_names_as_text(client, login, owner, city_a, services, usage):
    services["parking"].name = '=HYPERLINK("https://evil.example","Details")'
    services["parking"].save()
    publish(client, login, owner, city_a)

    response = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv"))

    names = [row["service"] for row in rows_of(response)]
    assert '\'=HYPERLINK("https://evil.example","Details")' in names
    assert not any(name.startswith("=") for name in names)
    # the JSON file carries the name unchanged: it is data, not a spreadsheet
    body = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="json")).json()
    assert '=HYPERLINK("https://evil.example","Details")' in [row["service"] for row in body["rows"]]
