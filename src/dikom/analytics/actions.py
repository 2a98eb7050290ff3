"""Everything that changes analytics data: services, ingestion, salts, rollups, housekeeping."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics import incremental, rollups
from dikom.analytics.ingest import SALT_LIFETIME as SALT_LIFETIME  # re-exported: tests and housekeeping
from dikom.analytics.ingest import mark_rollups_pending, salt_open_from
from dikom.analytics.models import (
    DailySalt,
    PendingRollup,
    RollupState,
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
        request_rollups(municipality.pk, days, full=True)
    return count


# --- Rollups --------------------------------------------------------------------------


def request_rollups(municipality_id: int, days: Iterable[date], *, full: bool = False) -> None:
    """Mark (municipality, day) for a rollup update and queue one task per newly marked key on commit.

    A key already marked only gets its version raised, so a running update
    notices the new events and runs again instead of a task being queued per
    batch (``dikom.analytics.ingest.mark_rollups_pending``). ``full``: the
    stored events changed (not only grew), so the next update rebuilds the
    days from all their events instead of adding the new ones.
    """
    days = set(days)
    if full:
        RollupState.objects.filter(municipality_id=municipality_id, day__in=days).delete()
    mark_rollups_pending(municipality_id, days)


def _write_day(municipality_id: int, day: date, groups: dict[tuple[int | None, str, str], dict[str, Any]]) -> None:
    now = timezone.now()
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


def rebuild_daily_stats(municipality_id: int, day: date) -> int:
    """Recompute the rollups of one municipality and local day from all its raw events (idempotent).

    The full rebuild: for corrections, events changed after they were stored and
    days older than yesterday. It drops the day's incremental state, so the next
    incremental update starts again from all events. Returns the number of rollup
    rows written.
    """
    with transaction.atomic():
        groups = rollups.compute_daily_stats(municipality_id, day)
        RollupState.objects.filter(municipality_id=municipality_id, day=day).delete()
        _write_day(municipality_id, day, groups)
    return len(groups)


def incremental_days_from(now: datetime | None = None) -> date:
    """The oldest local day kept up to date incrementally (yesterday; older days are rebuilt in full)."""
    return salt_open_from(now or timezone.now())


def update_daily_stats(
    municipality_id: int, day: date, *, now: datetime | None = None, ids_in_commit_order: bool | None = None
) -> int:
    """Bring the rollups of one municipality and local day up to date with the events stored since
    the last update; returns how many events were added (-1: rebuilt in full).

    Today and yesterday are updated incrementally (``analytics.incremental``):
    only events with an id above ``RollupState.settled_id`` are read, through the
    primary key, and those already applied are skipped. Which ids count as
    settled depends on the database. SQLite serialises writers, so ids become
    visible in increasing order and the largest id read settles everything below
    it. PostgreSQL hands out ids when rows are inserted, and a transaction that
    took lower ids may commit after one with higher ids; a settled bound is the
    largest id visible at a moment at least ``DIKOM_ANALYTICS_ROLLUP_COMMIT_LAG_SECONDS``
    ago (every transaction that held a lower id has finished by then), and the ids
    applied above it are remembered. ``ids_in_commit_order`` overrides the
    choice (tests run the PostgreSQL rule on SQLite). Older days are rebuilt in full.
    """
    clock_given = now is not None
    now = now or timezone.now()
    if day < incremental_days_from(now):
        rebuild_daily_stats(municipality_id, day)
        return -1
    if ids_in_commit_order is None:
        ids_in_commit_order = connection.vendor == "sqlite"
    start, end = rollups.day_bounds(day)
    with transaction.atomic():
        state = RollupState.objects.select_for_update().filter(municipality_id=municipality_id, day=day).first()
        if state is None:
            state = RollupState(municipality_id=municipality_id, day=day)
            fold, recent = incremental.DayFold(), set()
        else:
            stored = orjson.loads(bytes(state.data)) if state.data else {}
            fold = incremental.DayFold.from_state(stored.get("groups", []))
            recent = set(stored.get("recent", []))
        lag_limit = now - _commit_lag()
        matured_bound = None
        if not ids_in_commit_order:
            # Every sample is one of the whole events table: the newest matured sample of any
            # city-day settles this one too (a new state need not wait a lag of its own).
            matured_bound = RollupState.objects.filter(horizon_at__lte=lag_limit).aggregate(top=Max("horizon_id"))[
                "top"
            ]
        events = UsageEvent.objects.filter(
            municipality_id=municipality_id, occurred_at__gte=start, occurred_at__lt=end, id__gt=state.settled_id
        ).order_by()
        if recent:
            # Ids first: most of them were applied before; only the others are read in full.
            ids = [pk for pk in events.values_list("id", flat=True) if pk not in recent]
            new = [
                row
                for chunk in range(0, len(ids), 5000)
                for row in UsageEvent.objects.filter(pk__in=ids[chunk : chunk + 5000])
                .order_by()
                .values_list(*incremental.EVENT_FIELDS)
            ]
        else:
            new = list(events.values_list(*incremental.EVENT_FIELDS))
        fold.apply(new)
        if ids_in_commit_order:
            if new:
                state.settled_id = max(state.settled_id, max(row[0] for row in new))
            recent = set()
        else:
            recent.update(row[0] for row in new)
            if state.horizon_at is not None and state.horizon_at <= lag_limit:
                matured_bound = max(matured_bound or 0, state.horizon_id or 0)
                state.horizon_at = None
            state.settled_id = max(state.settled_id, matured_bound or 0)
            recent = {pk for pk in recent if pk > state.settled_id}
            if state.horizon_at is None:
                state.horizon_id = UsageEvent.objects.aggregate(top=Max("id"))["top"] or 0
                # Taken after the read, so the sample is at least as old as this (tests pass their clock).
                state.horizon_at = now if clock_given else timezone.now()
        state.data = orjson.dumps({"groups": fold.state(), "recent": sorted(recent)})
        state.ran_at = now
        state.save()
        if new or not ServiceDailyStats.objects.filter(municipality_id=municipality_id, day=day).exists():
            _write_day(municipality_id, day, fold.stats())
    return len(new)


def _commit_lag() -> timedelta:
    return timedelta(seconds=settings.DIKOM_ANALYTICS_ROLLUP_COMMIT_LAG_SECONDS)


def rollup_due_at(municipality_id: int, day: date, now: datetime | None = None) -> datetime | None:
    """When the next update of the key may run, if it ran less than the interval ago (else None:
    run now). A key without a marker has nothing to wait for (the task then finds nothing to do)."""
    interval = settings.DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS
    if not interval or not PendingRollup.objects.filter(municipality_id=municipality_id, day=day).exists():
        return None
    ran_at = (
        RollupState.objects.filter(municipality_id=municipality_id, day=day).values_list("ran_at", flat=True).first()
    )
    if ran_at is None:
        return None
    due = ran_at + timedelta(seconds=interval)
    return due if due > (now or timezone.now()) else None


def rebuild_pending(municipality_id: int, day: date) -> bool:
    """Update one marked key and clear its marker unless new events arrived meanwhile.

    Returns True when the marker is still there (new events came in during the update).
    Without a marker there is nothing to do: a marker is created in the transaction
    that stores the events and removed only by an update that saw all of them, so a
    second task for the same key (or one that runs after the demo loader or another
    caller already updated it) costs one read.
    """
    marker = PendingRollup.objects.filter(municipality_id=municipality_id, day=day)
    # Claim: FOR UPDATE waits until every ingestion that holds the marker
    # (PostgreSQL: FOR KEY SHARE, see ``mark_rollups_pending``) has committed,
    # so the update below sees their events; later ones raise the version.
    with transaction.atomic():
        version = marker.select_for_update().values_list("version", flat=True).first()
    if version is None:
        return False
    update_daily_stats(municipality_id, day)
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
    # Incremental rollup states hold visit keys: only for today and yesterday. Coarsened times change
    # completion times, so every state is dropped then and the next update starts from all events.
    states = (
        RollupState.objects.all() if coarsened or events else RollupState.objects.filter(day__lt=salt_open_from(now))
    )
    states.delete()
    logger.info(
        "analytics housekeeping: %d salts and %d raw events deleted, %d coarsened to the hour", salts, events, coarsened
    )
    return HousekeepingResult(salts_deleted=salts, events_deleted=events, events_coarsened=coarsened)
