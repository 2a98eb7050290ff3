"""The only code that changes what a city shares. Every change is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dikom.analytics.models import Service
from dikom.analytics.sharing.models import ComparisonShare, OpenDataPublication
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality


@transaction.atomic
def enable_share(*, service: Service, actor: Any) -> ComparisonShare:
    """Share ``service`` by name in the city comparison (idempotent)."""
    share, created = ComparisonShare.objects.get_or_create(
        service=service, defaults={"shared_since": timezone.now(), "shared_by": actor}
    )
    if created:
        audit.record(
            "analytics.share_enable",
            actor=actor,
            municipality=service.municipality,
            obj=service,
            changes={"shared": [False, True], "leika_key": service.leika_key},
        )
    return share


@transaction.atomic
def disable_share(*, service: Service, actor: Any) -> None:
    """Stop sharing ``service`` by name; it still counts inside averages (idempotent)."""
    deleted, _ = ComparisonShare.objects.filter(service=service).delete()
    if deleted:
        audit.record(
            "analytics.share_disable",
            actor=actor,
            municipality=service.municipality,
            obj=service,
            changes={"shared": [True, False], "leika_key": service.leika_key},
        )


@transaction.atomic
def set_open_data_publication(*, municipality: Municipality, enabled: bool, actor: Any) -> OpenDataPublication:
    """Switch publishing ``municipality``'s monthly usage tables on or off (audited when it changes)."""
    publication, _ = OpenDataPublication.objects.select_for_update().get_or_create(municipality=municipality)
    if publication.enabled != enabled:
        publication.enabled = enabled
        publication.since = timezone.now() if enabled else None
        publication.save()
        audit.record(
            "analytics.open_data_enable" if enabled else "analytics.open_data_disable",
            actor=actor,
            municipality=municipality,
            obj=publication,
            changes={"enabled": [not enabled, enabled]},
        )
    return publication
