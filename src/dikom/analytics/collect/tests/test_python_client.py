"""clients/python/dikom_analytics.py against a real HTTP server (pytest-django's live_server)."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
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

    assert single == {"accepted": 1, "duplicates": 0, "rejected": [], "pending": 0}
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
    monkeypatch.setattr(client, "_post", lambda body: sizes.append(len(json.loads(body)["events"])) or real_post(body))

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

    assert again == {"accepted": 0, "duplicates": 1, "rejected": [], "pending": 0}
    assert UsageEvent.objects.count() == 1


def test_a_key_without_ingest_scope_raises(live_server, city_a, dikom_analytics):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:read"))

    with pytest.raises(dikom_analytics.DikomAnalyticsError) as error:
        client.event("submitted", "anwohnerparken")

    assert error.value.status == 403
    assert error.value.problem["status"] == 403


def test_unreachable_server_is_retried_with_backoff_and_the_events_are_kept(
    live_server, city_a, parking, dikom_analytics
):
    waits = []
    # nothing listens on port 9 of the loopback address: connection refused every time
    down = dikom_analytics.DikomAnalytics("http://127.0.0.1:9", "dk_x_y", max_retries=3, sleep=waits.append)

    result = down.event("submitted", "anwohnerparken", visit_id="antrag-1")
    with down.batch() as batch:
        batch.event("step_viewed", "anwohnerparken", step_key="antragsteller", visit_id="antrag-1")

    assert waits == [0.5, 1.0, 2.0] * 2
    assert result["pending"] == 1 and result["accepted"] == 0
    assert batch.result["pending"] == 2  # the first event waits too, sent ahead of the second
    assert [event["type"] for event in down.pending] == ["submitted", "step_viewed"]
    # The same client object, now pointed at a server that answers: the kept events go first.
    down.url = live_server.url + "/api/v1/analytics/events"
    down.api_key = key_for(city_a, "analytics:ingest")
    assert down.flush() == {"accepted": 2, "duplicates": 0, "rejected": [], "pending": 0}
    assert down.pending == []
    assert sorted(UsageEvent.objects.values_list("type", flat=True)) == ["step_viewed", "submitted"]


def test_a_wrong_key_raises_but_keeps_the_events_for_after_the_fix(
    live_server, city_a, parking, dikom_analytics, tmp_path
):
    spool = tmp_path / "spool.jsonl"
    wrong = dikom_analytics.DikomAnalytics(live_server.url, "dk_wrong_key", spool_path=spool)

    with pytest.raises(dikom_analytics.DikomAnalyticsError) as error:
        wrong.event("submitted", "anwohnerparken")

    assert error.value.status == 401
    assert len(spool.read_text().splitlines()) == 1
    fixed = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"), spool_path=spool)
    assert fixed.flush()["accepted"] == 1
    assert not spool.exists()
    assert UsageEvent.objects.count() == 1


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 12, 7, 9, 30),  # noqa: DTZ001 - naive on purpose
        "2026-12-07T09:30:00",
        "2026-12-07 09:30",
    ],
    ids=["datetime", "iso-text", "iso-text-space"],
)
def test_a_naive_datetime_is_refused_with_a_clear_error(dikom_analytics, when):
    client = dikom_analytics.DikomAnalytics("http://127.0.0.1:9", "dk_x_y", max_retries=0)

    with pytest.raises(dikom_analytics.NaiveDatetimeError, match="no time zone"):
        client.event("submitted", "anwohnerparken", occurred_at=when)
    with client.batch() as batch, pytest.raises(ValueError, match="no time zone"):
        batch.event("submitted", "anwohnerparken", occurred_at=when)

    assert client.pending == []  # nothing was queued or sent


def test_aware_datetimes_and_offsets_are_sent_as_given(live_server, city_a, parking, dikom_analytics):
    client = dikom_analytics.DikomAnalytics(live_server.url, key_for(city_a, "analytics:ingest"))
    berlin = timezone(timedelta(hours=1))
    when = datetime.now(berlin) - timedelta(minutes=3)

    assert client.event("submitted", "anwohnerparken", occurred_at=when)["accepted"] == 1
    assert (
        client.event("submitted", "anwohnerparken", occurred_at=when.astimezone(UTC).isoformat()[:19] + "Z")["accepted"]
        == 1
    )

    stored = list(UsageEvent.objects.values_list("occurred_at", flat=True))
    minute = when.astimezone(UTC).replace(second=0, microsecond=0)
    assert stored == [minute, minute]  # stored to the minute, in UTC: the offset was honoured
