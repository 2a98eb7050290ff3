"""Org units of a municipality: only its own API keys (with the scope) and people with a role there."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey, revoke_api_key
from dikom.accounts.models import ApiKey
from dikom.accounts.scopes import AUDIT_READ
from dikom.api.tests.conftest import auth, key_for
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import OrgUnitFactory

FULDA_UNITS = "/api/v1/municipalities/06631009/org-units/"
GIESSEN_UNITS = "/api/v1/municipalities/06531005/org-units/"


def test_key_of_fulda_reads_fuldas_units(
    api: APIClient, key_a: CreatedApiKey, units_a: list[OrgUnit], units_b: list[OrgUnit]
) -> None:
    response = api.get(FULDA_UNITS, **auth(key_a))

    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["results"]] == ["Bürgeramt", "Dezernat I", "Ordnungsamt"]
    buergeramt = body["results"][0]
    assert buergeramt == {
        "uuid": str(units_a[1].uuid),
        "name": "Bürgeramt",
        "short_name": "BA",
        "kind": "amt",
        "parent": str(units_a[0].uuid),
        "email": "buergeramt@fulda.test",
    }
    assert body["results"][1]["parent"] is None
    assert "Standesamt Gießen" not in response.content.decode()


def test_bearer_keyword_works_too(api: APIClient, key_a: CreatedApiKey, units_a: list[OrgUnit]) -> None:
    response = api.get(FULDA_UNITS, HTTP_AUTHORIZATION=f"Bearer {key_a.token}")

    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_key_of_giessen_cannot_read_fuldas_units(api: APIClient, key_b: CreatedApiKey, units_a: list[OrgUnit]) -> None:
    response = api.get(FULDA_UNITS, HTTP_ACCEPT_LANGUAGE="en", **auth(key_b))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://dikom.de/problems/forbidden"
    assert "belongs to another municipality" in problem["detail"]
    assert "Bürgeramt" not in response.content.decode()


def test_revoked_key_is_refused_with_401(api: APIClient, key_a: CreatedApiKey, units_a: list[OrgUnit]) -> None:
    revoke_api_key(api_key=key_a.api_key)

    response = api.get(FULDA_UNITS, **auth(key_a))

    assert response.status_code == 401
    assert response.json()["type"] == "https://dikom.de/problems/authentication-failed"
    assert response["WWW-Authenticate"] == 'Api-Key realm="dikom"'


def test_tampered_secret_is_refused(api: APIClient, key_a: CreatedApiKey, units_a: list[OrgUnit]) -> None:
    response = api.get(FULDA_UNITS, HTTP_AUTHORIZATION=f"Api-Key {key_a.token[:-2]}xx")

    assert response.status_code == 401


def test_key_without_the_scope_gets_403_naming_the_scope(
    api: APIClient, city_a: Municipality, units_a: list[OrgUnit]
) -> None:
    audit_only = key_for(city_a, AUDIT_READ)

    response = api.get(FULDA_UNITS, HTTP_ACCEPT_LANGUAGE="en", **auth(audit_only))

    assert response.status_code == 403
    assert "municipality:read" in response.json()["detail"]


def test_no_credentials_is_401_with_challenge(api: APIClient, units_a: list[OrgUnit]) -> None:
    response = api.get(FULDA_UNITS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Api-Key realm="dikom"'
    assert response.json()["type"] == "https://dikom.de/problems/not-authenticated"


def test_session_of_a_fulda_caseworker_reads_fulda_but_not_giessen(
    client: Client, login: Any, colleague: Any, units_a: list[OrgUnit], units_b: list[OrgUnit]
) -> None:
    login(client, colleague)

    own = client.get(FULDA_UNITS)
    other = client.get(GIESSEN_UNITS)

    assert own.status_code == 200
    assert own.json()["count"] == 3
    assert other.status_code == 403
    assert other["Content-Type"] == "application/problem+json"
    assert "Standesamt" not in other.content.decode()


def test_outsider_admin_of_giessen_cannot_read_fulda(
    client: Client, login: Any, outsider: Any, units_a: list[OrgUnit]
) -> None:
    login(client, outsider)

    assert client.get(FULDA_UNITS).status_code == 403


def test_citizen_session_is_refused(client: Client, citizen: Any, units_a: list[OrgUnit]) -> None:
    client.force_login(citizen)

    assert client.get(FULDA_UNITS).status_code == 403


def test_platform_admin_reads_any_city(client: Client, login: Any, platform_admin: Any, units_b: list[OrgUnit]) -> None:
    login(client, platform_admin)

    assert client.get(GIESSEN_UNITS).json()["count"] == 1


def test_staff_session_without_second_factor_is_refused(client: Client, colleague: Any, units_a: list[OrgUnit]) -> None:
    # Password only: the web pages would send the caseworker to the 2FA check; the API refuses.
    client.force_login(colleague)

    response = client.get(FULDA_UNITS, HTTP_ACCEPT_LANGUAGE="en")

    # The session counts as anonymous (401) or, should it get through, is refused (403).
    assert response.status_code in {401, 403}
    assert response["Content-Type"] == "application/problem+json"
    assert "Bürgeramt" not in response.content.decode()


@pytest.mark.parametrize("count", [5, 40])
def test_query_count_does_not_grow_with_units(
    api: APIClient, key_a: CreatedApiKey, city_a: Municipality, django_assert_max_num_queries: Any, count: int
) -> None:
    parent = OrgUnitFactory(municipality=city_a, kind=OrgUnit.Kind.DEPARTMENT)
    OrgUnitFactory.create_batch(count, municipality=city_a, parent=parent)

    # key lookup, last-used update, municipality, count, page
    with django_assert_max_num_queries(6):
        response = api.get(FULDA_UNITS, **auth(key_a))

    assert response.json()["count"] == count + 1


def test_last_used_at_is_recorded(api: APIClient, key_a: CreatedApiKey, units_a: list[OrgUnit]) -> None:
    assert ApiKey.objects.get(pk=key_a.api_key.pk).last_used_at is None

    api.get(FULDA_UNITS, **auth(key_a))

    assert ApiKey.objects.get(pk=key_a.api_key.pk).last_used_at is not None


def test_api_itself_refuses_staff_sessions_without_second_factor(
    client: Client, colleague: Any, units_a: list[OrgUnit]
) -> None:
    # Defence in depth: even without the accounts' two-factor middleware the API refuses.
    middleware = [m for m in settings.MIDDLEWARE if "TwoFactorEnforcement" not in m]
    client.force_login(colleague)

    with override_settings(MIDDLEWARE=middleware):
        response = client.get(FULDA_UNITS, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]
