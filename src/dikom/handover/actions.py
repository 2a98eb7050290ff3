"""Everything that changes hand-over state: targets, deliveries, attempts.

A delivery's state lives in its row, not in the task queue: ``attempts``,
``next_attempt_at``, ``last_error`` and ``status`` say at any moment how far it
got. An attempt first *claims* the row with a conditional UPDATE (only one
worker wins, a duplicate task finds nothing to do), sends outside any
transaction, then records the outcome and, for a retry, enqueues the next
attempt for ``next_attempt_at`` once that is committed. That bookkeeping is
shared with the case webhooks (``dikom.lib.webhooks.outbox``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dikom.audit.actions import record
from dikom.handover import transport
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.lib.safe_http import DeliveryError
from dikom.lib.webhooks import signing
from dikom.lib.webhooks.outbox import Outbox
from dikom.municipalities.models import Municipality
from dikom.portal.models import Application

logger = logging.getLogger(__name__)

OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING)


def _enqueue_now(delivery_id: int, run_after: Any = None) -> None:
    from dikom.handover.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after is not None else deliver
    task.enqueue(delivery_id)


OUTBOX = Outbox(model=Delivery, settings_prefix="DIKOM_HANDOVER", enqueue=_enqueue_now, logger=logger, label="handover")
retry_delay = OUTBOX.retry_delay


def _enqueue(delivery_id: int) -> None:
    OUTBOX.enqueue_on_commit(delivery_id)


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


def _send(delivery: Delivery) -> int | None:
    from dikom.handover import channels

    if not delivery.target.active:
        raise DeliveryError(_("The target is deactivated; nothing was sent."), retry=False)
    return channels.send(delivery)


def attempt_delivery(delivery_id: int) -> str:
    """Make one attempt if the delivery is due; returns its status afterwards (or "skipped")."""
    return OUTBOX.attempt(delivery_id, _send, related=("target", "municipality", "application"))


def retry_now(delivery: Delivery, *, actor: Any, request: Any = None) -> Delivery:
    """Start a fresh round of attempts for a failed (or waiting) delivery, right away."""
    with transaction.atomic():
        current, status_before, attempts_before = OUTBOX.reopen(delivery.pk)
        record(
            "handover.delivery.retry",
            actor=actor,
            request=request,
            municipality=current.municipality_id,
            obj=current,
            changes={"status": [status_before, current.status], "attempts_before": attempts_before},
        )
        _enqueue(current.pk)
    return current


def enqueue_due_deliveries(now: Any = None) -> int:
    """Queue an attempt for every open delivery that is due (a safety net after a crashed worker)."""
    ids = OUTBOX.due_ids(now)
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
