"""Control characters in identifiers and NUL anywhere are refused with a 4xx before they reach the database.

PostgreSQL cannot store NUL (SQLite stores it as-is); a newline in a service
key breaks tables, CSV files and logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from dikom.accounts.actions import create_api_key
from dikom.accounts.models import User
from dikom.analytics.collect.models import CollectionSite, MatchOn, MatomoRule
from dikom.analytics.models import Service, UsageEvent
from dikom.municipalities.models import Municipality

pytestmark = pytest.mark.django_db

BAD_IDENTIFIERS = [
    "park\x00en",
    "park\nen",
    "park\ren",
    "park\ten",
    "park\x1ben",
    "park\x7fen",
    "park\x85en",
    "park\u2028",
]


@pytest.fixture(autouse=True)
def _local_cache(settings: Any) -> Iterator[None]:
    settings.DEBUG = False
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


def _event(**fields: Any) -> dict[str, Any]:
    return {"type": "service_started", "service": "parken", "occurred_at": timezone.now().isoformat(), **fields}


@pytest.fixture
def ingest(city_a: Municipality) -> APIClient:
    token = create_api_key(municipality=city_a, name="Formulare", scopes=["analytics:ingest"]).token
    return APIClient(HTTP_AUTHORIZATION=f"Api-Key {token}")


@pytest.mark.parametrize("value", BAD_IDENTIFIERS)
@pytest.mark.parametrize("field", ["service", "event_id", "visit_id"])
def test_ingestion_refuses_control_characters_in_identifiers(ingest: APIClient, field: str, value: str) -> None:
    response = ingest.post("/api/v1/analytics/events", _event(**{field: value}), format="json")

    assert 400 <= response.status_code < 500
    assert {"field": field, "code": "control_characters"}.items() <= response.json()["errors"][0].items()
    assert not UsageEvent.objects.exists()


def test_ingestion_refuses_nul_in_comments_but_keeps_line_breaks(ingest: APIClient) -> None:
    refused = ingest.post("/api/v1/analytics/events", _event(type="feedback", comment="gut\x00"), format="json")
    accepted = ingest.post("/api/v1/analytics/events", _event(type="feedback", comment="gut\nso"), format="json")

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "comment"
    assert accepted.status_code == 201


def test_batch_rejects_the_one_bad_event(ingest: APIClient) -> None:
    response = ingest.post(
        "/api/v1/analytics/events", {"events": [_event(), _event(service="park\nen")]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert list(UsageEvent.objects.values_list("service_key", flat=True)) == ["parken"]


def test_collector_refuses_control_characters(city_a: Municipality) -> None:
    site = CollectionSite.objects.create(municipality=city_a, name="Formulare", allowed_origins=["https://f.test"])

    response = Client().post(
        f"/api/v1/analytics/collect/{site.site_id}",
        json.dumps(_event(service="park\x00en")),
        content_type="text/plain",
        HTTP_ORIGIN="https://f.test",
    )

    assert 400 <= response.status_code < 500
    assert not UsageEvent.objects.exists()


@pytest.fixture
def matomo_site(city_a: Municipality) -> CollectionSite:
    Service.objects.create(municipality=city_a, name="Parken", external_key="parken")
    site = CollectionSite.objects.create(municipality=city_a, name="Formulare", matomo_idsite=7)
    rule = MatomoRule(
        site=site,
        position=10,
        match_on=MatchOn.EVENT,
        event_category="Schritt",
        service_key="parken",
        event_type="step_viewed",
        step_key="start",
        stop=True,
    )
    rule.full_clean()
    rule.save()
    return site


def test_matomo_refuses_nul_in_the_query_and_the_bulk(matomo_site: CollectionSite) -> None:
    single = Client().get("/matomo.php", {"idsite": "7", "rec": "1", "e_c": "Schritt", "e_a": "a\x00b"})
    bulk = Client().post(
        "/matomo.php",
        json.dumps({"requests": [{"idsite": 7, "rec": 1, "e_c": "Schritt", "e_a": "a\x00b"}]}),
        content_type="application/json",
    )

    assert single.status_code == 400
    assert bulk.status_code == 400
    assert not UsageEvent.objects.exists()


def test_nul_in_a_query_or_form_is_400_everywhere(
    client: Client, login: Any, owner: User, city_a: Municipality
) -> None:
    login(client, owner)

    assert client.get(f"/verwaltung/{city_a.slug}/protokoll/", {"action": "auth\x00"}).status_code == 400
    assert client.get("/api/v1/analytics/services/", {"municipality": "\x00"}).status_code == 400
    form = urlencode({"username": "a\x00", "password": "x"})
    assert Client().post("/konto/anmelden/", form, content_type="application/x-www-form-urlencoded").status_code == 400


def test_json_bodies_with_nul_are_refused(login: Any, owner: User) -> None:
    api = login(APIClient(), owner)

    response = api.post(
        "/api/v1/analytics/unassigned/assign", '{"service_key": "a\\u0000"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_the_api_parser_names_the_nul(login: Any, owner: User, city_a: Municipality) -> None:
    api = login(APIClient(), owner)

    response = api.post(
        f"/api/v1/analytics/figures?municipality={city_a.ags}", '{"rows": ["\\u0000"]}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "https://dikom.de/problems/malformed-request"
