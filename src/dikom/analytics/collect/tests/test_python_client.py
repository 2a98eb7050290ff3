"""clients/python/dikom_analytics.py against a real HTTP server (pytest-django's live_server)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

from dikom.analytics.collect.tests.conftest import key_for
from dikom.analytics.models import UsageEvent
from dikom.api.throttling import IngestRateThrottle

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_FILE = Path(__file__).resolve().parents[5] / "clients" / "python" / "dikom_analytics.py"


@pytest.fixture(scope="module")
def dikom_analytics():
    spec = importlib.util.spec_from_file_location("dikom_analytics", CLIENT_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dikom_analytics"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("dikom_analytics", None)


def test_single_event_and_batch(live_server, city_a, parking, dikom_analytics):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"), timeout=10)

    single = client.event("service_started", "anwohnerparken", visit_id="antrag-42")
    with client.batch() as batch:
        batch.event("step_viewed", "anwohnerparken", step_key="antragsteller", step_position=1, visit_id="antrag-42")
        batch.event("payment_chosen", "anwohnerparken", visit_id="antrag-42")  # invalid: no payment method
        batch.event("submitted", "anwohnerparken", visit_id="antrag-42")

    assert single == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert batch.result["accepted"] == 2
    assert [r["index"] for r in batch.result["rejected"]] == [1]
    assert list(UsageEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "service_started",
        "step_viewed",
        "submitted",
    ]
    assert UsageEvent.objects.exclude(event_id=None).count() == 3  # every event carried an id


def test_batch_splits_into_requests_of_at_most_10000(live_server, city_a, parking, dikom_analytics, monkeypatch):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"))
    sizes = []
    real_post = client._post
    monkeypatch.setattr(client, "_post", lambda body: sizes.append(len(body["events"])) or real_post(body))

    with client.batch() as batch:
        for _ in range(10_001):
            batch.event("service_started", "anwohnerparken")

    assert sizes == [10_000, 1]
    assert batch.result["accepted"] == 10_001
    assert UsageEvent.objects.count() == 10_001


def test_retry_after_429_honours_retry_after_and_counts_once(
    live_server, city_a, parking, dikom_analytics, monkeypatch
):
    # Events count against the key's ingestion budget.
    monkeypatch.setattr(
        IngestRateThrottle, "THROTTLE_RATES", {"api_key": "100/min", "anon": "100/min", "ingest": "1/min"}
    )
    waits = []

    def fake_sleep(seconds):
        waits.append(seconds)
        cache.clear()  # the rate window passes while the client waits

    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"), sleep=fake_sleep)

    first = client.event("service_started", "anwohnerparken", event_id="a-1")
    second = client.event("submitted", "anwohnerparken", event_id="a-2")  # 429 first, then accepted

    assert first["accepted"] == second["accepted"] == 1
    assert len(waits) == 1
    assert 1 <= waits[0] <= 60  # the server's Retry-After, not the client's own backoff (0.5 s)
    assert UsageEvent.objects.count() == 2


def test_resending_the_same_event_ids_is_not_counted_twice(live_server, city_a, parking, dikom_analytics):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"))
    event = client.build_event("submitted", "anwohnerparken")

    client.send([event])
    again = client.send([event])

    assert again == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert UsageEvent.objects.count() == 1


def test_a_key_without_ingest_scope_raises(live_server, city_a, dikom_analytics):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:read"))

    with pytest.raises(dikom_analytics.DikomAnalyticsError) as error:
        client.event("submitted", "anwohnerparken")

    assert error.value.status == 403
    assert error.value.problem["status"] == 403


def test_server_errors_are_retried_with_backoff_then_given_up(dikom_analytics):
    waits = []
    # nothing listens on port 9 of the loopback address: connection refused every time
    client = dikom_analytics.DikomAnalytics("http://127.0.0.1:9", "dk_x_y", max_retries=3, sleep=waits.append)

    with pytest.raises(dikom_analytics.DikomAnalyticsError):
        client.event("submitted", "anwohnerparken")

    assert waits == [0.5, 1.0, 2.0]
