"""Every error under /api/ is RFC 9457 problem+json: never HTML, never a bare 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey
from dikom.api.tests.conftest import auth
from dikom.api.throttling import AnonBurstThrottle, ApiKeyRateThrottle
from dikom.municipalities.models import Municipality

pytestmark = [pytest.mark.urls("dikom.api.tests.urls"), pytest.mark.django_db]

PROBLEM = "application/problem+json"
WITH_SIZE_LIMIT = [*settings.MIDDLEWARE]
if "dikom.api.middleware.ApiRequestSizeLimitMiddleware" not in WITH_SIZE_LIMIT:
    WITH_SIZE_LIMIT.insert(1, "dikom.api.middleware.ApiRequestSizeLimitMiddleware")


def assert_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["type"] == f"https://dikom.de/problems/{type_}"
    assert body["title"]
    assert body["detail"]
    return body


def test_unknown_path_is_a_404_problem(api: APIClient) -> None:
    body = assert_problem(api.get("/api/v1/does-not-exist/"), 404, "not-found")

    assert "/api/v1/does-not-exist/" in body["detail"]


def test_missing_trailing_slash_gets_a_hint(api: APIClient, city_a: Municipality) -> None:
    body = assert_problem(api.get("/api/v1/municipalities", HTTP_ACCEPT_LANGUAGE="en"), 404, "not-found")

    assert "Did you mean /api/v1/municipalities/?" in body["detail"]


def test_wrong_method_is_405(api: APIClient) -> None:
    response = api.post("/api/v1/municipalities/", {}, format="json")

    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response["Allow"]


def test_wrong_content_type_is_415(api: APIClient) -> None:
    response = api.generic("POST", "/api/v1/test-echo/", "a=1", content_type="application/x-www-form-urlencoded")

    assert_problem(response, 415, "unsupported-media-type")


def test_malformed_json_is_400(api: APIClient) -> None:
    response = api.generic("POST", "/api/v1/test-echo/", '{"name": ', content_type="application/json")

    assert_problem(response, 400, "malformed-request")


def test_valid_json_passes(api: APIClient) -> None:
    response = api.post("/api/v1/test-echo/", {"name": "Fulda"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"received": {"name": "Fulda"}}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_413(api: APIClient) -> None:
    body = json.dumps({"text": "x" * 2000})

    response = api.generic("POST", "/api/v1/test-echo/", body, content_type="application/json")

    assert_problem(response, 413, "content-too-large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_request_data_too_big_from_django_is_413(api: APIClient) -> None:
    response = api.generic("POST", "/api/v1/test-raw/", "x" * 2000, content_type="application/json")

    assert_problem(response, 413, "content-too-large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024, MIDDLEWARE=WITH_SIZE_LIMIT)
def test_size_limit_middleware_refuses_before_routing(api: APIClient) -> None:
    body = json.dumps({"text": "x" * 2000})

    response = api.generic("POST", "/api/v1/anything/", body, content_type="application/json")

    problem = assert_problem(response, 413, "content-too-large")
    assert problem["max_bytes"] == 1024


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024, MIDDLEWARE=WITH_SIZE_LIMIT)
def test_size_limit_middleware_leaves_other_paths_alone(client: Client) -> None:
    response = client.post("/not-the-api/", "x" * 2000, content_type="text/plain")

    assert response.status_code != 413


def test_unexpected_error_is_a_500_problem_not_html() -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/test-broken/")

    body = assert_problem(response, 500, "server-error")
    assert "boom" not in body["detail"]


def test_session_post_without_csrf_token_is_refused(login: Any, owner: Any) -> None:
    client = login(Client(enforce_csrf_checks=True), owner)

    response = client.post("/api/v1/test-echo/", {"a": 1}, content_type="application/json")

    body = assert_problem(response, 403, "forbidden")
    assert "CSRF" in body["detail"]


def test_rate_limit_per_key_is_429_with_retry_after(
    api: APIClient, key_a: CreatedApiKey, key_b: CreatedApiKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min", "anon": "100/min"})

    first = [api.get("/api/v1/me/", **auth(key_a)).status_code for _ in range(2)]
    limited = api.get("/api/v1/me/", **auth(key_a))
    other_key = api.get("/api/v1/me/", **auth(key_b))

    assert first == [200, 200]
    body = assert_problem(limited, 429, "rate-limited")
    assert int(limited["Retry-After"]) > 0
    assert body["retry_after"] == int(limited["Retry-After"])
    # The limit counts per key: Gießen's key is not affected by Fulda's traffic.
    assert other_key.status_code == 200


def test_anonymous_rate_limit(api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AnonBurstThrottle, "THROTTLE_RATES", {"api_key": "100/min", "anon": "1/min"})

    assert api.get("/api/v1/municipalities/").status_code == 200
    limited = api.get("/api/v1/municipalities/")

    assert_problem(limited, 429, "rate-limited")
    assert limited.has_header("Retry-After")


def test_details_follow_the_requested_language(api: APIClient) -> None:
    german = api.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="de").json()
    english = api.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert english["detail"] == "Authentication credentials were not provided."
    assert german["detail"] != english["detail"]
    assert german["title"] == english["title"] == "Unauthorized"
