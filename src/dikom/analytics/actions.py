"""Everything that changes analytics data: services, ingestion, salts, rollups, housekeeping."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics import rollups
from dikom.analytics.ingest import SALT_LIFETIME as SALT_LIFETIME  # re-exported: tests and housekeeping
from dikom.analytics.ingest import mark_rollups_pending, salt_open_from
from dikom.analytics.models import (
    DailySalt,
    PendingRollup,
    Service,
    ServiceDailyStats,
    ServiceKeyAlias,
    UsageEvent,
)
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality

logger = logging.getLogger(__name__)

# --- Services -------------------------------------------------------------------------


SERVICE_FIELDS = ("name", "external_key", "leika_key", "ozg_topic", "channel", "source_system", "step_labels")


def create_service(*, municipality: Municipality, actor: Any = None, api_key: Any = None, **values: Any) -> Service:
    """Register a measured service; raises ValidationError for invalid values or a taken key."""
    service = Service(municipality=municipality, **{k: v for k, v in values.items() if k in SERVICE_FIELDS})
    service.full_clean()
    with transaction.atomic():
        service.save()
        audit.record(
            "analytics.service.create",
            actor=actor,
            api_key=api_key,
            municipality=municipality,
            obj=service,
            changes={name: getattr(service, name) for name in SERVICE_FIELDS},
        )
    return service


def assign_unassigned(
    *, municipality: Municipality, service_key: str, service: Service, actor: Any = None, api_key: Any = None
) -> int:
    """Map the unassigned events sent with ``service_key`` (and future ones) to ``service``.

    Returns how many stored events were assigned; the rollups of their days are rebuilt.
    """
    if service.municipality_id != municipality.pk:
        raise ValidationError({"service": _("This service belongs to another municipality.")})
    if service_key != service.external_key:
        other = Service.objects.filter(municipality=municipality, external_key=service_key).exclude(pk=service.pk)
        if other.exists():
            raise ValidationError({"service_key": _("This key belongs to another registered service.")})
    zone = rollups.local_zone()
    with transaction.atomic():
        if service_key != service.external_key:
            ServiceKeyAlias.objects.update_or_create(
                municipality=municipality, key=service_key, defaults={"service": service}
            )
        events = UsageEvent.objects.filter(municipality=municipality, service__isnull=True, service_key=service_key)
        days = set(
            events.annotate(day=TruncDate("occurred_at", tzinfo=zone))
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
        count = events.update(service=service)
        audit.record(
            "analytics.unassigned.assign",
            actor=actor,
            api_key=api_key,
            municipality=municipality,
            obj=service,
            changes={"service_key": service_key, "events": count},
        )
        request_rollups(municipality.pk, days)
    return count


# --- Rollups --------------------------------------------------------------------------


def request_rollups(municipality_id: int, days: Iterable[date]) -> None:
    """Mark (municipality, day) for a rebuild and queue one task per newly marked key on commit.

    A key already marked only gets its version raised, so a running rebuild
    notices the new events and runs again instead of a task being queued per
    batch (``dikom.analytics.ingest.mark_rollups_pending``).
    """
    mark_rollups_pending(municipality_id, days)


def rebuild_daily_stats(municipality_id: int, day: date) -> int:
    """Recompute the rollups of one municipality and local day from raw events (idempotent).

    Returns the number of rollup rows written.
    """
    now = timezone.now()
    with transaction.atomic():
        groups = rollups.compute_daily_stats(municipality_id, day)
        ServiceDailyStats.objects.filter(municipality_id=municipality_id, day=day).delete()
        ServiceDailyStats.objects.bulk_create(
            [
                ServiceDailyStats(
                    municipality_id=municipality_id,
                    service_id=service_id,
                    service_key=rollup_key,
                    day=day,
                    channel=channel,
                    built_at=now,
                    **stats,
                )
                for (service_id, rollup_key, channel), stats in groups.items()
            ]
        )
    return len(groups)


def rebuild_pending(municipality_id: int, day: date) -> bool:
    """Rebuild one marked key and clear its marker unless new events arrived meanwhile.

    Returns True when the marker is still there (new events came in during the rebuild).
    Without a marker there is nothing to do: a marker is created in the transaction
    that stores the events and removed only by a rebuild that saw all of them, so a
    second task for the same key (or one that runs after the demo loader or another
    caller already rebuilt it) costs one read.
    """
    marker = PendingRollup.objects.filter(municipality_id=municipality_id, day=day)
    # Claim: FOR UPDATE waits until every ingestion that holds the marker
    # (PostgreSQL: FOR KEY SHARE, see ``mark_rollups_pending``) has committed,
    # so the rebuild below sees their events; later ones raise the version.
    with transaction.atomic():
        version = marker.select_for_update().values_list("version", flat=True).first()
    if version is None:
        return False
    rebuild_daily_stats(municipality_id, day)
    deleted, _counts = marker.filter(version=version).delete()
    return not deleted and marker.exists()


def rebuild_range(
    *, municipality: Municipality | None = None, since: date | None = None, until: date | None = None
) -> int:
    """Rebuild the rollups of every day with raw events in the range; returns the number of days rebuilt."""
    zone = rollups.local_zone()
    events = UsageEvent.objects.all()
    if municipality is not None:
        events = events.filter(municipality=municipality)
    if since is not None:
        events = events.filter(occurred_at__gte=rollups.day_bounds(since)[0])
    if until is not None:
        events = events.filter(occurred_at__lt=rollups.day_bounds(until)[1])
    keys = set(
        events.annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .order_by()
        .values_list("municipality_id", "day")
        .distinct()
    )
    # Days whose raw events are all gone keep their rollups (retention): only days with events are rebuilt.
    for municipality_id, day in sorted(keys):
        rebuild_daily_stats(municipality_id, day)
    return len(keys)


# --- Housekeeping ---------------------------------------------------------------------


@dataclass
class HousekeepingResult:
    salts_deleted: int
    events_deleted: int
    events_coarsened: int = 0


# Raw events kept longer than this have their times cut to the hour; newer ones are stored to the minute.
HOUR_PRECISION_AFTER = timedelta(days=1)
# Events received within this window are looked at (older ones were coarsened by earlier runs).
COARSEN_WINDOW = timedelta(days=30)


def housekeeping(now: datetime | None = None) -> HousekeepingResult:
    """Delete salts 48 hours after their day began (or after their creation, whichever is first),
    cut the times of raw events older than a day to the hour, and delete raw events older than the
    retention period."""
    now = now or timezone.now()
    with transaction.atomic():
        salts, _ = DailySalt.objects.filter(
            Q(created_at__lt=now - SALT_LIFETIME) | Q(day__lt=salt_open_from(now))
        ).delete()
    cutoff = now - timedelta(days=settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS)
    events = 0
    from dikom.analytics import partitions  # here, not at the top: keeps this change apart from the rollup code

    if partitions.is_partitioned():
        # PostgreSQL: months wholly past the retention are dropped (see dikom.analytics.partitions).
        with transaction.atomic():
            events = partitions.drop_expired_partitions(now)
    if not (settings.DIKOM_ANALYTICS_RETENTION_BY_MONTH and partitions.is_partitioned()):
        # Per municipality, so that the (municipality, occurred_at) index serves the delete.
        for municipality_id in Municipality.objects.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                deleted, _ = UsageEvent.objects.filter(municipality_id=municipality_id, occurred_at__lt=cutoff).delete()
            events += deleted
    coarsened = 0
    for municipality_id in Municipality.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            coarsened += (
                UsageEvent.objects.filter(
                    municipality_id=municipality_id,
                    received_at__lt=now - HOUR_PRECISION_AFTER,
                    received_at__gte=now - HOUR_PRECISION_AFTER - COARSEN_WINDOW,
                )
                .filter(
                    Q(occurred_at__minute__gt=0)
                    | Q(occurred_at__second__gt=0)
                    | Q(received_at__minute__gt=0)
                    | Q(received_at__second__gt=0)
                )
                .update(occurred_at=TruncHour("occurred_at"), received_at=TruncHour("received_at"))
            )
    logger.info(
        "analytics housekeeping: %d salts and %d raw events deleted, %d coarsened to the hour", salts, events, coarsened
    )
    return HousekeepingResult(salts_deleted=salts, events_deleted=events, events_coarsened=coarsened)
