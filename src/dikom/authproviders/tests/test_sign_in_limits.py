"""What anonymous requests to the sign-in addresses may cost: rate limits, what is parked, where replays are kept.

- Start, return and ACS allow DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE requests
  per client address each, then answer 429 with a German page.
- The ACS verifies the SAMLResponse itself and parks only the small result
  (the identity or a refusal code), never the posted document.
- Replay markers of used assertions are database rows, so emptying the cache
  (as memory pressure would) does not make an assertion usable again; a
  periodic job deletes expired markers.
- The OpenID Connect provider turns broken answers of its identity provider
  (JSON nested beyond the parser's stack, unreadable endpoint URLs) into
  refusals, never into server errors.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from dikom.authproviders import handoff
from dikom.authproviders.contrib import oidc
from dikom.authproviders.models import UsedAssertion
from dikom.authproviders.tests.oidc_idp import LocalIdentityProvider
from dikom.authproviders.tests.saml_browser import identity, post_to_acs, sign_in, start
from dikom.lib import periodic
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db

TOO_MANY = "Zu viele Anmeldeversuche von Ihrer Verbindung."


# --- Rate limits ---------------------------------------------------------------------------


def _acs_post(address: str) -> int:
    response = Client(REMOTE_ADDR=address).post(
        "/anmeldung/bundid/acs/", {"SAMLResponse": "eA==", "RelayState": "some-state"}
    )
    if response.status_code == 429:
        assert TOO_MANY in html.unescape(response.content.decode())
        assert int(response["Retry-After"]) >= 1
    return response.status_code


def test_acs_is_limited_per_client_address(idp, settings):
    settings.DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE = 3
    assert [_acs_post("203.0.113.5") for _ in range(4)] == [303, 303, 303, 429]
    # Another client is not affected.
    assert _acs_post("198.51.100.7") == 303


def test_ipv6_clients_are_counted_per_64(idp, settings):
    settings.DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE = 2
    assert _acs_post("2001:db8:1:2::1") == 303
    assert _acs_post("2001:db8:1:2:ffff::9") == 303
    assert _acs_post("2001:db8:1:2::77") == 429
    assert _acs_post("2001:db8:1:3::1") == 303


def test_start_and_return_are_limited_too(idp, settings):
    settings.DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get("/anmeldung/bundid/start/", {"next": "/"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    returns = [client.get("/anmeldung/bundid/rueckkehr/", {"state": "x"}).status_code for _ in range(3)]
    assert returns == [400, 400, 429]
    assert TOO_MANY in html.unescape(client.get("/anmeldung/bundid/rueckkehr/").content.decode())


def test_a_citizen_within_the_limit_signs_in(idp, settings):
    settings.DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE = 1
    client = Client()
    assert sign_in(client, idp).status_code == 302
    assert identity(client) is not None


# --- Nothing large is parked ---------------------------------------------------------------


def _parked(location: str) -> object:
    key = parse_qs(urlsplit(location).query)["handoff"][0]
    return cache.get(handoff.PREFIX + key)


def test_an_unverified_answer_is_not_parked_only_the_reason_of_its_refusal(idp):
    client = Client()
    form = start(client, idp)
    garbage = base64.b64encode(b"<x>" + b"A" * 150_000 + b"</x>").decode()
    parked = _parked(post_to_acs(form, SAMLResponse=garbage)["Location"])
    assert len(repr(parked)) < 1000
    assert "AAAAAAAA" not in repr(parked)


def test_a_genuine_answer_is_parked_as_the_verified_identity_not_as_the_document(idp):
    client = Client()
    form = start(client, idp)
    location = post_to_acs(form)["Location"]
    parked = repr(_parked(location))
    assert form.fields["SAMLResponse"][:40] not in parked
    assert len(parked) < handoff.MAX_RESULT_BYTES
    assert idp.bpk2 not in parked  # the pseudonym only as its hash
    assert client.get(location).status_code == 302
    assert identity(client) is not None


def test_a_body_far_larger_than_any_answer_is_not_read(idp):
    response = Client().post(
        "/anmeldung/bundid/acs/", {"SAMLResponse": "A" * (2 * handoff.MAX_ANSWER_BYTES), "RelayState": "s"}
    )
    assert response.status_code == 413
    assert "Die Antwort des Identitätsdienstes konnte nicht gelesen werden." in response.content.decode()
    assert "sessionid" not in response.cookies


# --- Replay markers in the database --------------------------------------------------------


def test_replay_markers_survive_an_emptied_cache(idp):
    assert sign_in(Client(), idp).status_code == 302
    marker = UsedAssertion.objects.get()
    assert timezone.now() < marker.expires_at <= timezone.now() + dt.timedelta(minutes=5, seconds=61)

    cache.clear()  # what memory pressure on the cache would do
    idp.variant = "replay"
    again = Client()
    response = sign_in(again, idp)
    assert response.status_code == 400
    assert "Diese Antwort des Identitätsdienstes wurde bereits verwendet." in response.content.decode()
    assert identity(again) is None
    assert UsedAssertion.objects.count() == 1


def test_periodic_job_deletes_only_expired_markers():
    now = timezone.now()
    UsedAssertion.objects.create(digest="a" * 64, expires_at=now - dt.timedelta(minutes=1))
    UsedAssertion.objects.create(digest="b" * 64, expires_at=now + dt.timedelta(minutes=5))

    periodic.enqueue(periodic.JOBS["authproviders.assertion_markers"])
    run_task_worker()

    assert list(UsedAssertion.objects.values_list("digest", flat=True)) == ["b" * 64]


# --- OpenID Connect: broken answers of the identity provider are refusals -----------------


@pytest.fixture
def oidc_idp(settings):
    server = LocalIdentityProvider().start()
    settings.SITE_URL = "http://testserver"
    settings.DIKOM_AUTH_PROVIDERS = ["oidc"]
    settings.DIKOM_OIDC_ISSUER = server.issuer
    settings.DIKOM_OIDC_CLIENT_ID = server.client_id
    settings.DIKOM_OIDC_CLIENT_SECRET = server.client_secret
    settings.DIKOM_OIDC_TOKEN_AUTH_METHOD = "client_secret_basic"
    settings.DIKOM_OIDC_SCOPES = ["profile"]
    settings.DIKOM_OIDC_METHODS = ["eid"]
    settings.DIKOM_OIDC_ACR_TRUST_LEVELS = ["urn:test:loa:substantial=substantial"]
    settings.DIKOM_OIDC_DEFAULT_TRUST_LEVEL = None
    settings.DIKOM_OIDC_CLAIMS = []
    settings.DIKOM_OIDC_HTTP_TIMEOUT_SECONDS = 5
    server.redirect_uris = ["http://testserver/anmeldung/oidc/rueckkehr/"]
    oidc.clear_cache(server.issuer)
    yield server
    oidc.clear_cache(server.issuer)
    server.stop()


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "document",
    [NESTED, b'{"issuer": "ISSUER", "authorization_endpoint": "http://[::1", "token_endpoint": "x", "jwks_uri": "y"}'],
    ids=["nested beyond the stack", "unreadable endpoint URL"],
)
def test_broken_discovery_document_is_a_503_page_not_a_server_error(oidc_idp, document):
    oidc_idp.raw_discovery = document.replace(b"ISSUER", oidc_idp.issuer.encode())
    response = Client().get("/anmeldung/oidc/start/", {"next": "/"})
    assert response.status_code == 503
    assert "Der Identitätsdienst ist gerade nicht erreichbar." in html.unescape(response.content.decode())


def test_token_answer_nested_beyond_the_stack_is_a_refusal(oidc_idp):
    client = Client()
    authorize = client.get("/anmeldung/oidc/start/", {"next": "/"})["Location"]
    query = {name: values[0] for name, values in parse_qs(urlsplit(authorize).query).items()}
    oidc_idp.raw_token_answer = NESTED
    response = client.get(
        "/anmeldung/oidc/rueckkehr/", {"code": "any", "state": query["state"], "iss": oidc_idp.issuer}
    )
    assert response.status_code == 400
    assert "Der Identitätsdienst ist gerade nicht erreichbar." in html.unescape(response.content.decode())
    assert oidc_idp.token_requests == 1


def test_an_unforeseen_failure_in_a_provider_is_a_refusal_not_a_server_error(oidc_idp, monkeypatch, caplog):
    # Simulates a bug (no real answer triggers one we know of): the views' last resort must hold anyway.
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(oidc.OidcAuthProvider, "_redeem", broken)
    client = Client()
    authorize = client.get("/anmeldung/oidc/start/", {"next": "/"})["Location"]
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    with caplog.at_level("ERROR"):
        response = client.get("/anmeldung/oidc/rueckkehr/", {"code": "any", "state": state, "iss": oidc_idp.issuer})
    assert response.status_code == 400
    assert "Die Antwort des Identitätsdienstes konnte nicht überprüft werden." in html.unescape(
        response.content.decode()
    )
    assert "failed unexpectedly" in caplog.text
