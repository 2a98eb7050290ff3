"""Everything that changes hand-over state: targets, deliveries, attempts.

A delivery's state lives in its row, not in the task queue: ``attempts``,
``next_attempt_at``, ``last_error`` and ``status`` say at any moment how far it
got. An attempt first *claims* the row with a conditional UPDATE (only one
worker wins, a duplicate task finds nothing to do), sends outside any
transaction, then records the outcome and, for a retry, enqueues the next
attempt for ``next_attempt_at`` once that is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.audit.actions import record
from dikom.handover import signing, transport
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.municipalities.models import Municipality
from dikom.portal.models import Application

logger = logging.getLogger(__name__)

OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING)
MAX_BACKOFF = timedelta(hours=6)


def retry_delay(attempt: int) -> timedelta:
    """Wait after failed attempt ``attempt`` (1-based): backoff, 2×, 4× … capped at six hours."""
    seconds = settings.DIKOM_HANDOVER_BACKOFF_SECONDS * 2 ** (attempt - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def _lease() -> timedelta:
    # How long a claimed attempt may take before the row counts as due again (a crashed worker).
    return timedelta(seconds=settings.DIKOM_HANDOVER_TIMEOUT_SECONDS * 4 + 60)


def _enqueue_now(delivery_id: int, run_after: Any = None) -> None:
    from dikom.handover.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after is not None else deliver
    task.enqueue(delivery_id)


def _enqueue(delivery_id: int) -> None:
    transaction.on_commit(lambda: _enqueue_now(delivery_id))


# --- deliveries ---------------------------------------------------------------------------------


def create_deliveries(application: Application) -> list[Delivery]:
    """One delivery per active target of the city that takes this service; repeated calls add none."""
    if application.status == Application.Status.DRAFT or not application.reference:
        return []
    service = (application.submission_data or {}).get("service") or ""
    targets = [
        target
        for target in DeliveryTarget.objects.filter(municipality_id=application.municipality_id, active=True)
        if target.accepts(service)
    ]
    created = []
    now = timezone.now()
    with transaction.atomic():
        for target in targets:
            delivery, new = Delivery.objects.get_or_create(
                application=application,
                target=target,
                defaults={"municipality_id": application.municipality_id, "next_attempt_at": now},
            )
            if new:
                created.append(delivery)
                _enqueue(delivery.pk)
    return created


def attempt_delivery(delivery_id: int) -> str:
    """Make one attempt if the delivery is due; returns its status afterwards (or "skipped")."""
    from dikom.handover import channels

    now = timezone.now()
    with transaction.atomic():
        claimed = Delivery.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + _lease(), updated_at=now
        )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("target", "municipality", "application").get(pk=delivery_id)
    error: transport.DeliveryError | None = None
    http_status: int | None = None
    if not delivery.target.active:
        error = transport.DeliveryError(_("The target is deactivated; nothing was sent."), retry=False)
    else:
        try:
            http_status = channels.send(delivery)
        except transport.DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug must not leave the row claimed for good
            logger.exception("handover: delivery %s failed unexpectedly", delivery.uuid)
            error = transport.DeliveryError(
                _("Internal error (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True
            )
    return _record_outcome(delivery, error, http_status)


def _record_outcome(delivery: Delivery, error: transport.DeliveryError | None, http_status: int | None) -> str:
    now = timezone.now()
    with transaction.atomic():
        current = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status == Delivery.Status.DELIVERED:
            return current.status
        if error is None:
            current.status = Delivery.Status.DELIVERED
            current.delivered_at = now
            current.next_attempt_at = None
            current.last_error = ""
            current.last_http_status = http_status
        else:
            current.last_error = error.message[:300]
            current.last_http_status = error.http_status
            if error.retry and current.attempts < settings.DIKOM_HANDOVER_MAX_ATTEMPTS:
                current.status = Delivery.Status.RETRYING
                current.next_attempt_at = now + retry_delay(current.attempts)
            else:
                current.status = Delivery.Status.FAILED
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
    if current.status == Delivery.Status.RETRYING:
        # After the commit above (the worker runs outside any transaction), so the attempt
        # never finds the row in its old state; run_after keeps it from starting early.
        _enqueue_now(current.pk, run_after=current.next_attempt_at)
    if error is not None:
        logger.warning(
            "handover: delivery %s attempt %d: %s (%s)", current.uuid, current.attempts, error.message, current.status
        )
    return current.status


def retry_now(delivery: Delivery, *, actor: Any, request: Any = None) -> Delivery:
    """Start a fresh round of attempts for a failed (or waiting) delivery, right away."""
    with transaction.atomic():
        current = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status not in (Delivery.Status.FAILED, Delivery.Status.RETRYING):
            raise ValidationError(gettext_lazy("Only failed or waiting deliveries can be retried."), code="state")
        before = {"status": current.status, "attempts": current.attempts}
        current.status = Delivery.Status.PENDING
        current.attempts = 0
        current.next_attempt_at = timezone.now()
        current.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        record(
            "handover.delivery.retry",
            actor=actor,
            request=request,
            municipality=current.municipality_id,
            obj=current,
            changes={"status": [before["status"], current.status], "attempts_before": before["attempts"]},
        )
        _enqueue(current.pk)
    return current


def enqueue_due_deliveries(now: Any = None) -> int:
    """Queue an attempt for every open delivery that is due (a safety net after a crashed worker)."""
    now = now or timezone.now()
    ids = list(Delivery.objects.filter(status__in=OPEN, next_attempt_at__lte=now).values_list("pk", flat=True))
    with transaction.atomic():
        for delivery_id in ids:
            _enqueue(delivery_id)
    return len(ids)


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedTarget:
    target: DeliveryTarget
    secret: str  # shown once; empty for e-mail targets


def _validate(kind: str, url: str, email: str) -> None:
    if kind == DeliveryTarget.Kind.WEBHOOK:
        if not url:
            raise ValidationError({"url": gettext_lazy("Please enter the webhook address.")})
        try:
            transport.parse_url(url)
        except ValidationError as exc:
            raise ValidationError({"url": exc.messages}) from exc
    elif kind == DeliveryTarget.Kind.EMAIL:
        if not email:
            raise ValidationError({"email": gettext_lazy("Please enter the e-mail address.")})
    else:
        raise ValidationError({"kind": gettext_lazy("Please choose webhook or e-mail.")})


def _target_fields(target: DeliveryTarget) -> dict[str, Any]:
    return {
        "name": target.name,
        "kind": target.kind,
        "url": target.url,
        "email": target.email,
        "services": list(target.services),
        "active": target.active,
    }


def create_target(
    *,
    municipality: Municipality,
    actor: Any,
    name: str,
    kind: str,
    url: str = "",
    email: str = "",
    services: Iterable[str] = (),
    request: Any = None,
) -> CreatedTarget:
    """Create a target; webhooks get a new signing secret that the caller shows once."""
    url, email = url.strip(), email.strip()
    _validate(kind, url, email)
    secret = signing.new_secret() if kind == DeliveryTarget.Kind.WEBHOOK else ""
    with transaction.atomic():
        target = DeliveryTarget.objects.create(
            municipality=municipality,
            name=name.strip(),
            kind=kind,
            url=url if kind == DeliveryTarget.Kind.WEBHOOK else "",
            email=email if kind == DeliveryTarget.Kind.EMAIL else "",
            secret=secret,
            services=sorted(set(services)),
        )
        record(
            "handover.target.create",
            actor=actor,
            request=request,
            municipality=municipality,
            obj=target,
            changes=_target_fields(target),  # never the secret
        )
    return CreatedTarget(target=target, secret=secret)


def update_target(
    target: DeliveryTarget,
    *,
    actor: Any,
    name: str,
    url: str = "",
    email: str = "",
    services: Iterable[str] = (),
    active: bool = True,
    request: Any = None,
) -> DeliveryTarget:
    """Change name, address, service filter or the active flag (the kind stays)."""
    url, email = url.strip(), email.strip()
    with transaction.atomic():
        current = DeliveryTarget.objects.select_for_update().get(pk=target.pk)
        # Deactivating, or renaming, never fails on an address that today's rules would refuse.
        if (url, email) != (current.url, current.email) or (active and not current.active):
            _validate(current.kind, url, email)
        before = _target_fields(current)
        current.name = name.strip()
        if current.kind == DeliveryTarget.Kind.WEBHOOK:
            current.url = url
        else:
            current.email = email
        current.services = sorted(set(services))
        current.active = active
        current.save()
        after = _target_fields(current)
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if changes:
            action = "handover.target.update"
            if set(changes) == {"active"}:
                action = "handover.target.activate" if active else "handover.target.deactivate"
            record(
                action, actor=actor, request=request, municipality=current.municipality_id, obj=current, changes=changes
            )
    return current


def set_target_active(target: DeliveryTarget, *, actor: Any, active: bool, request: Any = None) -> DeliveryTarget:
    return update_target(
        target,
        actor=actor,
        name=target.name,
        url=target.url,
        email=target.email,
        services=target.services,
        active=active,
        request=request,
    )


def rotate_secret(target: DeliveryTarget, *, actor: Any, request: Any = None) -> str:
    """Replace a webhook target's signing secret; returns the new one (to be shown once)."""
    if target.kind != DeliveryTarget.Kind.WEBHOOK:
        raise ValidationError(gettext_lazy("Only webhook targets have a signing secret."), code="kind")
    secret = signing.new_secret()
    with transaction.atomic():
        DeliveryTarget.objects.filter(pk=target.pk).update(secret=secret, updated_at=timezone.now())
        record(
            "handover.target.rotate_secret",
            actor=actor,
            request=request,
            municipality=target.municipality_id,
            obj=target,
            changes={"secret": "replaced"},
        )
    target.secret = secret
    return secret
