"""Which payment platforms this installation uses.

``DIKOM_PAYMENT_PROVIDERS`` lists enabled keys (first = default). Unset: only
``demo``, and only where DIKOM_DEMO is on. Demo providers are refused in
production by the system check ``payments.E001``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from dikom.payments.base import PaymentProvider

#: Every payment adapter this code base ships, by key (imported on first use).
KNOWN: dict[str, str | type[PaymentProvider]] = {
    "demo": "dikom.payments.contrib.demo.DemoPaymentProvider",
    "pmpayment": "dikom.payments.contrib.pmpayment.PmPaymentProvider",
}


def provider_class(key: str) -> type[PaymentProvider] | None:
    """The class registered under ``key`` (imported now if given as a dotted path), or None."""
    entry = KNOWN.get(key)
    if entry is None or isinstance(entry, type):
        return entry
    loaded: type[PaymentProvider] = import_string(entry)
    return loaded


def enabled_keys() -> list[str]:
    configured = getattr(settings, "DIKOM_PAYMENT_PROVIDERS", None)
    if configured is None:
        return ["demo"] if getattr(settings, "DIKOM_DEMO", False) else []
    return [key for key in configured if key]


def providers() -> list[PaymentProvider]:
    result = []
    for key in enabled_keys():
        cls = provider_class(key)
        if cls is None:
            raise ImproperlyConfigured(f"DIKOM_PAYMENT_PROVIDERS names an unknown payment provider {key!r}")
        provider = cls()
        if provider.demo_only and not getattr(settings, "DIKOM_DEMO", False):
            continue
        if provider.is_available():
            result.append(provider)
    return result


def get(key: str) -> PaymentProvider | None:
    return next((provider for provider in providers() if provider.key == key), None)


def default() -> PaymentProvider | None:
    available = providers()
    return available[0] if available else None
