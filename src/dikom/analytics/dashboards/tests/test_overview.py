"""The city overview: every service with its figures from rollups, comparison, sorting, drop-off highlight."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dikom.analytics.dashboards.tests.conftest import period_query

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("<tr>")[1:]]


def test_numbers_against_the_hand_computed_example(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    html = client.get("/analytics/fulda/" + period_query(sort="name")).content.decode()
    rows = _rows(html)
    assert len(rows) == 3  # parking, dogs, unassigned — never city B's service
    assert "Gießener Dienst" not in html
    parking = next(r for r in rows if r.startswith("Bewohnerparkausweis"))
    # visits 5, +150 % against 2, starts 5, completions 2, conversion 40 %, abandonment 60 %, satisfaction 3.00
    assert parking.startswith("Bewohnerparkausweis 5 ▲ +150,0 %")
    assert parking.endswith("5 2 40,0 % 60,0 % 3,00")
    dogs = next(r for r in rows if r.startswith("Hundesteuer"))
    assert dogs.endswith("1 1 100,0 % 0,0 % –")
    unassigned = next(r for r in rows if "Nicht zugeordnet" in r or "Unassigned" in r)
    assert " 1 " in unassigned
    # The whole city: 7 visits (5 + 1 + 1) against 2, 3 completions of 7 starts.
    assert 'class="kpi__value">7<' in html
    assert "42,9\N{NO-BREAK SPACE}%" in html, html.split('class="kpis"')[1][:3000]
    # Sparkline of parking: visits per day of the period (3, then 2) as its accessible name.
    assert re.search(r'role="img" aria-label="[^"]*: 3, 2"', html)


def test_biggest_drop_off_names_service_and_step(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    html = client.get("/analytics/fulda/" + period_query()).content.decode()
    highlight = html.split('role="note"', 1)[1].split("</div>", 1)[0]
    assert "Bewohnerparkausweis" in highlight and "antrag" in highlight and "zahlung" not in highlight
    assert "50,0\N{NO-BREAK SPACE}%" in highlight  # 1 of 2 viewers of "antrag" never reached "zahlung"


@pytest.mark.parametrize(
    ("sort", "order", "aria"),
    [
        ("name", ["Bewohnerparkausweis", "Hundesteuer"], "ascending"),
        ("-name", ["Hundesteuer", "Bewohnerparkausweis"], "descending"),
        ("-visits", ["Bewohnerparkausweis", "Hundesteuer"], "descending"),
        ("-conversion", ["Hundesteuer", "Bewohnerparkausweis"], "descending"),
        ("conversion", ["Bewohnerparkausweis", "Hundesteuer"], "ascending"),
    ],
)
def test_sorting_server_side(
    client: Any, login: Any, analyst: Any, example: Any, sort: str, order: list[str], aria: str
) -> None:
    login(client, analyst)
    html = client.get("/analytics/fulda/" + period_query(sort=sort)).content.decode()
    names = [r.split(" ")[0] for r in _rows(html) if r.split(" ")[0] in order]
    assert names == order
    assert html.count("aria-sort=") == 1
    assert f'aria-sort="{aria}"' in html


def test_channel_filter(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    html = client.get("/analytics/fulda/" + period_query(channel="kiosk")).content.decode()
    assert all(" 0 " in r or r.split()[1] == "0" for r in _rows(html))


def test_reads_rollups_only_with_a_constant_number_of_queries(
    client: Any, login: Any, analyst: Any, example: Any, django_assert_max_num_queries: Any
) -> None:
    login(client, analyst)
    client.get("/analytics/fulda/")  # warm up session and caches
    for query in (period_query(), period_query(granularity="week"), "?period=last_90"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/analytics/fulda/" + query).status_code == 200
        assert not [q for q in ctx.captured_queries if "analytics_usageevent" in q["sql"]]
        with django_assert_max_num_queries(10):
            client.get("/analytics/fulda/" + query)
