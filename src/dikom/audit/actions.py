"""Writing the audit log. ``record`` is the only way rows come into being."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from dikom.audit.context import current_source, source_for_path
from dikom.audit.models import AuditEvent

# Any constant works; it only has to be the same for every writer.
_ADVISORY_LOCK_KEY = 0x0D1C0A0D17


def _actor_label(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return str(actor.get_username())


def _chain_hash(previous: str, event: AuditEvent) -> str:
    payload = json.dumps(
        [
            previous,
            str(event.uuid),
            event.occurred_at.isoformat(),
            event.actor_label,
            event.api_key_prefix,
            event.municipality_id,
            event.action,
            event.object_type,
            event.object_id,
            event.object_repr,
            event.changes,
            event.source,
        ],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    action: str,
    *,
    actor: Any = None,
    municipality: Any = None,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    source: str | None = None,
    request: HttpRequest | None = None,
    api_key: Any = None,
) -> AuditEvent:
    """Append one event to the audit log.

    ``action`` is a dotted verb such as ``auth.login`` or ``orgunit.create``;
    ``changes`` holds what changed (field: [old, new]) or other details. No IP
    address or user agent is recorded.
    """
    if request is not None and actor is None:
        actor = getattr(request, "user", None)
    if api_key is None and request is not None:
        api_key = getattr(request, "auth", None) if hasattr(request, "auth") else None
    if api_key is None and hasattr(actor, "api_key"):
        api_key = actor.api_key  # a machine client (accounts.service.ApiKeyUser)
    if source is None:
        if api_key is not None:
            source = AuditEvent.Source.API
        elif request is not None:
            source = source_for_path(request.path)
        else:
            source = current_source.get() or AuditEvent.Source.SYSTEM
    municipality_id = getattr(municipality, "pk", municipality)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor) if api_key is None else f"api-key:{api_key.prefix}",
        api_key_prefix=getattr(api_key, "prefix", "") or "",
        municipality_id=municipality_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=json.loads(json.dumps(changes or {}, default=str)),
        source=source,
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
        previous = AuditEvent.objects.order_by("-id").values_list("chain_hash", flat=True).first() or ""
        event.chain_hash = _chain_hash(previous, event)
        event.save()
    return event


def verify_chain() -> list[int]:
    """Return the ids of events whose chain hash does not match (empty: intact)."""
    broken: list[int] = []
    previous = ""
    for event in AuditEvent.objects.order_by("id").iterator():
        if _chain_hash(previous, event) != event.chain_hash:
            broken.append(event.pk)
        previous = event.chain_hash
    return broken
