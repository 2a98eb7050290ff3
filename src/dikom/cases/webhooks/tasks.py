"""Background attempts of case webhooks; their bookkeeping is in the delivery row (see actions.py)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django_tasks import task


@task()
def deliver(delivery_id: int) -> str:
    """One attempt for one delivery (nothing if it is not due or already delivered)."""
    from dikom.cases.webhooks.actions import attempt_delivery

    # Error texts stored on the delivery are in the installation's language.
    with translation.override(settings.LANGUAGE_CODE):
        return attempt_delivery(delivery_id)


@task()
def resume_due_deliveries() -> int:
    """Periodic safety net (every five minutes): queue deliveries whose next attempt is due."""
    from dikom.cases.webhooks.actions import enqueue_due_deliveries

    return enqueue_due_deliveries()
