"""Everything that changes analytics data: services, ingestion, salts, rollups, housekeeping."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics import rollups
from dikom.analytics.ingest import Limits, validate_event
from dikom.analytics.models import (
    Channel,
    DailySalt,
    EventSource,
    PendingRollup,
    Service,
    ServiceDailyStats,
    ServiceKeyAlias,
    UsageEvent,
)
from dikom.analytics.privacy import scrub_comment, visit_key
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality

logger = logging.getLogger(__name__)

SALT_LIFETIME = timedelta(hours=48)
SALT_BYTES = 32

# Columns of the raw insert, in this order.
EVENT_COLUMNS = (
    "municipality_id",
    "service_id",
    "service_key",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "visit",
    "step_key",
    "step_position",
    "auth_method",
    "payment_method",
    "channel",
    "device_class",
    "rating",
    "comment",
    "source",
    "api_key_prefix",
)


@dataclass
class IngestResult:
    """What became of a list of events: stored, already known, rejected (index and errors)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# --- Services -------------------------------------------------------------------------


SERVICE_FIELDS = ("name", "external_key", "leika_key", "ozg_topic", "channel", "source_system")


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


# --- Ingestion ------------------------------------------------------------------------


def _salts(days: Iterable[date], now: datetime) -> dict[date, bytes]:
    """The salts of ``days``, creating missing ones. A salt is never used after 48 hours:
    expired ones are deleted here (and by housekeeping) and replaced by a fresh one."""
    wanted = set(days)
    if not wanted:
        return {}
    # Usually every salt exists and is fresh: one read, no write. Expired salts
    # are deleted only when a salt has to be created (and daily by housekeeping).
    fresh = DailySalt.objects.filter(day__in=wanted, created_at__gte=now - SALT_LIFETIME)
    found = dict(fresh.values_list("day", "salt"))
    missing = wanted - found.keys()
    if missing:
        DailySalt.objects.filter(created_at__lt=now - SALT_LIFETIME).delete()
        DailySalt.objects.bulk_create(
            [DailySalt(day=day, salt=secrets.token_bytes(SALT_BYTES), created_at=now) for day in missing],
            ignore_conflicts=True,
        )
        found = dict(DailySalt.objects.filter(day__in=wanted).values_list("day", "salt"))
    return {day: bytes(salt) for day, salt in found.items()}


def _resolve_services(municipality: Municipality, keys: set[str]) -> dict[str, tuple[int, str]]:
    """service key → (service id, default channel), by external key or alias; one or two queries."""
    resolved = {
        key: (pk, channel)
        for key, pk, channel in Service.objects.filter(municipality=municipality, external_key__in=keys).values_list(
            "external_key", "pk", "channel"
        )
    }
    rest = keys - resolved.keys()
    if rest:
        aliases = ServiceKeyAlias.objects.filter(municipality=municipality, key__in=rest).values_list(
            "key", "service_id", "service__channel"
        )
        resolved.update({key: (pk, channel) for key, pk, channel in aliases})
    return resolved


# PostgreSQL: below this many rows a plain multi-row INSERT beats COPY through a staging table.
COPY_MIN_ROWS = 50


def _insert_events(rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert ``rows``; rows whose event id is already stored are skipped. Returns how many were inserted.

    ``INSERT … ON CONFLICT DO NOTHING`` (SQLite ≥ 3.24 and PostgreSQL) makes a
    re-sent event a no-op even when two requests race; the row count of each
    statement is exactly the number of rows inserted.
    """
    if not rows:
        return 0
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in EVENT_COLUMNS)
    table = quote(UsageEvent._meta.db_table)
    if connection.vendor == "postgresql":
        if len(rows) >= COPY_MIN_ROWS:
            return _insert_events_copy(rows, columns)
        # A few rows (single events from forms): one plain statement, no staging table.
        values = ", ".join(["(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING",  # noqa: S608 - fixed names
                [value for row in rows for value in row],
            )
            return int(cursor.rowcount)
    # SQLite: one prepared statement run for every row by the driver
    # (``executemany``), on the driver's cursor: Django's wrapper would rewrite
    # the placeholders of the statement with a regular expression per call.
    # sqlite3 sums the changes of all rows into ``rowcount``; ignored
    # conflicts are no changes.
    placeholders = ", ".join(["?"] * len(EVENT_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        driver_cursor = cursor.cursor
        sqlite3.Cursor.executemany(driver_cursor, sql, rows)
        return int(driver_cursor.rowcount)


STAGING_TABLE = "dikom_analytics_event_load"
# PostgreSQL types of EVENT_COLUMNS, for the staging table.
PG_COLUMN_TYPES = (
    "bigint", "bigint", "text", "text", "text", "timestamptz", "timestamptz", "text", "text",
    "integer", "text", "text", "text", "text", "smallint", "text", "text", "text",
)  # fmt: skip


def _insert_events_copy(rows: Sequence[tuple[Any, ...]], columns: str) -> int:
    """PostgreSQL: COPY the rows into a session-local staging table, then one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING``.

    COPY is the fastest way into PostgreSQL, but cannot skip conflicting rows by
    itself; the staging table keeps the duplicate handling (and its exact row
    count) in the final INSERT. A multi-row VALUES list would carry 18
    parameters per row, and composing such statements dominated the cost.
    """
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    definition = ", ".join(f"{c} {kind}" for c, kind in zip(EVENT_COLUMNS, PG_COLUMN_TYPES, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({definition}) ON COMMIT DELETE ROWS")
        with cursor.cursor.copy(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGING_TABLE} ON CONFLICT DO NOTHING"  # noqa: S608
        )
        inserted = cursor.rowcount
        # Emptied now, not only at commit: a caller may ingest twice in one transaction.
        cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # noqa: S608
    return inserted


def _datetime_adapter() -> Callable[[datetime], Any]:
    """How an aware datetime goes into the raw insert, per database.

    PostgreSQL's COPY takes the datetime itself. On SQLite this is what
    ``connection.ops.adapt_datetimefield_value`` does (naive in the
    connection's time zone, ``str``) without its per-call checks: the values
    come from the validator and are always aware.
    """
    if connection.vendor == "sqlite":
        zone = connection.timezone

        def naive_text(value: datetime) -> str:
            return str(value.astimezone(zone).replace(tzinfo=None))

        return naive_text
    return connection.ops.adapt_datetimefield_value


def ingest_events(
    municipality: Municipality,
    items: Sequence[Any],
    *,
    source: str = EventSource.API,
    api_key_prefix: str = "",
) -> IngestResult:
    """Validate ``items`` one by one and store the valid ones durably (committed before returning).

    Events with an ``event_id`` that is already stored (or repeated within
    ``items``) count as duplicates. Rollups of the touched days are rebuilt by a
    background task queued on commit.
    """
    now = timezone.now()
    limits = Limits.around(now)
    zone = rollups.local_zone()
    result = IngestResult()
    valid: list[tuple[dict[str, Any], date]] = []
    seen_ids: set[str] = set()
    for index, item in enumerate(items):
        event, errors = validate_event(item, limits)
        if event is None:
            result.rejected.append({"index": index, "errors": errors})
            continue
        event_id = event["event_id"]
        if event_id is not None:
            if event_id in seen_ids:
                result.duplicates += 1
                continue
            seen_ids.add(event_id)
        valid.append((event, event["occurred_at"].astimezone(zone).date()))
    if not valid:
        return result

    services = _resolve_services(municipality, {event["service"] for event, _day in valid})
    mid = municipality.pk
    adapt = _datetime_adapter()
    received_at = adapt(now)
    # A visit sends several events: hash each (day, visit id) once per batch.
    visit_keys: dict[tuple[date, str], str] = {}
    with transaction.atomic():
        salts = _salts({day for event, day in valid if event["visit_id"]}, now)
        rows = []
        for event, day in valid:
            service_id, default_channel = services.get(event["service"], (None, Channel.WEB))
            visit_id = event["visit_id"]
            comment = event["comment"]
            visit = None
            if visit_id:
                visit = visit_keys.get((day, visit_id))
                if visit is None:
                    visit = visit_keys[day, visit_id] = visit_key(salts[day], mid, visit_id)
            rows.append(
                (
                    mid,
                    service_id,
                    event["service"],
                    event["event_id"],
                    event["type"],
                    adapt(event["occurred_at"]),
                    received_at,
                    visit,
                    event["step_key"],
                    event["step_position"],
                    event["auth_method"],
                    event["payment_method"],
                    event["channel"] or default_channel,
                    event["device_class"],
                    event["rating"],
                    scrub_comment(comment)[:2000] if comment else "",
                    source,
                    api_key_prefix,
                )
            )
        inserted = _insert_events(rows)
        request_rollups(mid, {day for _event, day in valid})
    result.accepted = inserted
    result.duplicates += len(rows) - inserted
    return result


# --- Rollups --------------------------------------------------------------------------


def request_rollups(municipality_id: int, days: Iterable[date]) -> None:
    """Mark (municipality, day) for a rebuild and queue one task per newly marked key on commit.

    A key already marked only gets its version raised (which also locks the
    marker until this transaction commits), so a running rebuild notices the
    new events and runs again instead of a task being queued per batch.
    """
    from dikom.analytics.tasks import rebuild_pending_rollup

    table = connection.ops.quote_name(PendingRollup._meta.db_table)
    to_queue: list[date] = []
    for day in sorted(set(days)):
        marker = PendingRollup.objects.filter(municipality_id=municipality_id, day=day)
        if marker.update(version=F("version") + 1):
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (municipality_id, day, version) VALUES (%s, %s, 1) ON CONFLICT DO NOTHING",  # noqa: S608
                [municipality_id, connection.ops.adapt_datefield_value(day)],
            )
            created = cursor.rowcount == 1
        if created:
            to_queue.append(day)
        else:  # another request created it a moment ago
            marker.update(version=F("version") + 1)
    for day in to_queue:
        transaction.on_commit(partial(rebuild_pending_rollup.enqueue, municipality_id, day.isoformat()), robust=True)


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
    """
    marker = PendingRollup.objects.filter(municipality_id=municipality_id, day=day)
    version = marker.values_list("version", flat=True).first()
    rebuild_daily_stats(municipality_id, day)
    if version is None:
        return False
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


def housekeeping(now: datetime | None = None) -> HousekeepingResult:
    """Delete salts older than 48 hours and raw events older than the retention period."""
    now = now or timezone.now()
    with transaction.atomic():
        salts, _ = DailySalt.objects.filter(created_at__lt=now - SALT_LIFETIME).delete()
    cutoff = now - timedelta(days=settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS)
    events = 0
    # Per municipality, so that the (municipality, occurred_at) index serves the delete.
    for municipality_id in Municipality.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            deleted, _ = UsageEvent.objects.filter(municipality_id=municipality_id, occurred_at__lt=cutoff).delete()
        events += deleted
    logger.info("analytics housekeeping: %d salts and %d raw events deleted", salts, events)
    return HousekeepingResult(salts_deleted=salts, events_deleted=events)
