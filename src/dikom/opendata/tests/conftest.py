from __future__ import annotations

from typing import Any

import pytest

from dikom.accounts.actions import create_api_key
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.models import Municipality
from dikom.opendata import actions
from dikom.opendata.models import Organization
from dikom.opendata.scopes import OPENDATA_WRITE


@pytest.fixture
def org_a(city_a: Municipality) -> Organization:
    return actions.organization_for_municipality(city_a)


@pytest.fixture
def org_b(city_b: Municipality) -> Organization:
    return actions.organization_for_municipality(city_b)


@pytest.fixture
def publisher_a(city_a: Municipality) -> Any:
    return MembershipFactory(user__username="publisher-a", municipality=city_a, role=Role.DATA_PUBLISHER).user


@pytest.fixture
def key_a(org_a: Organization, city_a: Municipality) -> str:
    return create_api_key(municipality=city_a, name="Open data A", scopes=[OPENDATA_WRITE]).token


@pytest.fixture
def key_b(org_b: Organization, city_b: Municipality) -> str:
    return create_api_key(municipality=city_b, name="Open data B", scopes=[OPENDATA_WRITE]).token


def make_dataset(org: Organization, name: str, title: str, **extra: Any) -> Any:
    data = {
        "name": name,
        "title": title,
        "notes": extra.pop("notes", f"Beschreibung von {title}"),
        "license_id": extra.pop("license_id", "dl-by-de/2.0"),
        "resources": extra.pop("resources", [{"url": f"https://example.org/{name}.csv", "format": "CSV"}]),
        **extra,
    }
    return actions.create_dataset(org, data, actor="test")
