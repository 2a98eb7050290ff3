"""Citizen sign-in through the demo provider, and provider selection."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.checks import Error
from django.test import Client

from dikom.authproviders import registry, service
from dikom.authproviders.base import AuthProvider
from dikom.authproviders.checks import check_auth_providers


@pytest.fixture
def demo_on(settings):
    settings.DIKOM_DEMO = True
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    return settings


def _begin(client: Client, next_url: str = "/portal/fulda/") -> str:
    response = client.get(service.start_url("demo", "/portal/fulda/").replace("%2Fportal%2Ffulda%2F", next_url))
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query)["state"][0]


def _demo_answer(client: Client, state: str, **fields: str) -> str:
    data = {"method": "bundid", "trust_level": "substantial", "given_name": "Erika", "family_name": "Mustermann"}
    data.update(fields)
    response = client.post("/anmeldung/demo/formular/", {**data, "state": state})
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.django_db
def test_demo_sign_in_stores_identity_and_rotates_session(demo_on):
    client = Client()
    state = _begin(client)
    page = client.get(f"/anmeldung/demo/formular/?state={state}")
    assert "keine echte Identitätsprüfung" in page.content.decode() or "no real identity check" in page.content.decode()
    callback = _demo_answer(client, state, method="elster", trust_level="high")
    key_before = client.session.session_key

    response = client.get(callback)

    assert response.status_code == 302
    assert response["Location"] == "/portal/fulda/"
    assert client.session.session_key != key_before
    request = type("R", (), {"session": client.session})()
    identity = service.current_identity(request)
    assert identity is not None
    assert (identity.provider, identity.method, identity.trust_level) == ("demo", "elster", "high")
    assert identity.attributes == {"given_name": "Erika", "family_name": "Mustermann"}
    assert identity.subject.startswith("demo-") and "Erika" not in identity.subject
    # The code is single-use: replaying the callback fails.
    assert client.get(callback).status_code == 400


@pytest.mark.django_db
def test_state_mismatch_is_refused(demo_on):
    client = Client()
    state = _begin(client)
    callback = _demo_answer(client, state)
    tampered = callback.replace(f"state={state}", "state=forged")
    response = client.get(tampered)
    assert response.status_code == 400
    assert service.IDENTITY_SESSION_KEY not in client.session
    # The attempt is gone too: the real state no longer works afterwards.
    assert client.get(callback).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_unsafe_next_is_ignored(demo_on, unsafe):
    client = Client()
    response = client.get("/anmeldung/demo/start/", {"next": unsafe})
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    response = client.get(_demo_answer(client, state))
    assert response["Location"] == "/"
    with pytest.raises(ValueError):
        service.start_url("demo", unsafe)


@pytest.mark.django_db
def test_identity_expires(demo_on, settings):
    client = Client()
    client.get(_demo_answer(client, _begin(client)))
    settings.DIKOM_AUTH_IDENTITY_MAX_AGE_SECONDS = -1
    request = type("R", (), {"session": client.session})()
    assert service.current_identity(request) is None


@pytest.mark.django_db
def test_sign_out_needs_post_and_clears_identity(demo_on):
    client = Client()
    client.get(_demo_answer(client, _begin(client)))
    assert client.get("/anmeldung/abmelden/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/anmeldung/abmelden/").status_code == 403  # no CSRF token
    assert client.post("/anmeldung/abmelden/", {"next": "/portal/"})["Location"] == "/portal/"
    assert service.IDENTITY_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_demo_unavailable_without_demo_mode(settings):
    settings.DIKOM_DEMO = False
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    client = Client()
    assert registry.providers() == []
    assert client.get("/anmeldung/demo/start/?next=/").status_code == 404
    assert client.get("/anmeldung/demo/formular/").status_code == 404


def test_demo_refused_in_production(settings):
    settings.IS_PRODUCTION = True
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    assert [m.id for m in check_auth_providers() if isinstance(m, Error)] == ["authproviders.E001"]
    settings.IS_PRODUCTION = False
    settings.DIKOM_DEMO = True
    assert check_auth_providers() == []


class _Elster(AuthProvider):
    key = "elster-test"
    label = "ELSTER"
    methods = ("elster",)
    max_trust_level = "substantial"


class _Bund(AuthProvider):
    key = "bund-test"
    label = "BundID"
    methods = ("bundid", "eid")
    max_trust_level = "high"


def test_providers_for_filters_by_method_and_trust_level(settings, monkeypatch):
    monkeypatch.setitem(registry.KNOWN, "elster-test", _Elster)
    monkeypatch.setitem(registry.KNOWN, "bund-test", _Bund)
    settings.DIKOM_AUTH_PROVIDERS = ["elster-test", "bund-test"]

    def keys(methods, level):
        return [p.key for p in registry.providers_for(methods, level)]

    assert keys(["elster"], "low") == ["elster-test"]
    assert keys(["elster"], "high") == []
    assert keys(["elster", "eid"], "substantial") == ["elster-test", "bund-test"]
    assert keys(["eid"], "high") == ["bund-test"]
    assert keys(["eu_wallet"], "none") == []
    with pytest.raises(ValueError):
        registry.providers_for(["eid"], "very high")
