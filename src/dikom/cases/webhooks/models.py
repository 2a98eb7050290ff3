"""Webhook subscriptions of a city to case events, and the log of every delivery.

A delivery's state lives in its row (attempts, next attempt, last error), not in
the task queue, so the city's administrators see at any moment how far it got
and nothing is lost when a receiver is down (``dikom.cases.webhooks.actions``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookSubscription(models.Model):
    class Event(models.TextChoices):
        CASE_CREATED = "case.created", _("a case was opened")
        CASE_STATUS_CHANGED = "case.status_changed", _("a case's status changed")
        TASK_CREATED = "task.created", _("a task was created")
        DOCUMENT_ADDED = "document.added", _("a document was added")
        DECISION_MADE = "decision.made", _("a decision was made")
        PROCESS_MESSAGE = "process.message", _("the process sent a message (dikom:webhook:…)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        "municipalities.Municipality",
        verbose_name=_("municipality"),
        on_delete=models.CASCADE,
        related_name="case_webhooks",
    )
    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("webhook address"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    services = models.JSONField(_("only these services"), default=list, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("case webhook")
        verbose_name_plural = _("case webhooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str, service_slug: str) -> bool:
        return self.active and event in self.events and (not self.services or service_slug in self.services)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RETRYING = "retrying", _("failed, retrying")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    # Sent as ``webhook-id``: the same on every attempt, so receivers can drop duplicates.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("case webhook"), on_delete=models.CASCADE, related_name="deliveries"
    )
    municipality = models.ForeignKey(
        "municipalities.Municipality", verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(_("event"), max_length=40)
    case_reference = models.CharField(_("reference number"), max_length=32, blank=True)
    payload = models.JSONField(_("content"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_http_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="cases_whdelivery_due"),
            models.Index(fields=["municipality", "-created_at"], name="cases_whdelivery_city"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.case_reference}"
