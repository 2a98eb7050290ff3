"""Throttles of the steps around the password: password-reset requests (per client and per
address, telling nothing about accounts) and wrong second-factor codes per client.

Clients are told apart by their address (``REMOTE_ADDR``), as the server sees them.
"""

from __future__ import annotations

from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dikom.accounts.forms import PASSWORD_RESET_THROTTLED_MESSAGE, SECOND_FACTOR_THROTTLED_MESSAGE
from dikom.accounts.tests.factories import UserFactory
from dikom.accounts.tests.test_two_factor import code_for
from dikom.audit.models import AuditEvent

RESET = "/konto/passwort-vergessen/"
LOGIN = "/konto/anmelden/"
VERIFY = "/konto/zwei-faktor/pruefen/"
DONE = "/konto/passwort-vergessen/gesendet/"


def _page_text(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def _reset(client: Client, email: str):
    return client.post(RESET, {"email": email})


def test_reset_requests_per_address_are_limited_whether_an_account_has_it_or_not(client, citizen, settings):
    settings.DIKOM_PASSWORD_RESET_ACCOUNT_MAX_REQUESTS = 2
    for address in ("203.0.113.1", "203.0.113.2"):
        assert _reset(Client(REMOTE_ADDR=address), "citizen@example.org")["Location"] == DONE
        assert _reset(Client(REMOTE_ADDR=address), "nobody@example.org")["Location"] == DONE
    assert len(mail.outbox) == 2

    # A third client: the same refusal for the known and the unknown address, and no mail.
    other = Client(REMOTE_ADDR="198.51.100.7")
    known, unknown = _reset(other, "CITIZEN@example.org"), _reset(other, "nobody@example.org")

    assert known.status_code == unknown.status_code == 200
    assert str(PASSWORD_RESET_THROTTLED_MESSAGE) in _page_text(known)
    assert str(PASSWORD_RESET_THROTTLED_MESSAGE) in _page_text(unknown)
    assert len(mail.outbox) == 2
    # Another address is not held up.
    UserFactory(username="other", email="other@example.org")
    assert _reset(other, "other@example.org")["Location"] == DONE
    assert len(mail.outbox) == 3


def test_reset_requests_per_client_are_limited_and_the_start_is_audited(client, citizen, settings):
    settings.DIKOM_PASSWORD_RESET_CLIENT_MAX_REQUESTS = 3
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(3):
        assert _reset(attacker, f"guess{number}@example.org")["Location"] == DONE

    refused = _reset(attacker, "citizen@example.org")
    _reset(attacker, "citizen@example.org")

    assert refused.status_code == 200
    assert str(PASSWORD_RESET_THROTTLED_MESSAGE) in _page_text(refused)
    assert mail.outbox == []
    started = AuditEvent.objects.filter(action="auth.login_throttle_started")
    assert [event.changes["reason"] for event in started] == ["password_reset_client"]
    # The owner, elsewhere, still gets the link.
    assert _reset(Client(REMOTE_ADDR="198.51.100.7"), "citizen@example.org")["Location"] == DONE
    assert len(mail.outbox) == 1


def test_reset_page_in_german_shows_the_throttle(client, citizen, settings):
    settings.DIKOM_PASSWORD_RESET_CLIENT_MAX_REQUESTS = 1
    german = Client(REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT_LANGUAGE="de")
    _reset(german, "a@example.org")
    response = _reset(german, "b@example.org")
    assert "Zu viele Anfragen" in _page_text(response)


def _signed_in_to_code_step(address: str, user, password: str) -> Client:
    browser = Client(REMOTE_ADDR=address)
    response = browser.post(LOGIN, {"username": user.username, "password": password})
    assert response.status_code == 302 and response["Location"].startswith(VERIFY), response
    return browser


def test_wrong_codes_from_one_client_across_accounts_are_limited(db, password, settings, no_otp_throttling):
    settings.DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES = 3
    users = [UserFactory(username=f"user{n}") for n in range(3)]
    devices = [TOTPDevice.objects.create(user=user, name="phone", confirmed=True) for user in users]
    attacker = "203.0.113.5"
    # One wrong code each, for accounts whose passwords the attacker has: no account's own
    # counter is near its limit, but the client's is reached.
    for user in users:
        browser = _signed_in_to_code_step(attacker, user, password)
        browser.post(VERIFY, {"token": "000000"})

    browser = _signed_in_to_code_step(attacker, users[0], password)
    refused = browser.post(VERIFY, {"token": code_for(devices[0])})

    assert refused.status_code == 200
    assert str(SECOND_FACTOR_THROTTLED_MESSAGE) in _page_text(refused)
    assert not browser.session.get("otp_device_id")
    reasons = [e.changes["reason"] for e in AuditEvent.objects.filter(action__startswith="auth.login_throttle")]
    assert reasons == ["second_factor_client", "second_factor_client"]  # switched on, then the first refusal
    # The account's owner, from another network, is not held up.
    owner = _signed_in_to_code_step("198.51.100.7", users[0], password)
    assert owner.post(VERIFY, {"token": code_for(devices[0])}).status_code == 302
    assert owner.session.get("otp_device_id")
