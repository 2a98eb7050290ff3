"""POST /api/v1/analytics/events: single events, batches, validation, duplicates, scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dikom.analytics.eventcheck import Limits, validate_event
from dikom.analytics.models import EventSource, UsageEvent
from dikom.analytics.tests.conftest import EVENTS_URL, auth, event, key_for

pytestmark = pytest.mark.django_db


def test_single_event_is_stored_and_answered_201(send, parking, city_a):
    response = send(event(event_id="e-1", channel="app_ios", device_class="mobile"))

    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    stored = UsageEvent.objects.get()
    assert stored.municipality == city_a
    assert stored.service == parking
    assert stored.type == "service_started"
    assert stored.channel == "app_ios"
    assert stored.source == EventSource.API
    assert stored.api_key_prefix


def test_batch_stores_valid_items_and_rejects_invalid_ones_with_their_index(send, parking):
    body = {
        "events": [
            event(),
            event(type="no_such_type"),
            event(type="step_viewed", step_key="adresse", step_position=1),
            event(colour="blue"),
            event(rating=5),
            event(type="feedback", rating="5"),
        ]
    }

    response = send(body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["accepted"] == 2
    assert data["duplicates"] == 0
    assert [r["index"] for r in data["rejected"]] == [1, 3, 4, 5]
    by_index = {r["index"]: r["errors"] for r in data["rejected"]}
    assert by_index[1] == [{"field": "type", "message": by_index[1][0]["message"], "code": "invalid_choice"}]
    assert by_index[3][0]["field"] == "colour" and by_index[3][0]["code"] == "unknown_field"
    assert by_index[4][0] == {"field": "rating", "message": by_index[4][0]["message"], "code": "not_allowed"}
    assert by_index[5][0]["field"] == "rating" and by_index[5][0]["code"] == "invalid_type"
    assert UsageEvent.objects.count() == 2


def test_invalid_single_event_is_a_422_problem(send):
    response = send(event(occurred_at="yesterday", channel="fax"))

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("occurred_at", "invalid"),
        ("channel", "invalid_choice"),
    }
    assert not UsageEvent.objects.exists()


def test_batch_of_only_invalid_events_is_a_422_problem_listing_each(send):
    response = send({"events": [event(type=None), event(service=None)]})

    assert response.status_code == 422
    problem = response.json()
    assert [r["index"] for r in problem["rejected"]] == [0, 1]
    assert {e["field"] for e in problem["errors"]} == {"events[0].type", "events[1].service"}


@pytest.mark.parametrize(
    ("occurred_at", "code"),
    [
        (lambda now: (now + timedelta(minutes=6)).isoformat(), "in_future"),
        (lambda now: (now - timedelta(days=401)).isoformat(), "too_old"),
        (lambda now: now.replace(tzinfo=None).isoformat(), "timezone_required"),
        (lambda now: now.date().isoformat(), "invalid"),
        (lambda now: 1700000000, "invalid_type"),
    ],
)
def test_timestamps_outside_the_window_or_without_zone_are_rejected(send, occurred_at, code):
    response = send(event(occurred_at=occurred_at(timezone.now())))

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "occurred_at",
        "message": response.json()["errors"][0]["message"],
        "code": code,
    }


def test_slight_clock_skew_and_zulu_time_are_accepted(send):
    soon = (timezone.now() + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert send(event(occurred_at=soon)).status_code == 201


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"type": "step_viewed"}, "step_key", "required"),
        ({"type": "auth_completed"}, "auth_method", "required"),
        ({"type": "payment_failed"}, "payment_method", "required"),
        ({"type": "payment_failed", "payment_method": "bitcoin"}, "payment_method", "invalid_choice"),
        ({"type": "feedback"}, "rating", "required"),
        ({"type": "feedback", "rating": 6}, "rating", "out_of_range"),
        ({"type": "feedback", "rating": True}, "rating", "invalid_type"),
        ({"step_position": 0, "type": "step_viewed", "step_key": "a"}, "step_position", "out_of_range"),
        ({"visit_id": "x" * 101}, "visit_id", "max_length"),
        ({"service": ["a"]}, "service", "invalid_type"),
    ],
)
def test_field_rules(send, fields, field, code):
    response = send(event(**fields))

    assert response.status_code == 422
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}


def test_more_than_10000_events_is_413(send):
    item = event()
    response = send({"events": [item] * 10001})

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "10000" in response.json()["detail"]
    assert not UsageEvent.objects.exists()


def test_10000_events_are_accepted(send):
    now = timezone.now().isoformat()
    response = send({"events": [{"type": "step_viewed", "service": "s", "step_key": "a", "occurred_at": now}] * 10000})

    assert response.status_code == 200
    assert response.json()["accepted"] == 10000
    assert UsageEvent.objects.count() == 10000


@pytest.mark.parametrize(
    "body",
    [[event()], "text", {"events": "many"}, {"events": []}, {"events": [event()], "extra": 1}],
)
def test_malformed_envelopes_are_400_problems(send, body):
    response = send(body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_malformed_json_is_a_400_problem(client, ingest_token):
    response = client.post(EVENTS_URL, data="{not json", content_type="application/json", **auth(ingest_token))

    assert response.status_code == 400
    assert response.json()["type"].endswith("malformed-request")


def test_resending_the_same_batch_counts_duplicates_not_events(send):
    batch = {"events": [event(event_id=f"id-{i}") for i in range(5)]}

    first = send(batch)
    second = send(batch)

    assert first.json() == {"accepted": 5, "duplicates": 0, "rejected": []}
    assert second.status_code == 200
    assert second.json() == {"accepted": 0, "duplicates": 5, "rejected": []}
    assert UsageEvent.objects.count() == 5


def test_overlapping_batches_store_each_event_once(send):
    send({"events": [event(event_id=f"id-{i}") for i in range(0, 6)]})
    response = send({"events": [event(event_id=f"id-{i}") for i in range(3, 10)] + [event(event_id="id-3")]})

    assert response.json() == {"accepted": 4, "duplicates": 4, "rejected": []}
    assert UsageEvent.objects.count() == 10
    assert UsageEvent.objects.values("event_id").distinct().count() == 10


def test_resent_single_event_is_200_with_a_duplicate(send):
    assert send(event(event_id="once")).status_code == 201

    response = send(event(event_id="once"))

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 1, "rejected": []}


def test_the_same_event_id_in_two_cities_is_two_events(send, city_b):
    send(event(event_id="shared"))
    other = send(event(event_id="shared"), token=key_for(city_b, "analytics:ingest"))

    assert other.status_code == 201
    assert UsageEvent.objects.filter(event_id="shared").count() == 2


def test_events_without_event_id_are_never_duplicates(send):
    send({"events": [event(), event()]})

    assert UsageEvent.objects.count() == 2


def test_unknown_service_is_stored_unassigned(send, parking):
    send({"events": [event(service="hundesteuer"), event()]})

    unassigned = UsageEvent.objects.get(service__isnull=True)
    assert unassigned.service_key == "hundesteuer"
    assert UsageEvent.objects.get(service=parking).service_key == "anwohnerparken"


def test_channel_defaults_to_the_service_channel(send, parking):
    parking.channel = "kiosk"
    parking.save()

    send({"events": [event(), event(service="unbekannt")]})

    assert sorted(UsageEvent.objects.values_list("channel", flat=True)) == ["kiosk", "web"]


def test_key_without_ingest_scope_gets_403_naming_the_scope(send, city_a):
    response = send(event(), token=key_for(city_a, "analytics:read"))

    assert response.status_code == 403
    assert "analytics:ingest" in response.json()["detail"]
    assert not UsageEvent.objects.exists()


def test_unknown_key_gets_401(send):
    response = send(event(), token="dk_000000000000_nope")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_signed_in_people_cannot_send_events(client, login, owner):
    login(client, owner)

    response = client.post(EVENTS_URL, data=event(), content_type="application/json")

    assert response.status_code == 403
    assert not UsageEvent.objects.exists()


def test_events_land_in_the_keys_municipality_only(send, city_b):
    send(event(), token=key_for(city_b, "analytics:ingest"))

    assert UsageEvent.objects.get().municipality == city_b


# --- the validator itself, on arbitrary input ---------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
field_names = st.sampled_from(
    [
        "type",
        "service",
        "occurred_at",
        "event_id",
        "visit_id",
        "step_key",
        "step_position",
        "auth_method",
        "payment_method",
        "channel",
        "device_class",
        "rating",
        "comment",
        "other",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(field_names, json_values, max_size=8) | json_values)
def test_validator_never_crashes_and_either_accepts_or_explains(data):
    limits = Limits.around(timezone.now())

    clean, errors = validate_event(data, limits)

    assert (clean is None) != (not errors)
    for error in errors:
        assert set(error) == {"field", "message", "code"}
    if clean is not None:
        assert clean["type"] and clean["service"] and clean["occurred_at"].tzinfo is not None


def test_two_batches_in_one_transaction_store_each_event_once(send):
    # On PostgreSQL rows pass through a session-local staging table; it must be empty after each batch.
    send({"events": [event(), event()]})
    send({"events": [event(), event()]})

    assert UsageEvent.objects.count() == 4
