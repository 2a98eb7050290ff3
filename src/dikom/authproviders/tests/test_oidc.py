"""OpenID Connect sign-in against a local identity provider on 127.0.0.1.

The browser's part is played by Django's test client (dikom) and by urllib
(the identity provider's authorization endpoint, over real HTTP); dikom talks
to the identity provider's discovery, key, token and userinfo endpoints itself.
"""

from __future__ import annotations

import html
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.checks import Error, Warning
from django.test import Client

from dikom.authproviders import registry, service
from dikom.authproviders.base import FLOW_SESSION_KEY, Identity
from dikom.authproviders.checks import check_auth_providers
from dikom.authproviders.contrib import oidc
from dikom.authproviders.tests.oidc_idp import LocalIdentityProvider
from dikom.lib.testing import english_client

NEXT = "/portal/fulda/antrag/"

UNVERIFIABLE = "The identity service's answer could not be verified. Please start again."
EXPIRED = "The identity service's answer has expired. Please start again."
OTHER_ATTEMPT = "The identity service's answer does not belong to this sign-in attempt. Please start again."
CODE_REFUSED = (
    "The identity service did not accept the sign-in code; it may have expired or been used already. "
    "Please start again."
)
UNREACHABLE = "The identity service cannot be reached at the moment. Please try again later."
MISCONFIGURED = "Sign-in with this identity service is not set up correctly. Please try again later."
UNKNOWN_ACR = (
    "The identity service reported a level of authentication this service does not know, "
    "so the sign-in cannot be accepted. Please contact the municipality."
)


@pytest.fixture
def idp() -> Iterator[LocalIdentityProvider]:
    server = LocalIdentityProvider().start()
    yield server
    server.stop()


@pytest.fixture
def configured(settings, idp: LocalIdentityProvider) -> Iterator[LocalIdentityProvider]:
    settings.SITE_URL = "http://testserver"
    settings.DIKOM_AUTH_PROVIDERS = ["oidc"]
    settings.DIKOM_OIDC_ISSUER = idp.issuer
    settings.DIKOM_OIDC_CLIENT_ID = idp.client_id
    settings.DIKOM_OIDC_CLIENT_SECRET = idp.client_secret
    settings.DIKOM_OIDC_TOKEN_AUTH_METHOD = "client_secret_basic"
    settings.DIKOM_OIDC_SCOPES = ["profile", "email"]
    settings.DIKOM_OIDC_METHODS = ["eid", "bundid"]
    settings.DIKOM_OIDC_ACR_TRUST_LEVELS = [
        "urn:test:loa:low=low",
        "urn:test:loa:substantial=substantial",
        "urn:test:loa:high=high",
    ]
    settings.DIKOM_OIDC_DEFAULT_TRUST_LEVEL = None
    settings.DIKOM_OIDC_CLAIMS = ["given_name", "family_name", "email"]
    settings.DIKOM_OIDC_HTTP_TIMEOUT_SECONDS = 5
    idp.redirect_uris = ["http://testserver/anmeldung/oidc/rueckkehr/"]
    oidc.clear_cache(idp.issuer)
    yield idp
    oidc.clear_cache(idp.issuer)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_browser = urllib.request.build_opener(_NoRedirect)


def _start(client: Client, next_url: str = NEXT) -> str:
    """Start a sign-in at dikom; returns the identity provider's authorization URL."""
    response = client.get("/anmeldung/oidc/start/", {"next": next_url})
    assert response.status_code == 302, response.content
    return response["Location"]


def _at_idp(authorize_url: str) -> str:
    """Follow the redirect to the identity provider over real HTTP; returns where it sends the browser back."""
    try:
        _browser.open(authorize_url, timeout=5)
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.read()
        location = answer.headers["Location"]
        answer.close()
        return location
    raise AssertionError("the identity provider did not redirect")


def _return_path(callback: str) -> str:
    """The callback URL as the test client requests it (path and query)."""
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    return f"{parts.path}?{parts.query}"


def _identity(client: Client) -> Identity | None:
    request = type("R", (), {"session": client.session})()
    return service.current_identity(request)


def _message(response) -> str:
    return html.unescape(response.content.decode())


def _refused(client: Client, callback: str, message: str) -> None:
    response = client.get(_return_path(callback))
    assert response.status_code == 400
    assert message in _message(response)
    assert _identity(client) is None
    assert FLOW_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_sign_in_stores_a_pseudonymous_identity_and_returns_to_next(configured):
    idp = configured
    client = english_client()

    authorize_url = _start(client)

    # The citizen goes to the identity provider with PKCE, our state and nonce.
    assert authorize_url.startswith(f"{idp.issuer}/authorize?")
    query = {name: values[0] for name, values in parse_qs(urlsplit(authorize_url).query).items()}
    flow = client.session[FLOW_SESSION_KEY]
    assert query["state"] == flow["state"]
    assert query["nonce"] == flow["nonce"]
    assert query["client_id"] == idp.client_id
    assert query["redirect_uri"] == "http://testserver/anmeldung/oidc/rueckkehr/"
    assert query["response_type"] == "code"
    assert query["scope"].split() == ["openid", "profile", "email"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert "client_secret" not in authorize_url and idp.client_secret not in authorize_url

    callback = _at_idp(authorize_url)
    key_before = client.session.session_key
    response = client.get(_return_path(callback))

    assert response.status_code == 302
    assert response["Location"] == NEXT
    assert client.session.session_key != key_before
    identity = _identity(client)
    assert identity is not None
    assert (identity.provider, identity.method, identity.trust_level) == ("oidc", "eid", "substantial")
    assert identity.subject == oidc.subject_for(idp.issuer, "user-4711")
    assert "user-4711" not in identity.subject
    assert identity.attributes == {"given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.org"}
    # Nothing else reached the session: no tokens, no other claims, no raw sub.
    stored = repr(dict(client.session.items()))
    for unwanted in ("1964-08-12", "+49 661", "Heidestraße", "user-4711", "eyJ", "email_verified"):
        assert unwanted not in stored
    assert FLOW_SESSION_KEY not in client.session
    assert idp.token_requests == 1


@pytest.mark.django_db
def test_client_secret_post(configured, settings):
    configured.token_auth_method = "client_secret_post"
    settings.DIKOM_OIDC_TOKEN_AUTH_METHOD = "client_secret_post"
    client = english_client()
    response = client.get(_return_path(_at_idp(_start(client))))
    assert response.status_code == 302
    assert _identity(client) is not None


@pytest.mark.django_db
def test_wrong_client_secret_is_a_configuration_error(configured, settings):
    settings.DIKOM_OIDC_CLIENT_SECRET = "not-the-secret"
    client = english_client()
    _refused(client, _at_idp(_start(client)), MISCONFIGURED)


@pytest.mark.django_db
def test_wrong_state_is_refused_before_the_code_is_redeemed(configured):
    client = english_client()
    callback = _at_idp(_start(client))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    _refused(client, callback.replace(f"state={state}", "state=forged"), "unknown or has expired")
    assert configured.token_requests == 0


@pytest.mark.django_db
def test_replayed_code_is_refused(configured):
    client = english_client()
    callback = _at_idp(_start(client))
    assert client.get(_return_path(callback)).status_code == 302

    # The same callback again: the attempt is used up (generic views).
    _refused(english_client(), callback, "unknown or has expired")
    # The same code in a fresh attempt (e.g. read from a log by someone else): the identity provider refuses it.
    other = english_client()
    state = parse_qs(urlsplit(_start(other)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replay = "http://testserver/anmeldung/oidc/rueckkehr/?" + urlencode(
        {"code": code, "state": state, "iss": configured.issuer}
    )
    _refused(other, replay, CODE_REFUSED)
    assert configured.token_requests == 2


@pytest.mark.django_db
def test_code_of_another_attempt_fails_pkce(configured):
    # The victim's code, injected into the attacker's own attempt: the PKCE verifier does not fit.
    victim = english_client()
    victim_callback = _at_idp(_start(victim))
    code = parse_qs(urlsplit(victim_callback).query)["code"][0]
    attacker = english_client()
    state = parse_qs(urlsplit(_start(attacker)).query)["state"][0]
    injected = "http://testserver/anmeldung/oidc/rueckkehr/?" + urlencode(
        {"code": code, "state": state, "iss": configured.issuer}
    )
    _refused(attacker, injected, CODE_REFUSED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mode", "message", "reason"),
    [
        ("wrong_nonce", OTHER_ATTEMPT, "nonce of another sign-in attempt"),
        ("wrong_audience", UNVERIFIABLE, "Audience doesn't match"),
        ("several_audiences_without_azp", UNVERIFIABLE, "and azp None"),
        ("wrong_issuer", UNVERIFIABLE, "Invalid issuer"),
        ("expired", EXPIRED, "expired"),
        ("not_yet_valid", UNVERIFIABLE, "not yet valid (nbf)"),
        ("tampered", UNVERIFIABLE, "Signature verification failed"),
        ("foreign_key", UNVERIFIABLE, "Signature verification failed"),
        ("alg_none", UNVERIFIABLE, "refused algorithm 'none'"),
        ("hs256_public_key", UNVERIFIABLE, "refused algorithm 'HS256'"),
    ],
)
def test_unacceptable_id_tokens_are_refused(configured, caplog, mode, message, reason):
    configured.id_token_mode = mode
    client = english_client()
    with caplog.at_level(logging.INFO, logger="dikom.authproviders.contrib.oidc"):
        _refused(client, _at_idp(_start(client)), message)
    assert reason in caplog.text
    assert configured.token_requests == 1


@pytest.mark.django_db
def test_answer_naming_another_issuer_or_none_is_refused(configured):
    # RFC 9207: the identity provider names itself in the answer; a mix-up shows there.
    client = english_client()
    callback = _at_idp(_start(client))
    _refused(client, callback.replace("iss=http", "iss=https"), UNVERIFIABLE)
    client = english_client()
    callback = _at_idp(_start(client))
    without_iss = "&".join(part for part in callback.split("&") if not part.startswith("iss="))
    assert without_iss != callback
    _refused(client, without_iss, UNVERIFIABLE)
    assert configured.token_requests == 0


@pytest.mark.django_db
def test_oversized_key_set_is_not_read(configured):
    configured.oversized_jwks = True
    client = english_client()
    _refused(client, _at_idp(_start(client)), UNREACHABLE)


@pytest.mark.django_db
def test_key_rotation_fetches_the_key_set_again(configured):
    idp = configured
    first = english_client()
    assert first.get(_return_path(_at_idp(_start(first)))).status_code == 302
    assert idp.jwks_requests == 1

    idp.rotate_keys()
    second = english_client()
    response = second.get(_return_path(_at_idp(_start(second))))

    assert response.status_code == 302
    assert _identity(second) is not None
    assert idp.jwks_requests == 2
    # The new key set is cached: the next sign-in needs no fetch.
    third = english_client()
    assert third.get(_return_path(_at_idp(_start(third)))).status_code == 302
    assert idp.jwks_requests == 2


@pytest.mark.django_db
def test_unknown_key_id_is_refused_after_one_fresh_fetch(configured):
    idp = configured
    first = english_client()
    assert first.get(_return_path(_at_idp(_start(first)))).status_code == 302
    idp.id_token_mode = "unknown_kid"
    client = english_client()
    _refused(client, _at_idp(_start(client)), UNVERIFIABLE)
    assert idp.jwks_requests == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("access_denied", "The sign-in was cancelled or refused at the identity service."),
        ("temporarily_unavailable", "The identity service is temporarily unavailable. Please try again later."),
        ("login_required", "could not sign you in without your interaction"),
        ("invalid_scope", MISCONFIGURED),
        ("something_else", "The identity service refused the sign-in. Please start again."),
    ],
)
def test_error_answers_of_the_identity_provider(configured, error, message):
    configured.authorize_error = error
    client = english_client()
    callback = _at_idp(_start(client))
    assert parse_qs(urlsplit(callback).query)["error"] == [error]
    _refused(client, callback, message)
    assert configured.token_requests == 0


@pytest.mark.django_db
def test_token_endpoint_unreachable(configured):
    client = english_client()
    callback = _at_idp(_start(client))
    configured.stop()  # the discovery document is cached; the token request finds nobody
    _refused(client, callback, UNREACHABLE)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_identity_provider_unreachable_at_start(configured, settings):
    settings.DIKOM_OIDC_ISSUER = f"http://127.0.0.1:{_closed_port()}"
    response = english_client().get("/anmeldung/oidc/start/", {"next": NEXT})
    assert response.status_code == 503
    assert UNREACHABLE in _message(response)


@pytest.mark.django_db
def test_discovery_of_another_issuer_is_refused(configured, settings):
    # The document names http://127.0.0.1:<port>, we expect it with a trailing slash: not the same issuer.
    settings.DIKOM_OIDC_ISSUER = configured.issuer + "/"
    response = english_client().get("/anmeldung/oidc/start/", {"next": NEXT})
    assert response.status_code == 503
    assert MISCONFIGURED in _message(response)


@pytest.mark.django_db
@pytest.mark.parametrize("acr", ["urn:other:loa:3", None])
def test_unknown_or_missing_acr_without_default_is_refused(configured, acr):
    configured.user.acr = acr
    client = english_client()
    _refused(client, _at_idp(_start(client)), UNKNOWN_ACR)


@pytest.mark.django_db
def test_unknown_acr_with_default_trust_level(configured, settings):
    configured.user.acr = "urn:other:loa:3"
    settings.DIKOM_OIDC_DEFAULT_TRUST_LEVEL = "low"
    client = english_client()
    assert client.get(_return_path(_at_idp(_start(client)))).status_code == 302
    identity = _identity(client)
    assert identity is not None and identity.trust_level == "low"


@pytest.mark.django_db
def test_mapped_acr_sets_the_trust_level(configured):
    configured.user.acr = "urn:test:loa:high"
    client = english_client()
    client.get(_return_path(_at_idp(_start(client))))
    identity = _identity(client)
    assert identity is not None and identity.meets("high")


@pytest.mark.django_db
def test_claims_only_from_userinfo_are_filtered_too(configured):
    configured.claims_in_id_token = False
    client = english_client()
    assert client.get(_return_path(_at_idp(_start(client)))).status_code == 302
    identity = _identity(client)
    assert identity is not None
    assert identity.attributes == {"given_name": "Erika", "family_name": "Mustermann", "email": "erika@example.org"}


@pytest.mark.django_db
def test_claim_allow_list_is_configurable(configured, settings):
    settings.DIKOM_OIDC_CLAIMS = ["email", "email_verified", "address"]
    client = english_client()
    client.get(_return_path(_at_idp(_start(client))))
    identity = _identity(client)
    assert identity is not None
    # Structured claims (address) are not kept as text; booleans become "true"/"false".
    assert identity.attributes == {"email": "erika@example.org", "email_verified": "true"}


@pytest.mark.django_db
def test_not_offered_without_client_configuration(configured, settings):
    assert [p.key for p in registry.providers()] == ["oidc"]
    settings.DIKOM_OIDC_CLIENT_SECRET = None
    assert registry.providers() == []
    assert english_client().get("/anmeldung/oidc/start/", {"next": NEXT}).status_code == 404
    assert configured.token_requests == 0


def test_methods_and_trust_level_come_from_settings(settings):
    settings.DIKOM_OIDC_METHODS = ["elster"]
    settings.DIKOM_OIDC_ACR_TRUST_LEVELS = ["urn:a=low", "urn:b=substantial"]
    settings.DIKOM_OIDC_DEFAULT_TRUST_LEVEL = None
    settings.DIKOM_OIDC_LABEL = "Servicekonto der Stadt Fulda"
    provider = oidc.OidcAuthProvider()
    assert provider.methods == ("elster",)
    assert provider.max_trust_level == "substantial"
    assert str(provider.label) == "Servicekonto der Stadt Fulda"
    assert provider.offers({"elster"}, "substantial")
    assert not provider.offers({"elster"}, "high")
    assert not provider.offers({"eid"}, "low")


def test_code_verifier_is_bound_to_the_state_and_the_secret_key(settings):
    verifier = oidc._code_verifier("state-1")
    assert 43 <= len(verifier) <= 128
    assert verifier != oidc._code_verifier("state-2")
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert verifier != oidc._code_verifier("state-1")


def _oidc_settings(settings, **overrides):
    settings.DIKOM_AUTH_PROVIDERS = ["oidc"]
    values = {
        "DIKOM_OIDC_ISSUER": "https://id.fulda.example/realms/buerger",
        "DIKOM_OIDC_CLIENT_ID": "dikom",
        "DIKOM_OIDC_CLIENT_SECRET": "secret",
        "DIKOM_OIDC_METHODS": ["eid"],
        "DIKOM_OIDC_ACR_TRUST_LEVELS": ["urn:a=low"],
        "DIKOM_OIDC_DEFAULT_TRUST_LEVEL": None,
        "DIKOM_OIDC_TOKEN_AUTH_METHOD": "client_secret_basic",
    }
    values.update(overrides)
    for name, value in values.items():
        setattr(settings, name, value)


def _ids(kind):
    return [message.id for message in check_auth_providers() if isinstance(message, kind)]


def test_system_check_refuses_http_issuer_in_production(settings):
    _oidc_settings(settings, DIKOM_OIDC_ISSUER="http://id.fulda.example/realms/buerger")
    settings.IS_PRODUCTION = True
    assert _ids(Error) == ["authproviders.E102"]
    settings.IS_PRODUCTION = False
    assert _ids(Error) == []
    settings.IS_PRODUCTION = True
    _oidc_settings(settings)
    assert check_auth_providers() == []


def test_system_check_reports_unusable_settings(settings):
    _oidc_settings(
        settings,
        DIKOM_OIDC_ISSUER="file:///etc/passwd",
        DIKOM_OIDC_METHODS=["eid", "passport"],
        DIKOM_OIDC_ACR_TRUST_LEVELS=["urn:a=medium", "no-separator"],
        DIKOM_OIDC_TOKEN_AUTH_METHOD="private_key_jwt",
    )
    assert _ids(Error) == ["authproviders.E101", "authproviders.E103", "authproviders.E104", "authproviders.E105"]
    _oidc_settings(settings, DIKOM_OIDC_CLIENT_SECRET=None)
    assert _ids(Warning) == ["authproviders.W101"]
    assert _ids(Error) == []


@pytest.mark.parametrize(
    ("entries", "table", "bad"),
    [
        (["urn:a=low", " urn:b = high "], {"urn:a": "low", "urn:b": "high"}, []),
        (["https://idp.example/loa?level=2=substantial"], {"https://idp.example/loa?level=2": "substantial"}, []),
        (["urn:a=medium", "=low", "urn:c"], {}, ["urn:a=medium", "=low", "urn:c"]),
    ],
)
def test_parse_acr_levels(entries, table, bad):
    assert oidc.parse_acr_levels(entries) == (table, bad)
