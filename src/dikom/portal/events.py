"""Anonymous usage events of the portal, through the same ingestion path outside systems use.

Nothing here may break a citizen's flow: failures are logged and swallowed.

Every step view and step POST sends an event. They are stored through the group commit of
the server process, as the API's fast path stores single events (issue 21): the request
hands its event to the committer thread and waits until the transaction holding it has
committed, together with the events of the other requests of that moment. Written one by
one, each event was a write transaction of its own; on SQLite every one of them queued for
the single write lock and gave step pages tails of over a second. Registering the
analytics service (``ensure_service``) is done once per adopted version and process.
"""

from __future__ import annotations

import logging
import re
import threading
import time
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


def step_labels(content: dict[str, Any]) -> dict[str, Any]:
    """{step_key: {language: title}} of a service definition, for the funnel in the dashboards."""
    labels: dict[str, Any] = {}
    for step in content.get("steps") or []:
        if not isinstance(step, dict) or not step.get("key"):
            continue
        title = step.get("title")
        if isinstance(title, dict):
            texts = {str(lang): str(text)[:200] for lang, text in title.items() if isinstance(text, str) and text}
            if texts:
                labels[str(step["key"])[:100]] = texts
        elif isinstance(title, str) and title:
            labels[str(step["key"])[:100]] = title[:200]
    return labels


#: (municipality id, service key, version id) -> when ``ensure_service`` last found it registered.
_registered: dict[tuple[int, str, int], float] = {}
_registered_lock = threading.Lock()
#: Checked again after this many seconds (a service deleted meanwhile is registered anew).
REGISTERED_SECONDS = 300.0


def ensure_service_once(application: Application) -> None:
    """``ensure_service``, skipped while this process registered the same adopted version recently.

    The version's step labels are fixed (versions are immutable), so checking it once per
    version and process is enough; the key also holds the city, so no city's check serves another.
    """
    key = (application.municipality_id, service_key(application), application.version_id)
    now = time.monotonic()
    checked = _registered.get(key)
    if checked is not None and now - checked < REGISTERED_SECONDS:
        return
    ensure_service(application)
    with _registered_lock:
        if len(_registered) > 10_000:  # bounded: adopted versions are few, but never grow without end
            _registered.clear()
        _registered[key] = now


def ensure_service(application: Application) -> None:
    """Register the analytics service for an adopted service on first use.

    The service carries the LeiKa key of its library definition, so it takes part
    in the city comparison. When the city already measures a service with that
    LeiKa key (e.g. imported from its former form system), the portal's key becomes
    an alias of that service instead: one service, one row in the dashboards.
    """
    from dikom.analytics import actions as analytics_actions
    from dikom.analytics.models import LEIKA_PATTERN, Service, ServiceKeyAlias, SourceSystem

    key = service_key(application)
    municipality_id = application.municipality_id
    if ServiceKeyAlias.objects.filter(municipality_id=municipality_id, key=key).exists():
        return
    content = application.version.content
    identity = content.get("identity") or {}
    leika = identity.get("leika_key") or application.adoption.definition.leika_key or ""
    leika = leika if isinstance(leika, str) and re.match(LEIKA_PATTERN, leika) else ""
    labels = step_labels(content)
    existing = Service.objects.filter(municipality_id=municipality_id, external_key=key).first()
    if existing is not None:
        changed: dict[str, Any] = {}
        if leika and not existing.leika_key:
            changed["leika_key"] = leika
        if set(labels) - set(existing.step_labels or {}):
            changed["step_labels"] = {**labels, **(existing.step_labels or {})}
        if changed:
            Service.objects.filter(pk=existing.pk).update(**changed)
        return
    try:
        with transaction.atomic():
            same = (
                Service.objects.filter(municipality_id=municipality_id, leika_key=leika).order_by("pk").first()
                if leika
                else None
            )
            if same is not None:
                ServiceKeyAlias.objects.create(municipality_id=municipality_id, key=key, service=same)
                if set(labels) - set(same.step_labels or {}):
                    # Steps the service has no label for yet take the definition's titles.
                    Service.objects.filter(pk=same.pk).update(step_labels={**labels, **(same.step_labels or {})})
                return
            title = identity.get("title") or {}
            analytics_actions.create_service(
                municipality=application.municipality,
                name=(title.get("de") if isinstance(title, dict) else str(title)) or key,
                external_key=key,
                leika_key=leika,
                ozg_topic=str(identity.get("ozg_topic") or "")[:200],
                source_system=SourceSystem.PORTAL,
                step_labels=labels,
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
            from dikom.analytics.service import record_usage_events_grouped

            ensure_service_once(application)
            result = record_usage_events_grouped(application.municipality_id, [event], source="portal")
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
