"""The bookkeeping of outgoing deliveries whose state lives in their own row.

A delivery model (hand-over ``Delivery``, case ``WebhookDelivery``) has
``status`` (pending, retrying, delivered, failed), ``attempts``,
``next_attempt_at``, ``last_attempt_at``, ``last_error``, ``last_http_status``,
``delivered_at`` and ``updated_at``. An attempt first *claims* its row with a
conditional UPDATE (only one worker wins, a duplicate task finds nothing to do),
sends outside any transaction, then records the outcome; a retry waits
``backoff × 2^(attempt-1)`` (at most six hours) up to the app's maximum number of
attempts and is enqueued for ``next_attempt_at`` once that is committed. A
claimed row whose worker crashed counts as due again after the lease.

The numbers come from the app's settings ``<prefix>_BACKOFF_SECONDS``,
``<prefix>_MAX_ATTEMPTS`` and ``<prefix>_TIMEOUT_SECONDS``, read at every use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.lib.safe_http import DeliveryError

MAX_BACKOFF = timedelta(hours=6)
PENDING, RETRYING, DELIVERED, FAILED = "pending", "retrying", "delivered", "failed"
OPEN = (PENDING, RETRYING)


@dataclass(frozen=True)
class Outbox:
    """One app's deliveries: its model, settings prefix, task and log label."""

    model: type[models.Model]
    settings_prefix: str  # e.g. "DIKOM_HANDOVER"
    enqueue: Callable[[int, Any], None]  # (delivery id, run_after or None): queue one attempt now
    logger: logging.Logger
    label: str  # in log lines: "handover", "case webhooks"

    def _setting(self, name: str) -> int:
        return int(getattr(settings, f"{self.settings_prefix}_{name}"))

    @property
    def objects(self) -> Any:
        return self.model._default_manager

    def retry_delay(self, attempt: int) -> timedelta:
        """Wait after failed attempt ``attempt`` (1-based): backoff, 2×, 4× … capped at six hours."""
        seconds = self._setting("BACKOFF_SECONDS") * 2 ** (attempt - 1)
        return min(timedelta(seconds=seconds), MAX_BACKOFF)

    def lease(self) -> timedelta:
        """How long a claimed attempt may take before the row counts as due again (a crashed worker)."""
        return timedelta(seconds=self._setting("TIMEOUT_SECONDS") * 4 + 60)

    def enqueue_on_commit(self, delivery_id: int) -> None:
        transaction.on_commit(lambda: self.enqueue(delivery_id, None))

    def due_ids(self, now: Any = None) -> list[int]:
        """Open deliveries whose next attempt is due."""
        now = now or timezone.now()
        return list(self.objects.filter(status__in=OPEN, next_attempt_at__lte=now).values_list("pk", flat=True))

    # --- one attempt ----------------------------------------------------------------------------

    def attempt(self, delivery_id: int, send: Callable[[Any], int | None], *, related: tuple[str, ...] = ()) -> str:
        """Claim the row if due, ``send`` it (outside any transaction), record the outcome.

        ``send`` gets the delivery and returns the HTTP status (or None) or raises
        DeliveryError; any other exception counts as a retryable internal error.
        Returns the status afterwards, or "skipped" when there was nothing to do.
        """
        now = timezone.now()
        with transaction.atomic():
            claimed = self.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now).update(
                attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + self.lease(), updated_at=now
            )
        if not claimed:
            return "skipped"
        delivery = self.objects.select_related(*related).get(pk=delivery_id)
        error: DeliveryError | None = None
        http_status: int | None = None
        try:
            http_status = send(delivery)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug must not leave the row claimed for good
            self.logger.exception("%s: delivery %s failed unexpectedly", self.label, delivery.uuid)
            error = DeliveryError(_("Internal error (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True)
        return self.record_outcome(delivery_id, error, http_status)

    def record_outcome(self, delivery_id: int, error: DeliveryError | None, http_status: int | None) -> str:
        now = timezone.now()
        with transaction.atomic():
            current = self.objects.select_for_update().get(pk=delivery_id)
            if current.status == DELIVERED:
                return str(current.status)
            if error is None:
                current.status = DELIVERED
                current.delivered_at = now
                current.next_attempt_at = None
                current.last_error = ""
                current.last_http_status = http_status
            else:
                current.last_error = error.message[:300]
                current.last_http_status = error.http_status
                if error.retry and current.attempts < self._setting("MAX_ATTEMPTS"):
                    current.status = RETRYING
                    current.next_attempt_at = now + self.retry_delay(current.attempts)
                else:
                    current.status = FAILED
                    current.next_attempt_at = None
            current.save(
                update_fields=[
                    "status",
                    "delivered_at",
                    "next_attempt_at",
                    "last_error",
                    "last_http_status",
                    "updated_at",
                ]
            )
        if current.status == RETRYING:
            # After the commit above (the worker runs outside any transaction), so the attempt
            # never finds the row in its old state; run_after keeps it from starting early.
            self.enqueue(current.pk, current.next_attempt_at)
        if error is not None:
            self.logger.warning(
                "%s: delivery %s attempt %d: %s (%s)", self.label, current.uuid, current.attempts, error.message,
                current.status,
            )  # fmt: skip
        return str(current.status)

    # --- a fresh round --------------------------------------------------------------------------

    def reopen(self, delivery_id: int) -> tuple[Any, str, int]:
        """A failed or waiting delivery back to pending with no attempts, due now.

        Call inside ``transaction.atomic()`` (the row is locked); returns the row, its
        status and number of attempts before. Raises ValidationError for other states.
        """
        current = self.objects.select_for_update().get(pk=delivery_id)
        if current.status not in (FAILED, RETRYING):
            raise ValidationError(gettext_lazy("Only failed or waiting deliveries can be retried."), code="state")
        before = (str(current.status), int(current.attempts))
        current.status = PENDING
        current.attempts = 0
        current.next_attempt_at = timezone.now()
        current.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        return current, *before
