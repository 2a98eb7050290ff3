"""Helpers for the collection tests (copied from the analytics core tests, not imported)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from dikom.accounts.actions import create_api_key
from dikom.analytics.collect.models import CollectionSite, MatchOn, MatomoRule
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

FORM_ORIGIN = "https://formulare.fulda.de"

# One whole application of the demo form (``collect/demo.py``): (type, step key, position, rating).
DEMO_APPLICATION = [
    ("service_started", "", None, None),
    ("step_viewed", "adresse", 1, None),
    ("step_viewed", "gegenstaende", 2, None),
    ("step_viewed", "termin", 3, None),
    ("submitted", "", None, None),
    ("feedback", "", None, 5),
]


def key_for(municipality: Municipality, *scopes: str) -> str:
    return create_api_key(municipality=municipality, name="Formularsystem", scopes=list(scopes)).token


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def parking(city_a: Municipality) -> Service:
    return Service.objects.create(
        municipality=city_a, name="Bewohnerparkausweis", external_key="anwohnerparken", leika_key="99106001010000"
    )


def rule(site: CollectionSite, **fields: Any) -> MatomoRule:
    values = {"position": 10, "service_key": "anwohnerparken", "event_type": "step_viewed", "stop": True}
    values.update(fields)
    obj = MatomoRule(site=site, **values)
    obj.full_clean()
    obj.save()
    return obj


@pytest.fixture
def site(city_a: Municipality, parking: Service) -> CollectionSite:
    """Fulda's form system, Matomo idsite 7, with rules for the parking permit service."""
    site = CollectionSite.objects.create(
        municipality=city_a, name="Formularserver Fulda", matomo_idsite=7, allowed_origins=[FORM_ORIGIN]
    )
    rule(
        site,
        position=10,
        match_on=MatchOn.URL_PREFIX,
        pattern="/antrag/parken/start",
        event_type="service_started",
        stop=False,
    )
    rule(
        site,
        position=20,
        match_on=MatchOn.URL_REGEX,
        pattern=r"/antrag/parken/schritt-([0-9]+)/?",
        step_key="schritt",
        step_position=2,
    )
    rule(
        site,
        position=30,
        match_on=MatchOn.URL_PREFIX,
        pattern="/antrag/parken/start",
        step_key="start",
        step_position=1,
    )
    rule(
        site,
        position=40,
        match_on=MatchOn.EVENT,
        event_category="Antrag",
        event_action="Absenden",
        event_type="submitted",
    )
    rule(
        site,
        position=50,
        match_on=MatchOn.EVENT,
        event_category="Bezahlung",
        event_action="gewählt",
        event_name="PayPal",
        event_type="payment_chosen",
        payment_method="paypal",
    )
    rule(
        site,
        position=60,
        match_on=MatchOn.DIMENSION,
        dimension_index=3,
        dimension_value="bundid",
        event_type="auth_completed",
        auth_method="bundid",
    )
    rule(site, position=70, match_on=MatchOn.EVENT, event_category="Feedback", event_type="feedback")
    return site


@pytest.fixture
def site_b(city_b: Municipality) -> CollectionSite:
    site = CollectionSite.objects.create(
        municipality=city_b,
        name="Formularserver Gießen",
        matomo_idsite=8,
        allowed_origins=["https://formulare.giessen.de"],
    )
    rule(site, match_on=MatchOn.URL_PREFIX, pattern="/", service_key="gewerbe", step_key="start")
    return site
