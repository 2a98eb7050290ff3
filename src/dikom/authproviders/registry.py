"""Which sign-in providers this installation offers.

``DIKOM_AUTH_PROVIDERS`` lists the enabled provider keys. Unset, only the demo
provider is enabled, and only where ``DIKOM_DEMO`` is on. A demo provider is
never available without ``DIKOM_DEMO``, whatever the list says, and the system
check ``authproviders.E001`` refuses it in production.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dikom.authproviders.base import AuthProvider, trust_rank
from dikom.authproviders.contrib.demo import DemoAuthProvider

#: Every provider class this code base ships, by key. OpenID Connect and SAML2
#: are not here yet: see docs/citizen-sign-in-and-payments.md.
KNOWN: dict[str, type[AuthProvider]] = {
    DemoAuthProvider.key: DemoAuthProvider,
}


def enabled_keys() -> list[str]:
    configured = getattr(settings, "DIKOM_AUTH_PROVIDERS", None)
    if configured is None:
        return ["demo"] if getattr(settings, "DIKOM_DEMO", False) else []
    return [key for key in configured if key]


def _instantiate(key: str) -> AuthProvider:
    try:
        return KNOWN[key]()
    except KeyError:
        raise ImproperlyConfigured(f"DIKOM_AUTH_PROVIDERS names an unknown sign-in provider {key!r}") from None


def providers() -> list[AuthProvider]:
    """The enabled and available providers, in configured order."""
    result = []
    for key in enabled_keys():
        provider = _instantiate(key)
        if provider.demo_only and not getattr(settings, "DIKOM_DEMO", False):
            continue
        if provider.is_available():
            result.append(provider)
    return result


def get(key: str) -> AuthProvider | None:
    """The enabled, available provider with this key, or None."""
    return next((provider for provider in providers() if provider.key == key), None)


def providers_for(methods: Iterable[str], trust_level: str) -> list[AuthProvider]:
    """Providers offering one of ``methods`` at ``trust_level`` or higher."""
    wanted = set(methods)
    trust_rank(trust_level)
    return [provider for provider in providers() if provider.offers(wanted, trust_level)]
