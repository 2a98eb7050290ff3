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
from django.utils.module_loading import import_string

from dikom.authproviders.base import AuthProvider, trust_rank

#: Every provider class this code base ships, by key (imported on first use, so
#: a provider's libraries load only where it is enabled).
KNOWN: dict[str, str | type[AuthProvider]] = {
    "demo": "dikom.authproviders.contrib.demo.DemoAuthProvider",
    "oidc": "dikom.authproviders.contrib.oidc.OidcAuthProvider",
    "bundid": "dikom.authproviders.contrib.saml.SamlAuthProvider",
}


def provider_class(key: str) -> type[AuthProvider] | None:
    """The class registered under ``key`` (imported now if given as a dotted path), or None."""
    entry = KNOWN.get(key)
    if entry is None or isinstance(entry, type):
        return entry
    loaded: type[AuthProvider] = import_string(entry)
    return loaded


def enabled_keys() -> list[str]:
    configured = getattr(settings, "DIKOM_AUTH_PROVIDERS", None)
    if configured is None:
        return ["demo"] if getattr(settings, "DIKOM_DEMO", False) else []
    return [key for key in configured if key]


def _instantiate(key: str) -> AuthProvider:
    cls = provider_class(key)
    if cls is None:
        raise ImproperlyConfigured(f"DIKOM_AUTH_PROVIDERS names an unknown sign-in provider {key!r}")
    return cls()


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
