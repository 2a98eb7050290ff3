"""The audit log over the API: a key reads its own city; a session needs the admin role there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey
from dikom.accounts.scopes import MUNICIPALITY_READ
from dikom.api.pagination import LimitOffsetWithCeiling
from dikom.api.tests.conftest import auth, key_for
from dikom.audit.actions import record
from dikom.municipalities.models import Municipality

URL = "/api/v1/audit-events/"


def _events(city_a: Municipality, city_b: Municipality) -> None:
    record("orgunit.create", municipality=city_a, changes={"name": "Bürgeramt"})
    record("auth.login", municipality=city_a)
    record("orgunit.create", municipality=city_b, changes={"name": "Standesamt Gießen"})


def test_key_of_fulda_sees_only_fuldas_events_newest_first(
    api: APIClient, key_a: CreatedApiKey, key_b: CreatedApiKey, city_a: Municipality, city_b: Municipality
) -> None:
    _events(city_a, city_b)

    response = api.get(URL, **auth(key_a))

    assert response.status_code == 200
    rows = response.json()["results"]
    # Fulda's two events and the creation of Fulda's key; nothing of Gießen.
    assert [row["action"] for row in rows] == ["auth.login", "orgunit.create", "api_key.create"]
    assert "Standesamt" not in response.content.decode()
    assert key_b.api_key.prefix not in response.content.decode()
    times = [row["occurred_at"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_action_prefix_and_time_filters(
    api: APIClient, key_a: CreatedApiKey, city_a: Municipality, city_b: Municipality
) -> None:
    _events(city_a, city_b)
    now = timezone.now()

    by_action = api.get(URL, {"action": "orgunit."}, **auth(key_a)).json()
    future = api.get(URL, {"since": (now + timedelta(hours=1)).isoformat()}, **auth(key_a)).json()
    past = api.get(URL, {"until": (now - timedelta(hours=1)).isoformat()}, **auth(key_a)).json()
    window = api.get(
        URL,
        {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()},
        **auth(key_a),
    ).json()

    assert [row["changes"] for row in by_action["results"]] == [{"name": "Bürgeramt"}]
    assert future["count"] == 0
    assert past["count"] == 0
    assert window["count"] == 3


def test_bad_since_is_a_400_naming_the_field(api: APIClient, key_a: CreatedApiKey) -> None:
    response = api.get(URL, {"since": "yesterday"}, **auth(key_a))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://dikom.de/problems/validation-error"
    assert [error["field"] for error in problem["errors"]] == ["since"]


def test_until_before_since_is_a_400(api: APIClient, key_a: CreatedApiKey) -> None:
    response = api.get(URL, {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, **auth(key_a))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["until"]


def test_key_without_audit_scope_is_403(api: APIClient, city_a: Municipality) -> None:
    units_only = key_for(city_a, MUNICIPALITY_READ)

    response = api.get(URL, HTTP_ACCEPT_LANGUAGE="en", **auth(units_only))

    assert response.status_code == 403
    assert "audit:read" in response.json()["detail"]


def test_key_naming_another_municipality_is_403(api: APIClient, key_a: CreatedApiKey, city_b: Municipality) -> None:
    response = api.get(URL, {"municipality": city_b.ags}, HTTP_ACCEPT_LANGUAGE="en", **auth(key_a))

    assert response.status_code == 403
    assert "another municipality" in response.json()["detail"]


def test_session_admin_reads_own_city_and_must_name_it(
    client: Client, login: Any, owner: Any, city_a: Municipality, city_b: Municipality
) -> None:
    _events(city_a, city_b)
    login(client, owner)

    without = client.get(URL)
    own = client.get(URL, {"municipality": city_a.ags})
    other = client.get(URL, {"municipality": city_b.ags})

    assert without.status_code == 400
    assert [error["field"] for error in without.json()["errors"]] == ["municipality"]
    assert own.status_code == 200
    assert {row["action"] for row in own.json()["results"]} >= {"auth.login", "orgunit.create"}
    assert "Standesamt" not in own.content.decode()
    assert other.status_code == 403


def test_session_caseworker_is_not_an_admin(client: Client, login: Any, colleague: Any, city_a: Municipality) -> None:
    login(client, colleague)

    assert client.get(URL, {"municipality": city_a.ags}).status_code == 403


def test_unknown_and_malformed_municipality(client: Client, login: Any, owner: Any) -> None:
    login(client, owner)

    assert client.get(URL, {"municipality": "06611000"}).status_code == 404
    assert client.get(URL, {"municipality": "6611"}).status_code == 400


def test_no_credentials_is_401(api: APIClient, city_a: Municipality) -> None:
    response = api.get(URL, {"municipality": city_a.ags})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Api-Key realm="dikom"'


def test_paginated_with_bounded_queries(
    api: APIClient, key_a: CreatedApiKey, city_a: Municipality, django_assert_max_num_queries: Any
) -> None:
    for index in range(30):
        record("orgunit.update", municipality=city_a, changes={"n": index})

    with django_assert_max_num_queries(5):
        response = api.get(URL, {"limit": 10}, **auth(key_a))

    body = response.json()
    assert body["count"] == 31
    assert len(body["results"]) == 10
    assert "offset=10" in body["next"]


def test_limit_has_a_ceiling(
    api: APIClient, key_a: CreatedApiKey, city_a: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LimitOffsetWithCeiling, "max_limit", 2)
    for _ in range(4):
        record("auth.login", municipality=city_a)

    response = api.get(URL, {"limit": 1_000_000}, **auth(key_a))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    assert response.json()["count"] == 5


def test_key_may_name_its_own_municipality(api: APIClient, key_a: CreatedApiKey, city_a: Municipality) -> None:
    response = api.get(URL, {"municipality": city_a.ags}, **auth(key_a))

    assert response.status_code == 200
    assert response.json()["results"][0]["action"] == "api_key.create"
