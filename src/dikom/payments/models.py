"""Payments of citizens for online services, one row per attempt.

A Payment is one attempt to collect an amount through a payment platform.
Its status moves created → pending → paid | failed | cancelled | expired;
``actions.py`` enforces the transitions under a row lock. ``paid`` is final.
A retry after a failed, cancelled or expired attempt is a *new* Payment that
keeps the reference and points to the attempt before it (``previous_attempt``).
No card data is ever stored: the platform keeps it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("created")
    PENDING = "pending", _("pending")
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


class PaymentMethod(models.TextChoices):
    GIROPAY = "giropay", "giropay"
    PAYDIREKT = "paydirekt", "paydirekt"
    CREDITCARD = "creditcard", _("credit card")
    PAYPAL = "paypal", "PayPal"
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    INVOICE = "invoice", _("invoice")
    OTHER = "other", _("other")


class EventSource(models.TextChoices):
    SYSTEM = "system", _("system")
    RETURN = "return", _("citizen's return")
    NOTIFICATION = "notification", _("platform notification")
    ADMIN = "admin", _("administrator")


class Payment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey("municipalities.Municipality", on_delete=models.PROTECT, related_name="payments")
    amount_cents = models.PositiveIntegerField(_("amount in cents"))
    currency = models.CharField(max_length=3, default="EUR")
    description = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    provider = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=24, choices=PaymentMethod.choices, blank=True)
    return_url = models.CharField(max_length=500)
    idempotency_key = models.CharField(max_length=200, unique=True)
    previous_attempt = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_attempt"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="payments_amount_positive"),
            models.CheckConstraint(condition=models.Q(currency="EUR"), name="payments_currency_eur"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_cents / 100:.2f} {self.currency} ({self.status})"

    @property
    def amount_display(self) -> str:
        euros, cents = divmod(self.amount_cents, 100)
        return f"{euros:,}".replace(",", ".") + f",{cents:02d} €"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


FINAL_STATUSES = {PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}


class PaymentEvent(models.Model):
    """Append-only history of a payment's status changes. Never card data."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    from_status = models.CharField(max_length=16, choices=PaymentStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status} → {self.to_status} ({self.source})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Payment events are append-only")
        super().save(*args, **kwargs)
