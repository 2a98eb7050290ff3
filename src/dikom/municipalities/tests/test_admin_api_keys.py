"""API keys of a municipality: list, create (token shown once), revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts import actions as account_actions
from dikom.accounts.models import ApiKey
from dikom.accounts.service import authenticate_api_key, hash_secret, split_key
from dikom.audit.models import AuditEvent
from dikom.lib.testing import english_client

URL = "/verwaltung/fulda/api-schluessel/"


@pytest.fixture
def client() -> Client:
    return english_client()


@pytest.fixture
def admin_client(client: Client, login: Any, owner: Any) -> Client:
    return login(client, owner)


def test_create_shows_token_once_and_stores_only_its_hash(admin_client: Client, owner: Any, city_a: Any) -> None:
    valid_until = timezone.localdate() + timedelta(days=30)
    response = admin_client.post(
        f"{URL}neu/", {"name": "Bürger-App", "scopes": ["municipality:read"], "valid_until": valid_until.isoformat()}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert f'value="{token}"' in response.content.decode()
    assert "shown only this once" in response.content.decode()

    key = ApiKey.objects.get(name="Bürger-App")
    assert key.municipality == city_a
    assert key.created_by == owner
    assert key.scopes == ["municipality:read"]
    assert timezone.localtime(key.expires_at).date() == valid_until + timedelta(days=1)
    assert key.secret_hash != token and token not in key.secret_hash
    assert key.secret_hash == hash_secret(split_key(token)[1])
    assert authenticate_api_key(token) == key

    # The list shows the key, but never the token again.
    listing = admin_client.get(URL).content.decode()
    assert key.prefix in listing and "Bürger-App" in listing
    assert token not in listing
    event = AuditEvent.objects.get(action="api_key.create")
    assert (event.actor, event.municipality_id) == (owner, city_a.pk)
    assert token not in str(event.changes)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "X", "scopes": []}, "scopes", "Choose at least one scope."),
        ({"name": "X", "scopes": ["root:everything"]}, "scopes", "Select a valid choice."),
        ({"name": "   ", "scopes": ["audit:read"]}, "name", "required"),
        ({"name": "X", "scopes": ["audit:read"], "valid_until": "2001-01-01"}, "valid_until", "in the future"),
        ({"name": "X", "scopes": ["audit:read"], "valid_until": "31.02.2030"}, "valid_until", "valid date"),
    ],
)
def test_create_rejects_bad_input(admin_client: Client, data: dict[str, Any], field: str, message: str) -> None:
    response = admin_client.post(f"{URL}neu/", data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert "token" not in response.context
    assert not ApiKey.objects.exists()


def test_list_shows_status_with_bounded_queries(
    admin_client: Client, owner: Any, city_a: Any, city_b: Any, django_assert_max_num_queries: Any
) -> None:
    active = account_actions.create_api_key(municipality=city_a, name="Aktiv", scopes=["audit:read"], actor=owner)
    revoked = account_actions.create_api_key(municipality=city_a, name="Alt", scopes=["audit:read"], actor=owner)
    account_actions.revoke_api_key(api_key=revoked.api_key)
    expired = account_actions.create_api_key(municipality=city_a, name="Abgelaufen", scopes=["audit:read"])
    ApiKey.objects.filter(pk=expired.api_key.pk).update(expires_at=timezone.now() - timedelta(days=1))
    for n in range(10):
        account_actions.create_api_key(municipality=city_a, name=f"Key {n}", scopes=["audit:read"], actor=owner)
    account_actions.create_api_key(municipality=city_b, name="Gießener Schlüssel", scopes=["audit:read"])
    with django_assert_max_num_queries(10):
        response = admin_client.get(URL)
    statuses = {row["key"].name: row["status"] for row in response.context["rows"]}
    assert statuses["Aktiv"] == "active"
    assert statuses["Alt"] == "revoked"
    assert statuses["Abgelaufen"] == "expired"
    assert "Gießener Schlüssel" not in statuses
    assert active.api_key.prefix in response.content.decode()
    # The overview counts only active keys: "Aktiv" and the ten numbered ones.
    assert admin_client.get("/verwaltung/fulda/").context["counts"]["api_keys"] == 11


def test_revoked_key_no_longer_authenticates(admin_client: Client, owner: Any, city_a: Any) -> None:
    created = account_actions.create_api_key(municipality=city_a, name="Sensorik", scopes=["audit:read"])
    assert authenticate_api_key(created.token) is not None
    url = f"{URL}{created.api_key.uuid}/widerrufen/"
    assert admin_client.get(url).status_code == 200
    assert authenticate_api_key(created.token) is not None  # the confirmation page changes nothing
    response = admin_client.post(url)
    assert response.status_code == 302
    assert authenticate_api_key(created.token) is None
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None
    event = AuditEvent.objects.get(action="api_key.revoke")
    assert (event.actor, event.municipality_id) == (owner, city_a.pk)


def test_unknown_key_uuid_is_404(admin_client: Client) -> None:
    assert admin_client.get(f"{URL}00000000-0000-0000-0000-000000000000/widerrufen/").status_code == 404
    assert admin_client.get(f"{URL}kein-uuid/widerrufen/").status_code == 404
