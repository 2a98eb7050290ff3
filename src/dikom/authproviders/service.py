"""The surface other apps (the citizen portal) use for citizen sign-in.

- :class:`Identity` and :func:`current_identity`: who signed in, kept in the
  session only, expiring with it or after ``DIKOM_AUTH_IDENTITY_MAX_AGE_SECONDS``.
- :func:`start_url`: where to send a citizen to sign in with a provider.
- :func:`clear_identity`: forget the identity (sign-out).
- ``registry.providers()``, ``registry.get(key)``, ``registry.providers_for(methods, trust_level)``.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from dikom.authproviders.base import METHODS, TRUST_LEVELS, AuthError, AuthProvider, Identity
from dikom.authproviders.registry import get, providers, providers_for

__all__ = [
    "METHODS",
    "TRUST_LEVELS",
    "AuthError",
    "AuthProvider",
    "Identity",
    "clear_identity",
    "current_identity",
    "get",
    "is_safe_return_to",
    "providers",
    "providers_for",
    "start_url",
]

IDENTITY_SESSION_KEY = "dikom.authproviders.identity"
DEFAULT_MAX_AGE_SECONDS = 3600


def max_age() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "DIKOM_AUTH_IDENTITY_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def is_safe_return_to(url: str, *, require_https: bool = False) -> bool:
    """Only same-site paths or URLs of our own hosts are acceptable places to come back to."""
    if not url:
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts=None, require_https=require_https) and url.startswith("/")


def start_url(provider_key: str, return_to: str) -> str:
    """The URL that starts a sign-in with ``provider_key`` and comes back to ``return_to``.

    ``return_to`` must be a same-site path ("/portal/…"); anything else raises ValueError.
    """
    if not is_safe_return_to(return_to):
        raise ValueError("return_to must be a same-site path")
    return reverse("authproviders:start", args=[provider_key]) + "?" + urlencode({"next": return_to})


def store_identity(request: HttpRequest, identity: Identity) -> None:
    request.session[IDENTITY_SESSION_KEY] = identity.to_session()


def current_identity(request: HttpRequest) -> Identity | None:
    """The identity of this session, or None when there is none or it is too old."""
    data = request.session.get(IDENTITY_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        identity = Identity.from_session(data)
    except (KeyError, TypeError, ValueError):
        clear_identity(request)
        return None
    if dt.datetime.now(dt.UTC) - identity.authenticated_at > max_age():
        clear_identity(request)
        return None
    return identity


def clear_identity(request: HttpRequest) -> None:
    request.session.pop(IDENTITY_SESSION_KEY, None)
