"""The fast ingestion path keeps its guarantees: statement budget, key revocation at once,
rate limit with Retry-After, the same answers from the fast JSON parser."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dikom.accounts.actions import create_api_key, revoke_api_key
from dikom.accounts.models import ApiKey
from dikom.analytics.models import PendingRollup, UsageEvent
from dikom.analytics.tests.conftest import EVENTS_URL, auth, event, post_json
from dikom.api.throttling import IngestRateThrottle

pytestmark = pytest.mark.django_db

# Key lookup, service and alias lookup, salt, insert, rollup marker (SQLite: one
# upsert; PostgreSQL: shared lock and bump): 5 on SQLite, 6 on PostgreSQL, plus
# the transaction's pair (BEGIN/COMMIT; SAVEPOINT/RELEASE inside the test's
# transaction). Before the rework: 7 on PostgreSQL, ORM-built, with one exclusive
# marker UPDATE that made concurrent requests of a city wait for each other's commit.
SINGLE_EVENT_STATEMENTS = 8


def _statements(client, token, body):
    post_json(client, EVENTS_URL, token, body)  # warm: salt and rollup marker exist
    with CaptureQueriesContext(connection) as queries:
        response = post_json(client, EVENTS_URL, token, body)
    assert response.status_code in (200, 201), response.content
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "sqlite":
        # The insert runs on the driver's cursor (executemany), where Django does not see it.
        statements.append("INSERT (executemany)")
    return statements


def test_a_single_event_costs_a_fixed_handful_of_statements(client, ingest_token, parking):
    statements = _statements(client, ingest_token, event(visit_id="v-1"))

    assert len(statements) <= SINGLE_EVENT_STATEMENTS, "\n".join(s[:70] for s in statements)
    assert sum("analytics_usageevent" in sql or "executemany" in sql for sql in statements) == 1


def test_a_batch_costs_no_more_statements_than_a_single_event_plus_its_days(client, ingest_token, parking):
    base = timezone.now() - timedelta(hours=30)
    batch = {
        "events": [
            event(occurred_at=(base + timedelta(minutes=i)).isoformat(), visit_id=f"v-{i % 7}") for i in range(500)
        ]
    }

    statements = _statements(client, ingest_token, batch)

    # COPY through a staging table on PostgreSQL adds its three statements; nothing grows with the batch.
    assert len(statements) <= SINGLE_EVENT_STATEMENTS + 3, statements
    assert UsageEvent.objects.count() == 1000


def test_a_revoked_key_is_refused_by_the_very_next_request(client, city_a):
    created = create_api_key(municipality=city_a, name="Quelle", scopes=["analytics:ingest"])
    assert post_json(client, EVENTS_URL, created.token, event()).status_code == 201

    revoke_api_key(api_key=created.api_key)

    response = post_json(client, EVENTS_URL, created.token, event())
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_removed_scope_takes_effect_at_once(client, city_a):
    created = create_api_key(municipality=city_a, name="Quelle", scopes=["analytics:ingest", "analytics:read"])
    assert post_json(client, EVENTS_URL, created.token, event()).status_code == 201

    ApiKey.objects.filter(pk=created.api_key.pk).update(scopes=["analytics:read"])

    response = post_json(client, EVENTS_URL, created.token, event())
    assert response.status_code == 403
    assert "analytics:ingest" in response.json()["detail"]


def test_the_key_lookup_returns_the_full_key_and_municipality(client, city_a):
    created = create_api_key(municipality=city_a, name="Quelle", scopes=["analytics:read"])

    me = client.get("/api/v1/me/", **auth(created.token))

    assert me.status_code == 200, me.content
    data = me.json()
    assert data["api_key"]["name"] == "Quelle"
    assert data["api_key"]["scopes"] == ["analytics:read"]
    assert data["municipality"]["ags"] == city_a.ags


def test_the_ingest_budget_answers_429_with_retry_after(client, ingest_token, monkeypatch):
    cache.clear()
    monkeypatch.setattr(
        IngestRateThrottle, "THROTTLE_RATES", {"api_key": "100/min", "anon": "100/min", "ingest": "2/min"}
    )

    answers = [post_json(client, EVENTS_URL, ingest_token, event()) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2]["Content-Type"] == "application/problem+json"
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert UsageEvent.objects.count() == 2


def test_integers_beyond_64_bits_are_a_field_error_not_a_parse_error(client, ingest_token):
    body = json.dumps(event(type="step_viewed", step_key="a")).replace(
        '"step_key"', '"step_position": 1' + "0" * 30 + ', "step_key"'
    )

    response = client.post(EVENTS_URL, data=body, content_type="application/json", **auth(ingest_token))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "step_position"


def test_a_body_in_another_charset_is_still_read(client, ingest_token, parking):
    body = json.dumps(event(type="feedback", rating=5, comment="Schön"), ensure_ascii=False)  # sent as latin-1

    response = client.post(
        EVENTS_URL, data=body, content_type="application/json; charset=latin-1", **auth(ingest_token)
    )

    assert response.status_code == 201, response.content
    assert UsageEvent.objects.get().comment == "Schön"


def test_repeated_batches_of_a_day_raise_the_marker_without_new_tasks(client, ingest_token, parking):
    for _ in range(3):
        assert post_json(client, EVENTS_URL, ingest_token, {"events": [event(), event()]}).status_code == 200

    marker = PendingRollup.objects.get()
    assert marker.version == 3
