"""The surface other apps (the citizen portal) use for payments.

``create_payment`` is idempotent per key; ``start_url`` is where to send the
citizen, after ``bind_to_session`` has given the owner's session access (the
payment pages answer no one else, ``access.py``); ``get_payment`` looks a
payment up; ``is_paid`` answers for the whole chain of attempts (a retry after
a failure is a new, linked Payment).
"""

from __future__ import annotations

import uuid as uuid_module

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from dikom.municipalities.models import Municipality
from dikom.payments import actions, registry
from dikom.payments.access import bind_to_session
from dikom.payments.models import Payment, PaymentEvent, PaymentMethod, PaymentStatus

__all__ = [
    "Payment",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentStatus",
    "bind_to_session",
    "create_payment",
    "get_payment",
    "is_paid",
    "latest_attempt",
    "start_url",
]


def create_payment(
    *,
    municipality: Municipality,
    amount_cents: int,
    description: str,
    reference: str,
    return_url: str,
    idempotency_key: str,
    provider_key: str | None = None,
) -> Payment:
    """One Payment per ``idempotency_key``: calling again returns the same one.

    Raises ValidationError for a non-positive amount or a key reused for another amount.
    """
    if provider_key is None:
        provider = registry.default()
        if provider is None:
            raise ImproperlyConfigured("No payment provider is enabled (DIKOM_PAYMENT_PROVIDERS)")
        provider_key = provider.key
    elif registry.get(provider_key) is None:
        raise ImproperlyConfigured(f"Payment provider {provider_key!r} is not enabled")
    return actions.create_payment(
        municipality=municipality,
        amount_cents=amount_cents,
        description=description,
        reference=reference,
        return_url=return_url,
        idempotency_key=idempotency_key,
        provider_key=provider_key,
    )


def start_url(payment: Payment) -> str:
    return reverse("payments:start", args=[payment.uuid])


def get_payment(uuid: uuid_module.UUID | str) -> Payment | None:
    try:
        value = uuid if isinstance(uuid, uuid_module.UUID) else uuid_module.UUID(str(uuid))
    except ValueError:
        return None
    return Payment.objects.select_related("municipality").filter(uuid=value).first()


def latest_attempt(payment: Payment) -> Payment:
    return actions.attempt_chain(payment)[-1]


def is_paid(payment: Payment) -> bool:
    """True when this payment or any retry of it is paid."""
    return any(p.status == PaymentStatus.PAID for p in actions.attempt_chain(payment))
