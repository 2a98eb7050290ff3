"""Open usage tables: publication switch, stable URLs, perturbation, frozen months, caching, no free text."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.http import http_date

from dikom.analytics.models import Service
from dikom.analytics.sharing import cellkey, opendata
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


def test_monthly_csv_publishes_perturbed_counts_and_derives_everything_from_them(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    response = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = {row["service"] or "TOTAL": row for row in rows_of(response)}
    true_starts = {"Bewohnerparkausweis": 40, "Hundesteuer": 3, "Geburtsurkunde": 10}
    for name, true in true_starts.items():
        assert abs(int(rows[name]["starts"]) - true) <= cellkey.MAX_DEVIATION
    # A count of 3 is never shown as 1 to 3: it becomes 0 or 4.
    assert rows["Hundesteuer"]["starts"] in {"0", "4"}
    # The total is the sum of the published cells, so it says nothing the cells do not.
    for metric in opendata.COUNTS:
        assert int(rows["TOTAL"][metric]) == sum(int(rows[name][metric]) for name in true_starts)
    assert rows["TOTAL"]["row_type"] == "total" and rows["TOTAL"]["satisfaction_average"] == ""
    parking = rows["Bewohnerparkausweis"]
    assert float(parking["conversion_rate"]) == round(int(parking["completions"]) / int(parking["starts"]), 4)
    # Satisfaction from the perturbed rating sum and count; withheld below k perturbed ratings.
    assert 3.0 <= float(parking["satisfaction_average"]) <= 5.0
    assert rows["Hundesteuer"]["satisfaction_average"] == ""
    assert "satisfaction_average" in rows["Hundesteuer"]["withheld"].split()
    assert parking["ags"] == city_a.ags and parking["period"] == f"{YEAR}-03"


def test_monthly_json_carries_the_method_and_columns_are_documented(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    body = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="json")).json()
    dogs = next(row for row in body["rows"] if row["service"] == "Hundesteuer")
    assert dogs["starts"] in (0, 4) and abs(dogs["visits"] - 8) <= 3 and dogs["satisfaction_average"] is None
    protection = body["metadata"]["protection"]
    assert protection["max_deviation"] == 3 and protection["variance"] == 2
    assert protection["smallest_published_count"] == 4 and protection["k"] == opendata.k_threshold()
    assert body["metadata"]["months"][0]["version"] == 1
    documented = client.get("/opendata/nutzungsstatistik/spalten.json").json()
    assert set(body["columns"]) == {c["name"] for c in documented["columns"]} == set(dogs)
    assert documented["protection"] == protection
    assert client.get("/opendata/nutzungsstatistik/spalten/").status_code == 200


def test_yearly_counts_are_sums_of_the_published_months(client, login, owner, city_a, usage):
    publish(client, login, owner, city_a)
    year = {
        row["service"] or "TOTAL": row
        for row in rows_of(client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{YEAR}.csv"))
    }
    months = [
        {r["service"] or "TOTAL": r for r in rows_of(client.get(MONTH_URL.format(ags=city_a.ags, period=p, fmt="csv")))}
        for p in (f"{YEAR}-03", f"{YEAR}-04")
    ]
    for name in ("Hundesteuer", "Bewohnerparkausweis", "TOTAL"):
        for metric in opendata.COUNTS:
            assert int(year[name][metric]) == sum(int(m[name][metric]) for m in months if name in m)


def test_published_month_is_frozen_and_a_correction_is_marked(client, login, owner, city_a, services, usage):
    publish(client, login, owner, city_a)
    url = MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="json")
    first = client.get(url)
    # Late events for the published month: the table does not change.
    stats(services["dogs"], date(YEAR, 3, 20), visits=5, starts=5, completions=5)
    again = client.get(url)
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert again["Last-Modified"] == first["Last-Modified"]
    # A marked correction publishes the change as a perturbed difference and says what changed.
    call_command("correct_open_data_month", city_a.ags, f"{YEAR}-03", reason="Nachgelieferte Ereignisse")
    corrected = client.get(url).json()
    (month,) = corrected["metadata"]["months"]
    assert month["version"] == 2
    (correction,) = month["corrections"]
    assert correction["reason"] == "Nachgelieferte Ereignisse"
    assert {"service_id": services["dogs"].pk, "metric": "starts"} in correction["changed"]
    assert all(c["service_id"] == services["dogs"].pk for c in correction["changed"])
    dogs = next(row for row in corrected["rows"] if row["service"] == "Hundesteuer")
    before = next(row for row in first.json()["rows"] if row["service"] == "Hundesteuer")
    # 3 + 5 late starts: the difference 5 is published perturbed (4 to 8), the first version unchanged.
    assert 4 <= dogs["starts"] - before["starts"] <= 8
    parking = [
        next(r for r in body["rows"] if r["service"] == "Bewohnerparkausweis") for body in (first.json(), corrected)
    ]
    assert parking[0] == parking[1]
    assert AuditEvent.objects.filter(action="analytics.open_data_correct", municipality=city_a).count() == 1


def test_last_modified_is_the_publication_time_not_the_newest_rollup(client, login, owner, city_a, services, usage):
    from dikom.analytics.sharing.models import PublishedMonth

    publish(client, login, owner, city_a)
    response = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv"))
    publication = PublishedMonth.objects.get(municipality=city_a, month=date(YEAR, 3, 1))
    assert response["Last-Modified"] == http_date(int(publication.updated_at.timestamp()))
    # Usage in another month of the year does not move it.
    stats(services["birth"], date(YEAR, 7, 1), visits=9, starts=9)
    later = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR}-03", fmt="csv"))
    assert later["Last-Modified"] == response["Last-Modified"]


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
    # The method and its parameters are named in the explanation.
    assert "Zellschlüsselverfahren" in html and "höchstens 3" in html


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


def test_asking_for_an_empty_month_stores_nothing(client, login, owner, city_a, usage):
    from dikom.analytics.sharing.models import PublishedMonth

    publish(client, login, owner, city_a)
    response = client.get(MONTH_URL.format(ags=city_a.ags, period=f"{YEAR - 5}-01", fmt="csv"))
    assert response.status_code == 200
    assert [row["row_type"] for row in rows_of(response)] == ["total"]
    assert not PublishedMonth.objects.filter(municipality=city_a).exists()
