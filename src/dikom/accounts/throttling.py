"""Counters that slow down password guessing, kept in the Django cache.

The policy (docs/accounts-and-security.md, "Sign-in throttling") has four parts:

- **per account** (in the database, ``actions.register_failed_login``): after
  ``DIKOM_LOGIN_MAX_FAILURES`` failures in a row an account is only checked again after a
  delay that doubles with every further failure, up to ``DIKOM_LOGIN_LOCKOUT_MINUTES``;
- **trusted devices**: a browser that completed a sign-in of the account carries a signed
  cookie. For it the account's delay does not apply, only a counter of its own, so nobody
  can keep a known account such as ``fulda-admin`` locked for its real owner;
- **per client** (IP address, IPv6 by /64 network): too many failures, or failures for too
  many different accounts, within ``DIKOM_LOGIN_CLIENT_WINDOW_MINUTES`` and that client's
  attempts are refused without checking anything;
- **per password, across all clients**: a wrong password that failed for many different
  accounts within an hour is being sprayed; it is refused for every account without a check.

The steps around the password have limits of their own: wrong second-factor codes per client
(``DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES``), and password-reset requests per client and per
e-mail address (``DIKOM_PASSWORD_RESET_*``), counted whether an account has the address or not.

Keys never hold a raw address, account name or password: each is a keyed hash (HMAC with the
secret key), and every counter expires. Counters use ``cache.add`` + ``cache.incr``, which
are atomic in Redis and good enough in the memory cache of a single process.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import salted_hmac

from dikom.lib.clients import client_network

DEVICE_COOKIE = "dikom_device"
_DEVICE_SALT = "dikom.accounts.trusted-device"
_KEY_SALT = "dikom.accounts.login-throttle"
_PREFIX = "dikom:login:"
SPRAY_WINDOW = timedelta(hours=1)


class Refusal(enum.Enum):
    """Why an attempt was refused before the password was checked."""

    CLIENT_FAILURES = "client_failures"
    CLIENT_ACCOUNTS = "client_accounts"
    PASSWORD_SPRAY = "password_spray"  # noqa: S105 - a reason, not a password
    SECOND_FACTOR_CLIENT = "second_factor_client"
    PASSWORD_RESET_CLIENT = "password_reset_client"  # noqa: S105 - a reason, not a password
    PASSWORD_RESET_ACCOUNT = "password_reset_account"  # noqa: S105 - a reason, not a password


def _hashed(value: str) -> str:
    return salted_hmac(_KEY_SALT, value).hexdigest()[:32]


def _client_window() -> int:
    return settings.DIKOM_LOGIN_CLIENT_WINDOW_MINUTES * 60


def _count(key: str, timeout: int) -> int:
    """Increment a counter that expires ``timeout`` seconds after its first increment."""
    cache.add(key, 0, timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        return 1


def _count_distinct(set_key: str, member: str, timeout: int) -> int:
    """The number of distinct ``member`` values seen for ``set_key`` (with this one)."""
    if cache.add(f"{set_key}:{_hashed(member)}", 1, timeout):
        return _count(f"{set_key}:n", timeout)
    return int(cache.get(f"{set_key}:n") or 0)


@dataclass(frozen=True)
class LoginClient:
    """Who is trying: the client network (hashed) and the trusted-device cookie, if any."""

    key: str
    device_user_id: int | None = None
    device_id: str | None = None

    def trusted_for(self, user: Any) -> bool:
        """Whether this browser completed a sign-in of ``user`` and has not failed too often since."""
        if self.device_id is None or user is None or self.device_user_id != user.pk:
            return False
        return int(cache.get(f"{_PREFIX}device:{self.device_id}") or 0) < settings.DIKOM_LOGIN_MAX_FAILURES


def login_client(request: HttpRequest) -> LoginClient:
    key = _hashed(client_network(request))
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return LoginClient(key)
    try:
        value = signing.loads(raw, salt=_DEVICE_SALT, max_age=timedelta(days=settings.DIKOM_LOGIN_DEVICE_DAYS))
        return LoginClient(key, device_user_id=int(value["u"]), device_id=str(value["d"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return LoginClient(key)


def refusal_for(client: LoginClient, password: str) -> Refusal | None:
    """Why an attempt from ``client`` with ``password`` is refused unchecked, or None."""
    if int(cache.get(f"{_PREFIX}client:{client.key}:failures") or 0) >= settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES:
        return Refusal.CLIENT_FAILURES
    if int(cache.get(f"{_PREFIX}client:{client.key}:accounts:n") or 0) >= settings.DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS:
        return Refusal.CLIENT_ACCOUNTS
    spray = int(cache.get(f"{_PREFIX}spray:{_hashed(password)}:n") or 0)
    if spray >= settings.DIKOM_LOGIN_SPRAY_MAX_ACCOUNTS:
        return Refusal.PASSWORD_SPRAY
    return None


def first_refusal_in_window(client: LoginClient, refusal: Refusal) -> bool:
    """True once per client, reason and window: the audit log notes the start of a throttle,
    not every refused request (which an attacker could send by the thousand)."""
    return bool(cache.add(f"{_PREFIX}refused:{client.key}:{refusal.value}", 1, _client_window()))


@dataclass(frozen=True)
class FailureSignals:
    """Throttles that the failure just switched on (each reported once, to be audited)."""

    client_failures: bool = False
    client_accounts: bool = False
    password_spray: bool = False
    device_distrusted: bool = False


def note_failure(client: LoginClient, *, identifier: str, password: str, trusted_user: Any = None) -> FailureSignals:
    """Count a failed attempt for the client, the account name and the password.

    ``trusted_user``: the user whose trusted device failed; its own counter goes up instead of
    the account's delay (which the caller keeps in the database).
    """
    window = _client_window()
    account = identifier.strip().lower()
    failures = _count(f"{_PREFIX}client:{client.key}:failures", window)
    accounts = _count_distinct(f"{_PREFIX}client:{client.key}:accounts", account, window)
    sprayed = _count_distinct(f"{_PREFIX}spray:{_hashed(password)}", account, int(SPRAY_WINDOW.total_seconds()))
    distrusted = False
    if trusted_user is not None and client.device_id is not None:
        device_failures = _count(f"{_PREFIX}device:{client.device_id}", settings.DIKOM_LOGIN_LOCKOUT_MINUTES * 60)
        distrusted = device_failures == settings.DIKOM_LOGIN_MAX_FAILURES
    return FailureSignals(
        client_failures=failures == settings.DIKOM_LOGIN_CLIENT_MAX_FAILURES,
        client_accounts=accounts == settings.DIKOM_LOGIN_CLIENT_MAX_ACCOUNTS,
        password_spray=sprayed == settings.DIKOM_LOGIN_SPRAY_MAX_ACCOUNTS,
        device_distrusted=distrusted,
    )


def forget_device_failures(client: LoginClient) -> None:
    if client.device_id is not None:
        cache.delete(f"{_PREFIX}device:{client.device_id}")


def remember_device(response: HttpResponseBase, request: HttpRequest, user: Any) -> None:
    """Give the browser that just completed a sign-in of ``user`` a trusted-device cookie.

    It keeps its device id across sign-ins (so its failure counter stays its own) unless it
    belonged to another user.
    """
    client = login_client(request)
    device_id = client.device_id if client.device_user_id == user.pk and client.device_id else None
    value = signing.dumps({"u": user.pk, "d": device_id or secrets.token_urlsafe(16)}, salt=_DEVICE_SALT)
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=settings.DIKOM_LOGIN_DEVICE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
        path="/konto/",
    )


def second_factor_refused(client: LoginClient) -> bool:
    """Whether ``client`` entered too many wrong second-factor codes (for any accounts) lately."""
    failures = int(cache.get(f"{_PREFIX}2fa:{client.key}:failures") or 0)
    return failures >= settings.DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES


def note_second_factor_failure(client: LoginClient) -> bool:
    """Count a wrong second-factor code of ``client``; True when this one switched its throttle on."""
    failures = _count(f"{_PREFIX}2fa:{client.key}:failures", _client_window())
    return failures == settings.DIKOM_TWO_FACTOR_CLIENT_MAX_FAILURES


def count_password_reset(client: LoginClient, email: str) -> Refusal | None:
    """Count a password-reset request of ``client`` for ``email``, or say why it is refused.

    The address is counted whether an account has it or not, so a refusal tells nothing about
    accounts. Refused requests are not counted (a flood does not extend the throttle).
    """
    client_key = f"{_PREFIX}reset:client:{client.key}"
    account_key = f"{_PREFIX}reset:account:{_hashed(email.strip().lower())}"
    if int(cache.get(client_key) or 0) >= settings.DIKOM_PASSWORD_RESET_CLIENT_MAX_REQUESTS:
        return Refusal.PASSWORD_RESET_CLIENT
    if int(cache.get(account_key) or 0) >= settings.DIKOM_PASSWORD_RESET_ACCOUNT_MAX_REQUESTS:
        return Refusal.PASSWORD_RESET_ACCOUNT
    _count(client_key, _client_window())
    _count(account_key, int(SPRAY_WINDOW.total_seconds()))
    return None
