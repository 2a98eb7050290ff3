"""The service detail page: key figures with comparison, funnel, mixes, from rollups only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dikom.analytics.dashboards.tests.conftest import D1, D2, local_date, period_query
from dikom.analytics.metrics import service_summary

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_key_figures_and_shares(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    html = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/" + period_query()).content.decode()
    text = _text(html)
    assert "Besuche 5 2 ▲ +150,0 %" in text  # current, previous, change
    assert "Abschlüsse 2 1 ▲ +100,0 %" in text
    assert "Konversionsrate 40,0 % 50,0 % ▼ −20,0 %" in text
    assert "Fehlerquote bei Zahlungen 50,0 %" in text  # 1 failed of 2 finished payments
    # Funnel: "antrag" viewed by 2, 1 dropped off (50 %); "zahlung" viewed by 1, 0 dropped (reached submission).
    assert "antrag 1 2 0 1 50,0 %" in text
    assert "zahlung 2 1 0 0 0,0 %" in text
    assert "Kreditkarte 1 1 0 100,0 % 0,0 %" in text
    assert "BundID 1 1 100,0 %" in text
    assert "Durchschnittliche Bewertung 3,00 aus 2 Bewertungen; 2 Rückmeldungen" in text
    # Processing time and media breaks: empty state until monthly figures exist.
    assert "Noch keine Zahlen hochgeladen" in text
    # Time to complete in minutes (the rollups keep seconds): v1 took 2 and v4 3 minutes (times are stored to the minute).
    median = service_summary(
        municipality_id=example["parking"].municipality_id,
        service_id=example["parking"].pk,
        since=local_date(D1),
        until=local_date(D2),
    )["completion_time"]["median_seconds"]
    assert 120 <= median <= 210
    assert "1 bis unter 3 min 1" in text and "3 bis unter 5 min 1" in text  # the distribution, in minutes
    assert f"Median der Dauer bis zum Abschluss (Minuten) {median / 60:.2f}".replace(".", ",") in text


def test_the_default_period_is_shown_as_chosen(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    for query in ("", "?sort=visits"):
        html = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/{query}").content.decode()
        assert re.search(r'<option value="last_30"[^>]*selected', html), query
        assert not re.search(r'<option value="last_7"[^>]*selected', html)


def test_reads_rollups_only_with_constant_queries(
    client: Any, login: Any, analyst: Any, example: Any, django_assert_max_num_queries: Any
) -> None:
    login(client, analyst)
    url = f"/analytics/fulda/dienste/{example['parking'].uuid}/"
    client.get(url)
    for query in (period_query(), period_query(granularity="month"), "?period=this_year&granularity=quarter"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url + query).status_code == 200
        assert not [q for q in ctx.captured_queries if "analytics_usageevent" in q["sql"]]
        with django_assert_max_num_queries(10):
            client.get(url + query)


def test_invalid_custom_period_falls_back_and_says_why(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    response = client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/?period=custom&since=2025-02-01")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_processing_time_and_media_breaks_from_monthly_figures(
    client: Any, login: Any, analyst: Any, city_a: Any, example: Any
) -> None:
    from dikom.analytics.dashboards.tests.conftest import D2, local_date
    from dikom.analytics.figures.service import record_processing

    record_processing(city_a, example["parking"], local_date(D2), 4, media_breaks=1)
    record_processing(city_a, example["parking"], local_date(D2), 6, media_breaks=0)
    login(client, analyst)
    text = _text(client.get(f"/analytics/fulda/dienste/{example['parking'].uuid}/" + period_query()).content.decode())
    from django.utils import formats, translation

    with translation.override("de"):
        month = formats.date_format(local_date(D2), "YEAR_MONTH_FORMAT")  # e.g. "Dezember 2026", not ISO
    assert re.search(rf"{month} [^0-9]+ 5(\.|,)0*", text)  # average of 4 and 6 days
    assert "No figures uploaded yet" not in text
