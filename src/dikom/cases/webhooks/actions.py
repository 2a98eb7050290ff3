"""The only code that changes case webhooks: subscriptions, deliveries, attempts.

Invariant: an event is turned into one delivery row per matching active
subscription *in the transaction that made the change*, so a rolled-back change
sends nothing and a committed one is never lost. The attempt is enqueued on
commit. An attempt first claims its row with a conditional UPDATE (a duplicate
task finds nothing to do), sends outside any transaction, then records the
outcome; a retry is enqueued for ``next_attempt_at`` (exponential backoff up to
``DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS``). A periodic job re-queues due rows after a
crashed worker (the bookkeeping is shared with the hand-over:
``dikom.lib.webhooks.outbox``). Changes to subscriptions are in the audit log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.audit.actions import record
from dikom.cases.webhooks import transport
from dikom.cases.webhooks.models import WebhookDelivery, WebhookSubscription
from dikom.lib.safe_http import DeliveryError
from dikom.lib.webhooks import signing
from dikom.lib.webhooks.outbox import Outbox
from dikom.municipalities.models import Municipality

logger = logging.getLogger(__name__)

OPEN = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
FORMAT = "dikom.case-event/1"


def _enqueue_now(delivery_id: int, run_after: Any = None) -> None:
    from dikom.cases.webhooks.tasks import deliver

    (deliver.using(run_after=run_after) if run_after is not None else deliver).enqueue(delivery_id)


OUTBOX = Outbox(
    model=WebhookDelivery,
    settings_prefix="DIKOM_CASE_WEBHOOK",
    enqueue=_enqueue_now,
    logger=logger,
    label="case webhooks",
)
retry_delay = OUTBOX.retry_delay


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


def _send(delivery: WebhookDelivery) -> int:
    subscription = delivery.subscription
    if not subscription.active:
        raise DeliveryError(_("The subscription is deactivated; nothing was sent."), retry=False)
    body = orjson.dumps(delivery.payload)
    headers = {**signing.headers(subscription.secret, str(delivery.uuid), body), "X-Dikom-Event": delivery.event}
    return transport.post(subscription.url, body, headers)


def attempt_delivery(delivery_id: int) -> str:
    """Make one attempt if the delivery is due; returns its status afterwards (or "skipped")."""
    return OUTBOX.attempt(delivery_id, _send, related=("subscription",))


def retry_now(delivery: WebhookDelivery, *, actor: Any) -> WebhookDelivery:
    """A fresh round of attempts for a failed or waiting delivery, right away (the administrator's button)."""
    with transaction.atomic():
        current, before, _attempts = OUTBOX.reopen(delivery.pk)
        record(
            "cases.webhook.delivery.retry",
            actor=actor,
            municipality=current.municipality_id,
            obj=current,
            changes={"status": [before, current.status]},
        )
        OUTBOX.enqueue_on_commit(current.pk)
    return current


def enqueue_due_deliveries(now: Any = None) -> int:
    """Queue an attempt for every open delivery that is due (the safety net after a crashed worker)."""
    ids = OUTBOX.due_ids(now)
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
