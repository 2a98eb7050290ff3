"""Anonymous usage events of the portal, through the same ingestion path outside systems use.

Nothing here may break a citizen's flow: failures are logged and swallowed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from dikom.portal.models import Application

logger = logging.getLogger(__name__)


def device_class(request: HttpRequest | None) -> str | None:
    """desktop or mobile from a coarse reading of the User-Agent (which is not kept)."""
    if request is None:
        return None
    agent = request.headers.get("User-Agent", "")
    if not agent:
        return None
    return "mobile" if "Mobi" in agent or "Android" in agent else "desktop"


def service_key(application: Application) -> str:
    return application.adoption.definition.slug[:100]


def ensure_service(application: Application) -> None:
    """Register the analytics service for an adopted service on first use."""
    from dikom.analytics.models import Service, SourceSystem

    key = service_key(application)
    if Service.objects.filter(municipality_id=application.municipality_id, external_key=key).exists():
        return
    from dikom.analytics import actions as analytics_actions

    identity = application.version.content.get("identity") or {}
    title = identity.get("title") or {}
    leika = identity.get("leika_key") or ""
    try:
        with transaction.atomic():
            analytics_actions.create_service(
                municipality=application.municipality,
                name=(title.get("de") if isinstance(title, dict) else str(title)) or key,
                external_key=key,
                leika_key=leika if isinstance(leika, str) else "",
                ozg_topic=str(identity.get("ozg_topic") or "")[:200],
                source_system=SourceSystem.PORTAL,
            )
    except Exception:
        logger.info("portal: could not register analytics service %s", key, exc_info=True)


def emit(application: Application, event_type: str, request: HttpRequest | None = None, **fields: Any) -> None:
    """Send one usage event for ``application`` (after the current transaction commits)."""
    event: dict[str, Any] = {
        "type": event_type,
        "service": service_key(application),
        "occurred_at": timezone.now().isoformat(),
        "visit_id": application.visit_id,
        "channel": "web",
    }
    device = device_class(request)
    if device:
        event["device_class"] = device
    event.update({k: v for k, v in fields.items() if v is not None and v != ""})

    def send() -> None:
        try:
            from dikom.analytics.service import record_usage_events

            ensure_service(application)
            result = record_usage_events(application.municipality, [event], source="portal")
            if result.rejected:
                logger.warning("portal: usage event %s rejected: %s", event_type, result.rejected)
        except Exception:
            logger.exception("portal: usage event %s could not be recorded", event_type)

    transaction.on_commit(send)


def on_payment_status_changed(sender: Any, payment: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    """Usage events for a portal payment's outcome: chosen + completed, chosen + failed, or chosen (cancelled).

    The method is known only once the platform reports it, so "chosen" is recorded with the outcome.
    """
    from dikom.portal.actions import application_for_payment

    if new_status not in {"paid", "failed", "cancelled"}:
        return
    application = application_for_payment(payment)
    if application is None:
        return
    method = payment.method or "other"
    emit(application, "payment_chosen", payment_method=method)
    if new_status == "paid":
        emit(application, "payment_completed", payment_method=method)
    elif new_status == "failed":
        emit(application, "payment_failed", payment_method=method)
