"""API key checks: ``authenticate_api_key`` (models, for Django's stack) and ``grant_of_api_key``
(four columns, for the ingestion fast path) must agree on every key state, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dikom.accounts.actions import create_api_key, revoke_api_key
from dikom.accounts.models import ApiKey
from dikom.accounts.service import KeyGrant, authenticate_api_key, grant_of_api_key
from dikom.municipalities.tests.factories import MunicipalityFactory

pytestmark = pytest.mark.django_db

SCOPES = ["analytics:ingest", "municipality:read"]


def both(token: str) -> tuple[ApiKey | None, KeyGrant | None]:
    return authenticate_api_key(token), grant_of_api_key(token)


def test_an_active_key_grants_its_municipality_and_scopes() -> None:
    city = MunicipalityFactory()
    created = create_api_key(municipality=city, name="Formularserver", scopes=SCOPES)

    api_key, grant = both(created.token)

    assert api_key is not None and api_key.pk == created.api_key.pk
    assert grant == KeyGrant(created.api_key.prefix, city.pk, frozenset(SCOPES))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # wrong secret
        lambda token: "dk_000000000000_" + token.rsplit("_", 1)[1],  # unknown prefix
        lambda token: token.replace("dk_", "xx_", 1),  # not a dikom key
        lambda token: token.rsplit("_", 1)[0] + "_",  # no secret
        lambda token: token + "x" * 200,  # far too long
        lambda token: "",
    ],
    ids=["wrong-secret", "unknown-prefix", "foreign-format", "no-secret", "too-long", "empty"],
)
def test_a_wrong_token_is_refused_by_both(mangle: object) -> None:
    created = create_api_key(municipality=MunicipalityFactory(), name="Formularserver", scopes=SCOPES)

    assert both(mangle(created.token)) == (None, None)  # type: ignore[operator]


def test_a_revoked_key_is_refused_by_the_very_next_request() -> None:
    created = create_api_key(municipality=MunicipalityFactory(), name="Formularserver", scopes=SCOPES)
    assert grant_of_api_key(created.token) is not None

    revoke_api_key(api_key=created.api_key)

    assert both(created.token) == (None, None)


def test_an_expired_key_is_refused_and_one_about_to_expire_still_works() -> None:
    city = MunicipalityFactory()
    now = timezone.now()
    expired = create_api_key(municipality=city, name="alt", scopes=SCOPES, expires_at=now - timedelta(seconds=1))
    expiring = create_api_key(municipality=city, name="neu", scopes=SCOPES, expires_at=now + timedelta(minutes=5))

    assert both(expired.token) == (None, None)
    api_key, grant = both(expiring.token)
    assert api_key is not None and grant is not None and grant.prefix == expiring.api_key.prefix


def test_the_last_use_is_recorded_at_most_once_a_minute() -> None:
    created = create_api_key(municipality=MunicipalityFactory(), name="Formularserver", scopes=SCOPES)
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at is None

    grant_of_api_key(created.token)
    first = ApiKey.objects.get(pk=created.api_key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=30)

    grant_of_api_key(created.token)  # within the minute: not written again
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at == first

    an_hour_ago = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=created.api_key.pk).update(last_used_at=an_hour_ago)
    grant_of_api_key(created.token)
    assert ApiKey.objects.get(pk=created.api_key.pk).last_used_at > an_hour_ago  # type: ignore[operator]


def test_the_grant_names_the_keys_own_municipality() -> None:
    fulda, giessen = MunicipalityFactory(), MunicipalityFactory()
    key_fulda = create_api_key(municipality=fulda, name="Formularserver", scopes=SCOPES)
    key_giessen = create_api_key(municipality=giessen, name="Formularserver", scopes=["municipality:read"])

    grant_fulda, grant_giessen = grant_of_api_key(key_fulda.token), grant_of_api_key(key_giessen.token)

    assert grant_fulda is not None and grant_fulda.municipality_id == fulda.pk
    assert grant_giessen is not None and grant_giessen.municipality_id == giessen.pk
    assert grant_giessen.scopes == frozenset({"municipality:read"})
