"""The only code that changes payments. Every change runs under a row lock.

Rules that keep a citizen from being charged twice:

- One Payment per idempotency key (unique constraint; a concurrent second
  create finds the first).
- ``paid`` is final: nothing moves a paid payment, a late "failed" is ignored
  and logged.
- The same status reported twice (return and notification, or a repeated
  notification) changes nothing the second time.
- A retry is a new attempt linked to the previous one and keeping its
  reference. It is only created when no attempt of the chain is paid and the
  latest attempt can no longer complete: failed or cancelled (the platform
  said so), or pending past ``DIKOM_PAYMENT_PENDING_TIMEOUT_SECONDS`` *and*
  the provider confirms the platform will not complete it any more
  (``attempt_closed``), in which case it is marked expired first.
- Should a platform still report money for a failed, cancelled or expired
  attempt, we record it as paid (the money is real) and log an error when
  another attempt of the chain is paid too, so someone refunds it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.payments.models import EventSource, Payment, PaymentEvent, PaymentStatus

logger = logging.getLogger(__name__)

S = PaymentStatus
TRANSITIONS: dict[str, set[str]] = {
    S.CREATED: {S.PENDING, S.CANCELLED, S.EXPIRED},
    S.PENDING: {S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.FAILED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.PAID: set(),
}
#: Only the platform's server-to-server word can turn a closed attempt into paid.
LATE_PAID_FROM = {S.FAILED, S.CANCELLED, S.EXPIRED}
DEFAULT_PENDING_TIMEOUT_SECONDS = 3600


class PaymentStillOpen(Exception):
    """The latest attempt might still complete, so no new attempt may start."""


def pending_timeout() -> dt.timedelta:
    return dt.timedelta(
        seconds=getattr(settings, "DIKOM_PAYMENT_PENDING_TIMEOUT_SECONDS", DEFAULT_PENDING_TIMEOUT_SECONDS)
    )


def create_payment(
    *,
    municipality: Municipality,
    amount_cents: int,
    description: str,
    reference: str,
    return_url: str,
    idempotency_key: str,
    provider_key: str,
) -> Payment:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ValidationError("amount_cents must be a positive whole number of cents")
    if not idempotency_key:
        raise ValidationError("idempotency_key is required")
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_request(existing, municipality, amount_cents)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                municipality=municipality,
                amount_cents=amount_cents,
                description=description[:200],
                reference=reference[:100],
                return_url=return_url,
                idempotency_key=idempotency_key,
                provider=provider_key,
            )
            PaymentEvent.objects.create(payment=payment, source=EventSource.SYSTEM, to_status=S.CREATED)
    except IntegrityError:
        # Another request created it a moment ago: the unique key makes it the one.
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _same_request(existing, municipality, amount_cents)
    return payment


def _same_request(payment: Payment, municipality: Municipality, amount_cents: int) -> Payment:
    if payment.municipality_id != municipality.pk or payment.amount_cents != amount_cents:
        raise ValidationError("This idempotency key was already used for a different payment")
    return payment


def record_status(
    payment_id: int,
    new_status: str,
    *,
    source: str,
    method: str = "",
    provider_reference: str = "",
    note: str = "",
) -> tuple[Payment, bool]:
    """Move a payment to ``new_status`` if the rules allow; returns (payment, changed)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        old = payment.status
        if new_status == old:
            return payment, False
        allowed = new_status in TRANSITIONS[old] or (
            new_status == S.PAID and old in LATE_PAID_FROM and source == EventSource.NOTIFICATION
        )
        if not allowed:
            logger.warning("Payment %s: %s → %s from %s ignored (not allowed)", payment.uuid, old, new_status, source)
            return payment, False
        payment.status = new_status
        if new_status == S.PENDING and payment.started_at is None:
            payment.started_at = timezone.now()
        if new_status == S.PAID:
            payment.paid_at = timezone.now()
        if method:
            payment.method = method
        if provider_reference:
            payment.provider_reference = provider_reference[:200]
        payment.save()
        PaymentEvent.objects.create(
            payment=payment, source=source, from_status=old, to_status=new_status, note=note[:200]
        )
        changed_pk = payment.pk
        from dikom.payments.signals import payment_status_recorded

        payment_status_recorded.send(sender=Payment, payment=payment, old_status=old, new_status=new_status)
        transaction.on_commit(lambda: _announce_status(changed_pk, old, new_status))
        if new_status == S.PAID and old in LATE_PAID_FROM:
            others_paid = [p for p in attempt_chain(payment) if p.pk != payment.pk and p.status == S.PAID]
            log = logger.error if others_paid else logger.warning
            log(
                "Payment %s paid after it was %s%s",
                payment.uuid,
                old,
                "; another attempt is paid: refund" if others_paid else "",
            )
        return payment, True


def _announce_status(payment_pk: int, old: str, new: str) -> None:
    from dikom.payments.signals import payment_status_changed

    payment = Payment.objects.select_related("municipality").get(pk=payment_pk)
    for receiver, result in payment_status_changed.send_robust(
        sender=Payment, payment=payment, old_status=old, new_status=new
    ):
        if isinstance(result, Exception):
            logger.error("payments: %r failed on %s → %s of %s", receiver, old, new, payment.uuid, exc_info=result)


def attempt_chain(payment: Payment) -> list[Payment]:
    """All attempts of the same payment, first to latest."""
    first = Payment.objects.get(pk=payment.pk)
    while first.previous_attempt_id is not None:
        first = Payment.objects.get(pk=first.previous_attempt_id)
    chain = [first]
    while True:
        following = Payment.objects.filter(previous_attempt=chain[-1]).first()
        if following is None:
            return chain
        chain.append(following)


def expire_if_closed(payment: Payment) -> Payment:
    """Mark a pending attempt expired when it timed out and its platform can no longer complete it."""
    from dikom.payments import registry

    if payment.status != S.PENDING or payment.started_at is None:
        return payment
    if timezone.now() - payment.started_at < pending_timeout():
        return payment
    provider = registry.get(payment.provider)
    if provider is None or not provider.attempt_closed(payment):
        return payment
    payment, _changed = record_status(payment.pk, S.EXPIRED, source=EventSource.SYSTEM, note="pending timeout")
    return payment


def attempt_to_start(payment: Payment) -> Payment:
    """The attempt a citizen should pay with now: a paid one, the open one, or a new linked one.

    Raises PaymentStillOpen while the latest attempt may still complete.
    """
    with transaction.atomic():
        # Lock the first attempt: every retry decision of one chain is serialised on it.
        Payment.objects.select_for_update().get(pk=attempt_chain(payment)[0].pk)
        chain = attempt_chain(payment)
        paid = next((p for p in chain if p.status == S.PAID), None)
        if paid is not None:
            return paid
        latest = expire_if_closed(chain[-1])
        if latest.status == S.CREATED:
            return latest
        if latest.status == S.PENDING:
            raise PaymentStillOpen
        retry = Payment.objects.create(
            municipality=latest.municipality,
            amount_cents=latest.amount_cents,
            currency=latest.currency,
            description=latest.description,
            reference=latest.reference,
            return_url=latest.return_url,
            idempotency_key=f"{chain[0].idempotency_key}#attempt-{len(chain) + 1}",
            provider=latest.provider,
            previous_attempt=latest,
        )
        PaymentEvent.objects.create(
            payment=retry, source=EventSource.SYSTEM, to_status=S.CREATED, note=f"retry after {latest.status}"
        )
        return retry
