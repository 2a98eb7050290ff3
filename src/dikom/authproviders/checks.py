"""System checks: no demo sign-in in production, no unknown provider keys, provider settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register("dikom")
def check_auth_providers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from dikom.authproviders.registry import enabled_keys, provider_class

    messages: list[CheckMessage] = []
    for key in enabled_keys():
        provider = provider_class(key)
        if provider is None:
            messages.append(Error(f"DIKOM_AUTH_PROVIDERS names an unknown provider {key!r}.", id="authproviders.E002"))
            continue
        if provider.demo_only and getattr(settings, "IS_PRODUCTION", False):
            messages.append(
                Error(
                    f"The demo sign-in provider {key!r} must not be enabled in production.",
                    hint="Remove it from DIKOM_AUTH_PROVIDERS.",
                    id="authproviders.E001",
                )
            )
        elif provider.demo_only and not getattr(settings, "DIKOM_DEMO", False):
            messages.append(
                Warning(
                    f"The demo sign-in provider {key!r} is listed but DIKOM_DEMO is off, so it is not offered.",
                    id="authproviders.W001",
                )
            )
        # Providers with settings of their own check them (e.g. oidc: no http:// issuer in production).
        check_configuration = getattr(provider, "check_configuration", None)
        if callable(check_configuration):
            messages.extend(check_configuration())
    if "bundid" in enabled_keys() and getattr(settings, "IS_PRODUCTION", False):
        backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
        if backend.endswith(("LocMemCache", "DummyCache")):
            messages.append(
                Error(
                    "The BundID sign-in needs a cache shared by all processes (hand-off and rate limits).",
                    hint="Set DIKOM_CACHE_URL to a Redis server.",
                    id="authproviders.E003",
                )
            )
    return messages
