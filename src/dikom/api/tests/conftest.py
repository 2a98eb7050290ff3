"""Fixtures of the API tests: a process-local cache for the rate limiters, API keys, org units."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey, create_api_key
from dikom.accounts.scopes import AUDIT_READ, MUNICIPALITY_READ
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import OrgUnitFactory


@pytest.fixture(autouse=True)
def _local_cache() -> Iterator[None]:
    # The rate limiters use the cache; the database cache table is not created
    # by pytest-django, and a shared cache would leak counts between tests.
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    # The manifest storage of production needs ``collectstatic``; tests use the plain one.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def key_for(municipality: Municipality, *scopes: str, name: str = "Fachverfahren") -> CreatedApiKey:
    return create_api_key(municipality=municipality, name=name, scopes=scopes or [MUNICIPALITY_READ])


@pytest.fixture
def key_a(city_a: Municipality) -> CreatedApiKey:
    """A key of Fulda with both read scopes."""
    return key_for(city_a, MUNICIPALITY_READ, AUDIT_READ)


@pytest.fixture
def key_b(city_b: Municipality) -> CreatedApiKey:
    """A key of Gießen with both read scopes."""
    return key_for(city_b, MUNICIPALITY_READ, AUDIT_READ)


def auth(created: CreatedApiKey) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {created.token}"}


@pytest.fixture
def units_a(city_a: Municipality) -> list[OrgUnit]:
    top = OrgUnitFactory(municipality=city_a, name="Dezernat I", kind=OrgUnit.Kind.DEPARTMENT)
    return [
        top,
        OrgUnitFactory(
            municipality=city_a, name="Bürgeramt", parent=top, short_name="BA", email="buergeramt@fulda.test"
        ),
        OrgUnitFactory(municipality=city_a, name="Ordnungsamt", parent=top),
    ]


@pytest.fixture
def units_b(city_b: Municipality) -> list[OrgUnit]:
    return [OrgUnitFactory(municipality=city_b, name="Standesamt Gießen")]
