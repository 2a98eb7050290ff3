"""Read API: /overview and /timeseries with API keys of two cities."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.analytics.dashboards.tests.conftest import D1, D2, auth, key_for, local_date

pytestmark = pytest.mark.django_db


def _period() -> dict[str, str]:
    return {"from": local_date(D1).isoformat(), "to": local_date(D2).isoformat()}


def test_overview_per_service(client: Any, city_a: Any, example: Any) -> None:
    response = client.get("/api/v1/analytics/overview", _period(), **auth(key_for(city_a, "analytics:read")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["municipality"] == "06631009"
    rows = {row["name"]: row for row in body["services"]}
    parking = rows["Bewohnerparkausweis"]
    assert (parking["visits"], parking["starts"], parking["completions"]) == (5, 5, 2)
    assert parking["conversion_rate"] == 0.4 and parking["abandonment_rate"] == 0.6
    assert parking["satisfaction_average"] == 3.0
    assert parking["previous"]["visits"] == 2 and parking["previous"]["completions"] == 1
    assert [p["visits"] for p in parking["series"]] == [3, 2]
    assert any(row["service"] is None and row["visits"] == 1 for row in body["services"])
    assert "Gießener Dienst" not in rows


def test_timeseries_of_a_service_and_of_the_city(client: Any, city_a: Any, example: Any) -> None:
    token = key_for(city_a, "analytics:read")
    one = client.get("/api/v1/analytics/timeseries", {**_period(), "service": example["parking"].uuid}, **auth(token))
    assert [(p["visits"], p["completions"]) for p in one.json()["points"]] == [(3, 1), (2, 1)]
    city = client.get("/api/v1/analytics/timeseries", _period(), **auth(token))
    assert [p["visits"] for p in city.json()["points"]] == [3 + 1, 2 + 1]


def test_isolation_scope_and_validation(client: Any, city_a: Any, city_b: Any, example: Any) -> None:
    token_b = key_for(city_b, "analytics:read")
    response = client.get(
        "/api/v1/analytics/timeseries", {**_period(), "service": example["parking"].uuid}, **auth(token_b)
    )
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    body = client.get("/api/v1/analytics/overview", _period(), **auth(token_b)).json()
    assert [row["visits"] for row in body["services"]] == [10]
    ingest_only = key_for(city_a, "analytics:ingest")
    assert client.get("/api/v1/analytics/overview", _period(), **auth(ingest_only)).status_code == 403
    assert client.get("/api/v1/analytics/overview", _period()).status_code in (401, 403)
    bad = client.get("/api/v1/analytics/overview", {"from": "2025-02-01", "to": "2025-01-01"}, **auth(token_b))
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/problem+json")
    assert (
        client.get("/api/v1/analytics/overview", {**_period(), "granularity": "hour"}, **auth(token_b)).status_code
        == 400
    )


def test_signed_in_analyst_names_the_city(client: Any, login: Any, owner: Any, outsider: Any, example: Any) -> None:
    login(client, owner)
    assert client.get("/api/v1/analytics/overview", {**_period(), "municipality": "06631009"}).status_code == 200
    assert client.get("/api/v1/analytics/overview", {**_period(), "municipality": "06531005"}).status_code == 403
