"""Ingestion has its own rate budget per key, apart from the key's other requests."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from dikom.analytics.tests.conftest import auth, key_for, post_json
from dikom.api.throttling import ApiKeyRateThrottle, IngestRateThrottle

pytestmark = pytest.mark.django_db

EVENT = {
    "type": "service_started",
    "service": "hundesteuer",
    "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
}


@pytest.fixture(autouse=True)
def small_budgets(monkeypatch):
    cache.clear()
    rates = {"api_key": "2/min", "anon": "100/min", "ingest": "3/min"}
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IngestRateThrottle, "THROTTLE_RATES", rates)


def test_events_use_the_ingest_budget_not_the_general_one(client, city_a):
    token = key_for(city_a, "analytics:ingest", "analytics:read")

    answers = [post_json(client, "/api/v1/analytics/events", token, EVENT).status_code for _ in range(4)]

    # Three events fit the ingest budget (above the general budget of two) ...
    assert answers == [201, 201, 201, 429]
    # ... and the key's general budget is untouched by them.
    assert client.get("/api/v1/analytics/services/", **auth(token)).status_code == 200


def test_exhausting_the_general_budget_leaves_ingestion_open(client, city_a):
    token = key_for(city_a, "analytics:ingest", "analytics:read")
    for _ in range(2):
        assert client.get("/api/v1/analytics/services/", **auth(token)).status_code == 200
    assert client.get("/api/v1/analytics/services/", **auth(token)).status_code == 429

    assert post_json(client, "/api/v1/analytics/events", token, EVENT).status_code == 201
