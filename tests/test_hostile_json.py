"""Deeply nested JSON gets a clear 4xx everywhere, never a 500 (``RecursionError``) or a hang.

One test sends ``[`` × 100 000 to every operation of the OpenAPI document that
takes a body, as a platform administrator and with an API key of every scope;
others send it where JSON arrives outside the REST API.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from dikom.accounts.actions import create_api_key
from dikom.accounts.models import User
from dikom.accounts.scopes import SCOPES
from dikom.analytics.collect.models import CollectionSite
from dikom.api.schema import EnglishSchemaGenerator
from dikom.municipalities.models import Municipality

pytestmark = pytest.mark.django_db

NESTED = "[" * 100_000
NESTED_OBJECT = '{"a":' * 50_000
BODY_METHODS = ("post", "put", "patch")


@pytest.fixture(autouse=True)
def _local_cache() -> Iterator[None]:
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


def _operations() -> list[tuple[str, str]]:
    schema = EnglishSchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in BODY_METHODS:
                continue
            concrete = path
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path":
                    continue
                kind = parameter.get("schema", {})
                value = str(uuid.uuid4()) if kind.get("format") == "uuid" else "1"
                concrete = concrete.replace("{" + parameter["name"] + "}", value)
            found.append((method, re.sub(r"\{[^}]+\}", "1", concrete)))
    return found


def test_the_schema_lists_the_operations_with_a_body() -> None:
    operations = _operations()

    assert ("post", "/api/v1/analytics/events") in operations
    assert ("post", "/api/v1/analytics/figures") in operations


@pytest.mark.parametrize("body", [NESTED, NESTED_OBJECT], ids=["arrays", "objects"])
def test_every_api_operation_answers_nested_json_with_4xx(
    body: str, platform_admin: User, owner: User, city_a: Municipality, settings: Any, login: Any
) -> None:
    settings.DEBUG = False
    token = create_api_key(municipality=city_a, name="alles", scopes=list(SCOPES)).token
    clients = {
        "platform admin": login(APIClient(), platform_admin),
        "city admin": login(APIClient(), owner),
        "api key": APIClient(HTTP_AUTHORIZATION=f"Api-Key {token}"),
    }
    failures = []
    for who, api in clients.items():
        for method, path in _operations():
            response = getattr(api, method)(path, body, content_type="application/json")
            if not 400 <= response.status_code < 500:
                failures.append(f"{who}: {method.upper()} {path} → {response.status_code}")
    assert failures == []


def test_nested_json_is_a_problem_naming_the_depth(city_a: Municipality) -> None:
    token = create_api_key(municipality=city_a, name="ingest", scopes=["analytics:ingest"]).token
    api = APIClient(HTTP_AUTHORIZATION=f"Api-Key {token}")

    response = api.post("/api/v1/analytics/events", NESTED, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://dikom.de/problems/malformed-request"
    assert "64" in body["detail"]


def test_ingestion_with_an_api_key_answers_400(city_a: Municipality) -> None:
    token = create_api_key(municipality=city_a, name="ingest", scopes=["analytics:ingest"]).token
    api = APIClient(HTTP_AUTHORIZATION=f"Api-Key {token}")

    for body in (NESTED, '{"events": ' + NESTED, '{"events": [' + "[" * 2000 + "]" * 2000 + "]}"):
        response = api.post("/api/v1/analytics/events", body, content_type="application/json")
        assert response.status_code == 400, body[:30]


def test_collector_answers_400(city_a: Municipality) -> None:
    site = CollectionSite.objects.create(municipality=city_a, name="Formulare", allowed_origins=["https://f.test"])

    for content_type in ("application/json", "text/plain"):
        response = Client().post(
            f"/api/v1/analytics/collect/{site.site_id}", NESTED, content_type=content_type, HTTP_ORIGIN="https://f.test"
        )
        assert response.status_code == 400, content_type


def test_matomo_bulk_answers_400(city_a: Municipality, settings: Any) -> None:
    settings.DEBUG = False
    CollectionSite.objects.create(municipality=city_a, name="Formulare", matomo_idsite=7)

    response = Client().post("/matomo.php", '{"requests": ' + NESTED + "}", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("text", [NESTED, NESTED_OBJECT, '{"var": "a\\u0000"}'])
def test_json_form_fields_give_a_form_error(text: str) -> None:
    from django.core.exceptions import ValidationError

    from dikom.cases.automation.rules import parse_json
    from dikom.eservices.forms import parse_rule

    with pytest.raises(ValidationError):
        parse_json(text, "condition")
    with pytest.raises(ValidationError):
        parse_rule(text, "Visible if", None)
