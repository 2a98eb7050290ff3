"""Helpers for the analytics tests: API keys per city, sending events, running the task worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.actions import create_api_key
from dikom.analytics.models import Service
from dikom.lib.testing import run_task_worker
from dikom.municipalities.models import Municipality

EVENTS_URL = "/api/v1/analytics/events"
BERLIN = ZoneInfo("Europe/Berlin")


def run_worker() -> None:
    run_task_worker()


def key_for(municipality: Municipality, *scopes: str) -> str:
    return create_api_key(municipality=municipality, name="Testquelle", scopes=list(scopes)).token


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


def post_json(client: Client, url: str, token: str, body: Any, **extra: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **auth(token), **extra)


def local_day(days_ago: int = 1) -> datetime:
    """Local midnight ``days_ago`` days back (Europe/Berlin)."""
    today = timezone.now().astimezone(BERLIN).date()
    return datetime.combine(today - timedelta(days=days_ago), time.min, tzinfo=BERLIN)


def at(base: datetime, minutes: float) -> str:
    return (base + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def ingest_token(city_a: Municipality) -> str:
    return key_for(city_a, "analytics:ingest")


@pytest.fixture
def read_token(city_a: Municipality) -> str:
    return key_for(city_a, "analytics:read")


@pytest.fixture
def manage_token(city_a: Municipality) -> str:
    return key_for(city_a, "analytics:manage", "analytics:read")


@pytest.fixture
def parking(city_a: Municipality) -> Service:
    return Service.objects.create(
        municipality=city_a, name="Bewohnerparkausweis", external_key="anwohnerparken", leika_key="99106001010000"
    )


@pytest.fixture
def send(client: Client, ingest_token: str, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST a body to the ingestion endpoint with city A's key, running on-commit callbacks."""

    def _send(body: Any, token: str | None = None, **extra: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return post_json(client, EVENTS_URL, token or ingest_token, body, **extra)

    return _send


def event(**fields: Any) -> dict[str, Any]:
    base = {"type": "service_started", "service": "anwohnerparken", "occurred_at": timezone.now().isoformat()}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}
