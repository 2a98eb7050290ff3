"""Sign-in throttling: an exponential delay per account that spares the owner's browser,
limits per client across accounts, and a password that is sprayed across accounts.

Clients are told apart by their address (``REMOTE_ADDR``), as the server sees them.
"""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.utils import timezone

from conftest import skip_or_fail
from dikom.accounts.forms import LOGIN_FAILED_MESSAGE, LOGIN_THROTTLED_MESSAGE
from dikom.accounts.tests.factories import UserFactory
from dikom.accounts.throttling import DEVICE_COOKIE
from dikom.audit.models import AuditEvent

LOGIN = "/konto/anmelden/"
WRONG = "Falsches-Passwort-1"


def _client(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _attempt(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _page_text(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def _expire_hold(user) -> None:
    type(user).objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))


def test_delay_doubles_with_every_further_failure_up_to_the_longest(citizen, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 2
    settings.DIKOM_LOGIN_BACKOFF_SECONDS = 60
    settings.DIKOM_LOGIN_LOCKOUT_MINUTES = 3
    attacker = _client("203.0.113.5")
    delays = []
    for _round in range(5):
        _attempt(attacker, "citizen", WRONG)
        citizen.refresh_from_db()
        if citizen.locked_until:
            delays.append(round((citizen.locked_until - timezone.now()).total_seconds() / 10) * 10)
            _expire_hold(citizen)

    assert delays == [60, 120, 180, 180]
    lockouts = AuditEvent.objects.filter(action="auth.lockout", object_id=str(citizen.pk)).order_by("pk")
    assert [event.changes["seconds"] for event in lockouts] == [60, 120, 180, 180]


def test_attempts_during_the_delay_are_not_checked_and_do_not_extend_it(citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 2
    attacker = _client("203.0.113.5")
    for _ in range(2):
        _attempt(attacker, "citizen", WRONG)
    citizen.refresh_from_db()
    held_until, failures = citizen.locked_until, citizen.failed_login_count

    response = _attempt(attacker, "citizen", password)

    assert not _signed_in(attacker)
    assert str(LOGIN_FAILED_MESSAGE) in _page_text(response)
    citizen.refresh_from_db()
    assert (citizen.locked_until, citizen.failed_login_count) == (held_until, failures)


def test_attacker_cannot_keep_the_owner_out_of_a_known_account(citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 3
    # The owner signed in from their browser before and has the trusted-device cookie.
    owner_browser = _client("198.51.100.7")
    assert _attempt(owner_browser, "citizen", password).status_code == 302
    assert DEVICE_COOKIE in owner_browser.cookies
    owner_browser.post("/konto/abmelden/")

    # An attacker elsewhere puts the account on hold ...
    attacker = _client("203.0.113.5")
    for _ in range(3):
        _attempt(attacker, "citizen", WRONG)
    citizen.refresh_from_db()
    assert citizen.is_locked
    # ... which holds up the attacker even with the right password ...
    _attempt(attacker, "citizen", password)
    assert not _signed_in(attacker)
    # ... and a browser that never signed in, but not the owner's browser.
    owner_on_the_same_network = _client("203.0.113.5")
    owner_on_the_same_network.cookies[DEVICE_COOKIE] = owner_browser.cookies[DEVICE_COOKIE].value
    assert _attempt(owner_on_the_same_network, "citizen", password).status_code == 302
    assert _signed_in(owner_on_the_same_network)


def test_trusted_device_cookie_of_another_account_counts_for_nothing(citizen, colleague, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 2
    browser = _client("198.51.100.7")
    _attempt(browser, "citizen", password)
    for _ in range(2):
        _attempt(_client("203.0.113.5"), "colleague", WRONG)

    _attempt(browser, "colleague", password)

    assert AuditEvent.objects.filter(
        action="auth.login_failed", object_id=str(colleague.pk), changes__reason="locked"
    ).exists()
    assert client_user(browser) == citizen.pk


def client_user(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def test_a_trusted_device_that_keeps_failing_is_trusted_no_longer(citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 2
    browser = _client("198.51.100.7")
    _attempt(browser, "citizen", password)
    browser.post("/konto/abmelden/")

    for _ in range(2):
        _attempt(browser, "citizen", WRONG)
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 0  # its own counter, not the account's
    assert AuditEvent.objects.filter(action="auth.trusted_device_distrusted", object_id=str(citizen.pk)).count() == 1

    _attempt(browser, "citizen", WRONG)
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 1  # now it counts like any other browser


def test_one_client_trying_many_accounts_is_refused_unchecked(citizen, password, settings):
    settings.DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS = 3
    sprayer = _client("203.0.113.5")
    for name in ("fulda-admin", "giessen-admin", "marburg-admin"):
        _attempt(sprayer, name, WRONG)

    response = _attempt(sprayer, "citizen", password)

    assert not _signed_in(sprayer)
    assert str(LOGIN_THROTTLED_MESSAGE) in _page_text(response)
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 0  # not even checked
    started = AuditEvent.objects.filter(action="auth.login_throttle_started")
    assert list(started.values_list("changes__reason", flat=True)) == ["client_accounts"]
    # Other clients are not affected.
    assert _attempt(_client("198.51.100.7"), "citizen", password).status_code == 302


def test_one_client_failing_too_often_is_refused_and_audited_once(citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 100
    settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES = 4
    guesser = _client("203.0.113.5")
    for _ in range(4):
        _attempt(guesser, "citizen", WRONG)

    for _ in range(3):
        response = _attempt(guesser, "citizen", password)
        assert str(LOGIN_THROTTLED_MESSAGE) in _page_text(response)
    assert not _signed_in(guesser)
    assert (
        AuditEvent.objects.filter(action="auth.login_throttle_started", changes__reason="client_failures").count() == 1
    )
    # Refused attempts are noted once per window, not one row per request.
    assert AuditEvent.objects.filter(action="auth.login_throttled", changes__reason="client_failures").count() == 1


def test_ipv6_clients_count_by_their_64_network(citizen, password, settings):
    settings.DIKOM_LOGIN_MAX_FAILURES = 100
    settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES = 2
    _attempt(_client("2001:db8:1:2::1"), "citizen", WRONG)
    _attempt(_client("2001:db8:1:2::ffff"), "citizen", WRONG)

    neighbour = _client("2001:db8:1:2:aaaa::5")
    _attempt(neighbour, "citizen", password)
    elsewhere = _client("2001:db8:1:3::1")
    _attempt(elsewhere, "citizen", password)

    assert not _signed_in(neighbour)
    assert _signed_in(elsewhere)


def test_a_password_sprayed_across_accounts_is_refused_for_every_account(db, settings):
    settings.DIKOM_LOGIN_SPRAY_MAX_ACCOUNTS = 3
    sprayed = "Sommer-Ferien-2024!"
    victim = UserFactory(username="victim")
    victim.set_password(sprayed)
    victim.save()
    # Each guess from another address, so no per-client limit applies.
    for number, name in enumerate(("alice", "bob", "carol"), start=1):
        UserFactory(username=name)
        _attempt(_client(f"203.0.113.{number}"), name, sprayed)

    response = _attempt(_client("198.51.100.9"), "victim", sprayed)

    assert str(LOGIN_FAILED_MESSAGE) in _page_text(response)
    victim.refresh_from_db()
    assert victim.failed_login_count == 0  # refused without a check
    assert (
        AuditEvent.objects.filter(action="auth.login_throttle_started", changes__reason="password_spray").count() == 1
    )
    assert AuditEvent.objects.filter(action="auth.login_throttled", changes__reason="password_spray").exists()


def test_unknown_accounts_count_for_the_client_too(db, settings):
    settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES = 3
    prober = _client("203.0.113.5")
    for _ in range(3):
        _attempt(prober, "nobody", WRONG)

    response = _attempt(prober, "nobody", WRONG)

    assert str(LOGIN_THROTTLED_MESSAGE) in _page_text(response)
    assert AuditEvent.objects.filter(action="auth.login_failed", changes__reason="unknown_account").count() == 3


def test_throttles_work_with_the_redis_cache(citizen, password, settings):
    """The same counters in Redis, as with DIKOM_CACHE_URL in production (several processes)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        skip_or_fail("Redis does not run on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            # Unique per run: nothing is cleared, and the counters expire by themselves.
            "KEY_PREFIX": f"dikom-test-{uuid.uuid4().hex}",
        }
    }
    assert isinstance(caches["default"], RedisCache)
    settings.DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS = 2
    sprayer = _client("203.0.113.5")
    for name in ("fulda-admin", "giessen-admin"):
        _attempt(sprayer, name, WRONG)

    response = _attempt(sprayer, "citizen", password)

    assert str(LOGIN_THROTTLED_MESSAGE) in _page_text(response)
    assert _attempt(_client("198.51.100.7"), "citizen", password).status_code == 302


@pytest.mark.parametrize("address", ["", "not-an-address"])
def test_a_client_without_a_usable_address_is_still_counted(citizen, password, settings, address):
    settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES = 1
    settings.DIKOM_LOGIN_MAX_FAILURES = 100
    _attempt(_client(address), "citizen", WRONG)

    response = _attempt(_client(address), "citizen", password)

    assert str(LOGIN_THROTTLED_MESSAGE) in _page_text(response)
