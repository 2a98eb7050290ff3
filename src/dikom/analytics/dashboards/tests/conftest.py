"""A small hand-computed example: rollups built from events through the core's ingestion path.

City A (Fulda), current period = [D1, D2] (3 and 2 days ago), previous period = [D1-2, D1-1]:

- "Bewohnerparkausweis" (parking): D1 visits v1, v2, v3 start; v1 and v2 view step "antrag" (1), v1 views
  "zahlung" (2) and submits 2 minutes after its start (times are stored to the minute); v1 pays by credit card, v2's PayPal payment fails; v1 signs
  in with BundID. D2: v4 starts and submits, rates 4 with a comment; v5 starts and rates 2.
  Current: 5 visits, 5 starts, 2 completions (conversion 40 %, abandonment 60 %), 2 feedbacks, average 3.0.
  Previous (4 days ago): v6, v7 start, v6 submits: 2 visits, 2 starts, 1 completion.
- "Hundesteuer" (dogs): D1 v8 starts and submits: 1 visit, conversion 100 %.
- unassigned key "altes-formular": D2 v9 starts: 1 visit.

City B (Gießen) has a service with 10 visits on D1 that must never show up for city A.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dikom.accounts.actions import create_api_key
from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.actions import rebuild_daily_stats
from dikom.analytics.models import Service
from dikom.analytics.service import record_usage_events
from dikom.municipalities.models import Municipality

BERLIN = ZoneInfo("Europe/Berlin")


def local_date(days_ago: int) -> date:
    return timezone.now().astimezone(BERLIN).date() - timedelta(days=days_ago)


def at(day: date, minutes: float = 0) -> str:
    return (datetime.combine(day, time(10, 0), tzinfo=BERLIN) + timedelta(minutes=minutes)).isoformat()


def key_for(municipality: Municipality, *scopes: str) -> str:
    return create_api_key(municipality=municipality, name="Testquelle", scopes=list(scopes)).token


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


D1, D2, PD = 3, 2, 4


def period_query(**extra: str) -> str:
    params = {"period": "custom", "since": local_date(D1).isoformat(), "until": local_date(D2).isoformat(), **extra}
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def ingest(municipality: Municipality, events: list[dict[str, Any]]) -> None:
    result = record_usage_events(municipality, events)
    assert not result.rejected, result.rejected
    for day in {datetime.fromisoformat(e["occurred_at"]).date() for e in events}:
        rebuild_daily_stats(municipality.pk, day)


def ev(type_: str, service: str, day: date, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "service": service, "occurred_at": at(day, minutes), **fields}


@pytest.fixture
def analyst(city_a: Municipality) -> User:
    return MembershipFactory(user__username="analyst", municipality=city_a, role=Role.ANALYST).user


@pytest.fixture
def example(city_a: Municipality, city_b: Municipality) -> dict[str, Service]:
    parking = Service.objects.create(
        municipality=city_a, name="Bewohnerparkausweis", external_key="parken", leika_key="99106001010000"
    )
    dogs = Service.objects.create(municipality=city_a, name="Hundesteuer", external_key="hunde")
    other = Service.objects.create(municipality=city_b, name="Gießener Dienst", external_key="parken")
    d1, d2, pd = local_date(D1), local_date(D2), local_date(PD)
    events = [
        ev("service_started", "parken", d1, 0, visit_id="v1", device_class="desktop"),
        ev("service_started", "parken", d1, 0, visit_id="v2", device_class="mobile"),
        ev("service_started", "parken", d1, 0, visit_id="v3", device_class="mobile"),
        ev("auth_chosen", "parken", d1, 0.2, visit_id="v1", auth_method="bundid"),
        ev("auth_completed", "parken", d1, 0.3, visit_id="v1", auth_method="bundid"),
        ev("step_viewed", "parken", d1, 0.5, visit_id="v1", step_key="antrag", step_position=1),
        ev("step_viewed", "parken", d1, 0.5, visit_id="v2", step_key="antrag", step_position=1),
        ev("step_viewed", "parken", d1, 1, visit_id="v1", step_key="zahlung", step_position=2),
        ev("payment_chosen", "parken", d1, 1, visit_id="v1", payment_method="creditcard"),
        ev("payment_completed", "parken", d1, 1.2, visit_id="v1", payment_method="creditcard"),
        ev("payment_chosen", "parken", d1, 1, visit_id="v2", payment_method="paypal"),
        ev("payment_failed", "parken", d1, 1.2, visit_id="v2", payment_method="paypal"),
        ev("submitted", "parken", d1, 2, visit_id="v1"),
        ev("service_started", "parken", d2, 0, visit_id="v4"),
        ev("submitted", "parken", d2, 3, visit_id="v4"),
        ev("feedback", "parken", d2, 4, visit_id="v4", rating=4, comment="Schnell erledigt, Mail an a@b.de"),
        ev("service_started", "parken", d2, 0, visit_id="v5"),
        ev("feedback", "parken", d2, 1, visit_id="v5", rating=2),
        ev("service_started", "parken", pd, 0, visit_id="v6"),
        ev("service_started", "parken", pd, 0, visit_id="v7"),
        ev("submitted", "parken", pd, 2, visit_id="v6"),
        ev("service_started", "hunde", d1, 0, visit_id="v8"),
        ev("submitted", "hunde", d1, 5, visit_id="v8"),
        ev("service_started", "altes-formular", d2, 0, visit_id="v9"),
    ]
    ingest(city_a, events)
    ingest(city_b, [ev("service_started", "parken", d1, 0, visit_id=f"b{i}") for i in range(10)])
    return {"parking": parking, "dogs": dogs, "other": other}
