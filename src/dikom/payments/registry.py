"""Which payment platforms this installation uses.

``DIKOM_PAYMENT_PROVIDERS`` lists enabled keys (first = default). Unset: only
``demo``, and only where DIKOM_DEMO is on. Demo providers are refused in
production by the system check ``payments.E001``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dikom.payments.base import PaymentProvider
from dikom.payments.contrib.demo import DemoPaymentProvider

KNOWN: dict[str, type[PaymentProvider]] = {
    DemoPaymentProvider.key: DemoPaymentProvider,
}


def enabled_keys() -> list[str]:
    configured = getattr(settings, "DIKOM_PAYMENT_PROVIDERS", None)
    if configured is None:
        return ["demo"] if getattr(settings, "DIKOM_DEMO", False) else []
    return [key for key in configured if key]


def providers() -> list[PaymentProvider]:
    result = []
    for key in enabled_keys():
        if key not in KNOWN:
            raise ImproperlyConfigured(f"DIKOM_PAYMENT_PROVIDERS names an unknown payment provider {key!r}")
        provider = KNOWN[key]()
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
