"""System checks: no demo payment platform in production; a usable pmPayment configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register("dikom")
def check_payment_providers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from dikom.payments.registry import enabled_keys, provider_class

    messages: list[CheckMessage] = []
    for key in enabled_keys():
        provider = provider_class(key)
        if provider is None:
            messages.append(Error(f"DIKOM_PAYMENT_PROVIDERS names an unknown provider {key!r}.", id="payments.E002"))
        elif provider.demo_only and getattr(settings, "IS_PRODUCTION", False):
            messages.append(
                Error(
                    f"The demo payment platform {key!r} must not be enabled in production.",
                    hint="Remove it from DIKOM_PAYMENT_PROVIDERS.",
                    id="payments.E001",
                )
            )
        elif key == "pmpayment":
            from dikom.payments.contrib.pmpayment import configuration_messages

            messages.extend(configuration_messages())
    return messages
