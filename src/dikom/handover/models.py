"""Where a city's submitted applications go (targets) and how far each got (deliveries)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality
from dikom.portal.models import Application


class DeliveryTarget(models.Model):
    """A back-office system of one municipality that receives its submitted applications.

    ``secret`` is the HMAC key webhooks are signed with. It is stored as it is,
    not hashed: to *compute* a signature dikom needs the key itself, and a hash
    only lets one check a key somebody presents. It is shown once when it is
    created (or replaced) and never again; it is kept out of the audit log,
    the admin and every page.
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook (HTTPS POST)")
        EMAIL = "email", _("E-mail")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="handover_targets"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    url = models.URLField(_("webhook address"), max_length=500, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    secret = models.CharField(max_length=100, blank=True, editable=False)
    # Service slugs (as in the submission snapshot); empty: every service of the city.
    services = models.JSONField(_("only these services"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery target")
        verbose_name_plural = _("delivery targets")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="webhook") & ~models.Q(url=""))
                | (models.Q(kind="email") & ~models.Q(email="")),
                name="handover_target_has_address",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return self.url if self.kind == self.Kind.WEBHOOK else self.email

    def accepts(self, service_slug: str) -> bool:
        """Whether applications for ``service_slug`` go to this target."""
        return not self.services or service_slug in self.services


class Delivery(models.Model):
    """One submitted application on its way to one target. Its uuid is the webhook id."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RETRYING = "retrying", _("retrying")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="handover_deliveries"
    )
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="handover_deliveries"
    )
    target = models.ForeignKey(
        DeliveryTarget, verbose_name=_("target"), on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    # Technical text written by dikom itself (never the receiver's answer): no personal data.
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_http_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "target"], name="handover_delivery_once_per_target"),
        ]
        indexes = [
            models.Index(fields=["municipality", "-created_at"], name="handover_delivery_city_new"),
            models.Index(fields=["status", "next_attempt_at"], name="handover_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.target}"

    @property
    def can_retry_now(self) -> bool:
        return self.status in {self.Status.FAILED, self.Status.RETRYING}
