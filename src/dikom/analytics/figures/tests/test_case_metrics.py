"""Processing time and media breaks fed by case processing, and how averages combine across sources."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dikom.analytics.figures.models import MonthlyFigure
from dikom.analytics.figures.service import monthly_figures, record_processing
from dikom.analytics.figures.tests.conftest import FIGURES_API, auth, key_for, post_json
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

BERLIN = ZoneInfo("Europe/Berlin")


def test_record_processing_keeps_sum_and_count(city_a: Municipality, parking: Service) -> None:
    for days, breaks in [(3, 0), (4, 1), (4, 2)]:
        record_processing(city_a, parking, datetime(2025, 3, 10, 9, tzinfo=BERLIN), days, breaks)
    # 31 March 23:30 UTC is already April in Berlin.
    record_processing(city_a, parking, datetime(2025, 3, 31, 23, 30, tzinfo=ZoneInfo("UTC")), 10, 0)
    time = MonthlyFigure.objects.get(metric="processing_time_days", month=date(2025, 3, 1))
    assert (time.total, time.observations, time.value) == (Decimal(11), 3, Decimal("3.6667"))
    assert time.source == "cases" and time.service == parking
    assert MonthlyFigure.objects.get(metric="media_breaks", month=date(2025, 3, 1)).value == 3
    assert MonthlyFigure.objects.get(metric="processing_time_days", month=date(2025, 4, 1)).value == 10


def test_record_processing_refuses_another_citys_service(city_b: Municipality, parking: Service) -> None:
    with pytest.raises(ValueError):
        record_processing(city_b, parking, date(2025, 3, 1), 1, 0)


def test_averages_combine_by_weight_and_counts_add(client: Client, city_a: Municipality, parking: Service) -> None:
    for _ in range(3):
        record_processing(city_a, parking, date(2025, 3, 5), 2, 1)  # 3 cases, 2 days each
    token = key_for(city_a, "analytics:ingest")
    rows = [
        {"month": "2025-03", "service": "anwohnerparken", "metric": "processing_time_days", "value": 10, "count": 1},
        {"month": "2025-03", "service": "anwohnerparken", "metric": "media_breaks", "value": 4},
    ]
    assert post_json(client, FIGURES_API, token, {"rows": rows}).status_code == 200
    figures = {
        f.metric: f for f in monthly_figures(city_a, service=parking, months=(date(2025, 3, 1), date(2025, 3, 31)))
    }
    # (3 × 2 + 1 × 10) / 4 = 4, not the mean of the averages (2 + 10) / 2 = 6.
    assert figures["processing_time_days"].value == Decimal(4)
    assert figures["processing_time_days"].observations == 4 and not figures["processing_time_days"].approximate
    assert figures["media_breaks"].value == 7 and figures["media_breaks"].sources == ["api", "cases"]


def test_average_without_weight_is_marked_approximate(client: Client, city_a: Municipality, parking: Service) -> None:
    record_processing(city_a, parking, date(2025, 3, 5), 2, 0)
    token = key_for(city_a, "analytics:ingest")
    row = {"month": "2025-03", "service": "anwohnerparken", "metric": "processing_time_days", "value": 10}
    post_json(client, FIGURES_API, token, {"rows": [row]})
    (figure,) = monthly_figures(city_a, metrics=["processing_time_days"])
    assert figure.approximate and figure.value == 2
    # Case-fed figures are visible through the read API too.
    read = client.get(FIGURES_API, {"source": "cases"}, **auth(key_for(city_a, "analytics:read"))).json()
    assert [(r["metric"], r["value"], r["observations"]) for r in read["results"]] == [
        ("media_breaks", 0, None),
        ("processing_time_days", 2, 1),
    ]
