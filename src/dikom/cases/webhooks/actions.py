"""The only code that changes case webhooks: subscriptions, deliveries, attempts.

Invariant: an event is turned into one delivery row per matching active
subscription *in the transaction that made the change*, so a rolled-back change
sends nothing and a committed one is never lost. The attempt is enqueued on
commit. An attempt first claims its row with a conditional UPDATE (a duplicate
task finds nothing to do), sends outside any transaction, then records the
outcome; a retry is enqueued for ``next_attempt_at`` (exponential backoff up to
``DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS``). A periodic job re-queues due rows after a
crashed worker. Changes to subscriptions are in the audit log.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.audit.actions import record
from dikom.cases.webhooks import signing, transport
from dikom.cases.webhooks.models import WebhookDelivery, WebhookSubscription
from dikom.lib.safe_http import DeliveryError
from dikom.municipalities.models import Municipality

logger = logging.getLogger(__name__)

OPEN = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
MAX_BACKOFF = timedelta(hours=6)
FORMAT = "dikom.case-event/1"


def retry_delay(attempt: int) -> timedelta:
    """Wait after failed attempt ``attempt`` (1-based): backoff, 2×, 4× … capped at six hours."""
    return min(timedelta(seconds=settings.DIKOM_CASE_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)), MAX_BACKOFF)


def _lease() -> timedelta:
    # How long a claimed attempt may run before the row counts as due again (a crashed worker).
    return timedelta(seconds=settings.DIKOM_CASE_WEBHOOK_TIMEOUT_SECONDS * 4 + 60)


def _enqueue_now(delivery_id: int, run_after: Any = None) -> None:
    from dikom.cases.webhooks.tasks import deliver

    (deliver.using(run_after=run_after) if run_after is not None else deliver).enqueue(delivery_id)


def api_url(name: str, **kwargs: Any) -> str:
    """The absolute address of an API resource (``DIKOM_SITE_URL``): webhooks point at what to fetch."""
    return str(settings.SITE_URL or "").rstrip("/") + reverse(name, kwargs=kwargs)


# --- events -------------------------------------------------------------------------------------


def emit(case: Any, event: str, data: dict[str, Any] | None = None) -> list[WebhookDelivery]:
    """Record ``event`` of ``case`` for every active subscription of its city that wants it.

    The payload is thin on purpose: identifiers, the case's status and the API
    addresses to fetch the rest with the city's API key; no answers or files, so
    a webhook never carries more personal data than the receiver may fetch.
    """
    subscriptions = [
        sub
        for sub in WebhookSubscription.objects.filter(municipality_id=case.municipality_id, active=True)
        if sub.wants(event, case.service_slug)
    ]
    if not subscriptions:
        return []
    municipality = Municipality.objects.only("ags", "slug", "name").get(pk=case.municipality_id)
    payload = {
        "format": FORMAT,
        "type": event,
        "event_id": str(uuid.uuid4()),
        "occurred_at": timezone.now().isoformat(),
        "municipality": {"ags": municipality.ags, "slug": municipality.slug, "name": municipality.name},
        "case": {
            "uuid": str(case.uuid),
            "reference": case.reference,
            "service": case.service_slug,
            "status": case.status,
            "url": api_url("cases-api:case-detail", case_uuid=case.uuid),
        },
        "data": data or {},
    }
    now = timezone.now()
    created = [
        WebhookDelivery.objects.create(
            subscription=sub,
            municipality_id=case.municipality_id,
            event=event,
            case_reference=case.reference[:32],
            payload=payload,
            next_attempt_at=now,
        )
        for sub in subscriptions
    ]
    for delivery in created:
        delivery_id = delivery.pk
        transaction.on_commit(lambda delivery_id=delivery_id: _enqueue_now(delivery_id))  # type: ignore[misc]
    return created


# --- attempts -----------------------------------------------------------------------------------


def attempt_delivery(delivery_id: int) -> str:
    """Make one attempt if the delivery is due; returns its status afterwards (or "skipped")."""
    now = timezone.now()
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + _lease(), updated_at=now
        )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    error: DeliveryError | None = None
    status: int | None = None
    subscription = delivery.subscription
    if not subscription.active:
        error = DeliveryError(_("The subscription is deactivated; nothing was sent."), retry=False)
    else:
        body = orjson.dumps(delivery.payload)
        timestamp = int(time.time())
        msg_id = str(delivery.uuid)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature(subscription.secret, msg_id, timestamp, body),
            "X-Dikom-Event": delivery.event,
        }
        try:
            status = transport.post(subscription.url, body, headers)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug must not leave the row claimed for good
            logger.exception("case webhooks: delivery %s failed unexpectedly", delivery.uuid)
            error = DeliveryError(_("Internal error (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True)
    return _record_outcome(delivery.pk, error, status)


def _record_outcome(delivery_id: int, error: DeliveryError | None, http_status: int | None) -> str:
    now = timezone.now()
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if current.status == WebhookDelivery.Status.DELIVERED:
            return current.status
        if error is None:
            current.status = WebhookDelivery.Status.DELIVERED
            current.delivered_at = now
            current.next_attempt_at = None
            current.last_error = ""
            current.last_http_status = http_status
        else:
            current.last_error = error.message[:300]
            current.last_http_status = error.http_status
            if error.retry and current.attempts < settings.DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS:
                current.status = WebhookDelivery.Status.RETRYING
                current.next_attempt_at = now + retry_delay(current.attempts)
            else:
                current.status = WebhookDelivery.Status.FAILED
                current.next_attempt_at = None
        current.save(
            update_fields=["status", "delivered_at", "next_attempt_at", "last_error", "last_http_status", "updated_at"]
        )
    if current.status == WebhookDelivery.Status.RETRYING:
        _enqueue_now(current.pk, run_after=current.next_attempt_at)
    if error is not None:
        logger.warning(
            "case webhooks: delivery %s attempt %d: %s (%s)", current.uuid, current.attempts, error.message,
            current.status,
        )  # fmt: skip
    return current.status


def retry_now(delivery: WebhookDelivery, *, actor: Any) -> WebhookDelivery:
    """A fresh round of attempts for a failed or waiting delivery, right away (the administrator's button)."""
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status not in (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.RETRYING):
            raise ValidationError(gettext_lazy("Only failed or waiting deliveries can be retried."), code="state")
        before = current.status
        current.status = WebhookDelivery.Status.PENDING
        current.attempts = 0
        current.next_attempt_at = timezone.now()
        current.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        record(
            "cases.webhook.delivery.retry",
            actor=actor,
            municipality=current.municipality_id,
            obj=current,
            changes={"status": [before, current.status]},
        )
        delivery_id = current.pk
        transaction.on_commit(lambda: _enqueue_now(delivery_id))
    return current


def enqueue_due_deliveries(now: Any = None) -> int:
    """Queue an attempt for every open delivery that is due (the safety net after a crashed worker)."""
    now = now or timezone.now()
    ids = list(WebhookDelivery.objects.filter(status__in=OPEN, next_attempt_at__lte=now).values_list("pk", flat=True))
    for delivery_id in ids:
        _enqueue_now(delivery_id)
    return len(ids)


# --- subscriptions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once


def _clean(url: str, events: Iterable[str]) -> tuple[str, list[str]]:
    url = url.strip()
    if not url:
        raise ValidationError({"url": gettext_lazy("Please enter the webhook address.")})
    try:
        transport.check_url(url)
    except ValidationError as exc:
        raise ValidationError({"url": exc.messages}) from exc
    known = set(WebhookSubscription.Event.values)
    chosen = sorted(set(events))
    if not chosen:
        raise ValidationError({"events": gettext_lazy("Please choose at least one event.")})
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise ValidationError({"events": _("Unknown event: %(events)s.") % {"events": ", ".join(unknown)}})
    return url, chosen


def create_subscription(
    *,
    municipality: Municipality,
    actor: Any,
    name: str,
    url: str,
    events: Iterable[str],
    services: Iterable[str] = (),
) -> CreatedSubscription:
    """Subscribe ``url`` to ``events`` of the city's cases; the new signing secret is returned once."""
    url, chosen = _clean(url, events)
    if not name.strip():
        raise ValidationError({"name": gettext_lazy("Please give the subscription a name.")})
    secret = signing.new_secret()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            municipality=municipality,
            name=name.strip()[:200],
            url=url,
            events=chosen,
            services=sorted({s.strip() for s in services if s.strip()}),
            secret=secret,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(
            "cases.webhook.create",
            actor=actor,
            municipality=municipality,
            obj=subscription,
            changes={"url": url, "events": chosen, "services": subscription.services},
        )
    return CreatedSubscription(subscription, secret)


def set_active(subscription: WebhookSubscription, *, active: bool, actor: Any) -> WebhookSubscription:
    with transaction.atomic():
        before = subscription.active
        WebhookSubscription.objects.filter(pk=subscription.pk).update(active=active, updated_at=timezone.now())
        subscription.active = active
        record(
            "cases.webhook.activate" if active else "cases.webhook.deactivate",
            actor=actor,
            municipality=subscription.municipality_id,
            obj=subscription,
            changes={"active": [before, active]},
        )
    return subscription


def delete_subscription(subscription: WebhookSubscription, *, actor: Any) -> None:
    with transaction.atomic():
        record(
            "cases.webhook.delete",
            actor=actor,
            municipality=subscription.municipality_id,
            obj=subscription,
            changes={"url": subscription.url, "events": subscription.events},
        )
        subscription.delete()
