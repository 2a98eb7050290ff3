"""Who am I: the key's identity or the signed-in person's roles."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from dikom.accounts.actions import CreatedApiKey
from dikom.accounts.models import ApiKey
from dikom.api.tests.conftest import auth


def test_me_for_an_api_key(api: APIClient, key_a: CreatedApiKey) -> None:
    response = api.get("/api/v1/me/", **auth(key_a))

    assert response.status_code == 200
    me = response.json()
    assert me["kind"] == "api_key"
    assert me["api_key"]["name"] == "Fachverfahren"
    assert me["api_key"]["prefix"] == key_a.api_key.prefix
    assert me["api_key"]["scopes"] == ["audit:read", "municipality:read"]
    assert me["api_key"]["last_used_at"] is not None
    assert me["municipality"] == {"ags": "06631009", "name": "Fulda", "slug": "fulda"}
    assert me["user"] is None
    assert me["memberships"] == []
    # The secret never comes back.
    assert key_a.token.rsplit("_", 1)[1] not in response.content.decode()
    assert ApiKey.objects.get(pk=key_a.api_key.pk).last_used_at is not None


def test_me_for_a_session(client: Client, login: Any, owner: Any) -> None:
    login(client, owner)

    me = client.get("/api/v1/me/").json()

    assert me["kind"] == "user"
    assert me["user"] == {"username": "owner", "is_platform_admin": False}
    assert me["memberships"] == [
        {"municipality": {"ags": "06631009", "name": "Fulda", "slug": "fulda"}, "role": "municipality_admin"}
    ]
    assert me["api_key"] is None


def test_me_without_credentials(api: APIClient) -> None:
    response = api.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
