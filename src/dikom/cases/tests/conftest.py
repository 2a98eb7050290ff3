"""Fixtures of the case API tests: a submitted case in Fulda and in Gießen, API keys of both cities.

``api_cache`` and ``api_media`` are not autouse: the case API tests ask for them with ``usefixtures``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey, create_api_key
from dikom.cases.models import Case
from dikom.cases.scopes import CASES_READ, CASES_WRITE
from dikom.cases.tests.test_case_lifecycle import adopt, submit
from dikom.municipalities.tests.factories import OrgUnitFactory


@pytest.fixture
def api_cache() -> Iterator[None]:
    # The rate limiters use the cache; a shared cache would leak counts between tests.
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


@pytest.fixture
def api_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def key(municipality: Any, *scopes: str, name: str = "Fachverfahren") -> CreatedApiKey:
    return create_api_key(municipality=municipality, name=name, scopes=list(scopes))


def client_for(created: CreatedApiKey) -> APIClient:
    client = APIClient()
    # Problems are answered in the language asked for; the tests read the English texts.
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {created.token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def new_case(city: Any, unit: Any, adoption: Any = None) -> Case:
    """A citizen submits the family grant in ``city`` (adopted anew unless ``adoption`` is given); the case
    opens as the submission signal does on commit."""
    from dikom.cases.actions import open_case

    return open_case(submit(adoption or adopt(city, unit)))


@pytest.fixture
def unit_a(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB")


@pytest.fixture
def unit_b(city_b: Any) -> Any:
    return OrgUnitFactory(municipality=city_b, name="Bürgerbüro Gießen")


@pytest.fixture
def demo_payments(settings: Any) -> None:
    """The demo payment platform, the only provider."""
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]


@pytest.fixture
def case_a(city_a: Any, unit_a: Any) -> Case:
    return new_case(city_a, unit_a)


@pytest.fixture
def case_b(city_b: Any, unit_b: Any) -> Case:
    return new_case(city_b, unit_b)


@pytest.fixture
def procedure_a(city_a: Any) -> APIClient:
    """The specialist procedure of Fulda: reads and works on cases."""
    return client_for(key(city_a, CASES_READ, CASES_WRITE))


@pytest.fixture
def procedure_b(city_b: Any) -> APIClient:
    return client_for(key(city_b, CASES_READ, CASES_WRITE))
