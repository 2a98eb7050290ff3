"""The ingestion path of usage events: durable storage of validated events.

Validation is in ``eventcheck``; ``check_events`` here applies it to a request's
events and resolves their services.

Storage (``ingest_events``): every statement is written out in SQL, not built
by the ORM per request: compiling a queryset costs more CPU than the database
needs to answer it (about 0.7 ms against 0.1 ms per statement, measured, see
``docs/benchmarks.md``). A single event costs six statements (service, salt,
insert, rollup marker lock and bump, commit); a batch a few more, whatever its
size.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from dikom.analytics import rollups
from dikom.analytics.eventcheck import (
    MAX_COMMENT_LENGTH,
    Limits,
    fast_event,
    validate_event,
)
from dikom.analytics.models import (
    Channel,
    DailySalt,
    EventSource,
    PendingRollup,
    Service,
    ServiceKeyAlias,
    UsageEvent,
)
from dikom.analytics.privacy import scrub_comment, to_minute, visit_key
from dikom.municipalities.models import Municipality

# --- Storage --------------------------------------------------------------------------

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

# At most this many parameters per IN list (SQLite allows 32 766 per statement).
IN_CHUNK = 5000


@dataclass
class IngestResult:
    """What became of a list of events: stored, already known, rejected (index and errors)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def salt_open_from(now: datetime) -> date:
    """The oldest day whose salt may still exist: a day's salt lives 48 hours from the day's start
    (and at most 48 hours from its creation), so only today's and yesterday's do."""
    return timezone.localdate(now) - timedelta(days=1)


def _salts(days: Iterable[date], now: datetime) -> dict[date, bytes]:
    """The salts of ``days``, creating missing ones. A salt is never used after its 48 hours:
    expired ones are deleted here (and by housekeeping) and replaced by a fresh one.

    A day whose 48 hours are over (a backfill) gets a salt for this call only, never stored:
    the visits of one request still count once, and nobody can hash a visit id to its key later.
    """
    wanted = sorted(set(days))
    if not wanted:
        return {}
    open_from = salt_open_from(now)
    found: dict[date, bytes] = {day: secrets.token_bytes(SALT_BYTES) for day in wanted if day < open_from}
    wanted = [day for day in wanted if day >= open_from]
    if not wanted:
        return found
    # Usually every salt exists and is fresh: one read, no write. Expired salts
    # are deleted only when a salt has to be created (and daily by housekeeping).
    ops = connection.ops
    fresh_since = ops.adapt_datetimefield_value(now - SALT_LIFETIME)
    with connection.cursor() as cursor:
        for chunk in _chunks(wanted):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT day, salt FROM {_table(DailySalt)} WHERE created_at >= %s AND day IN ({marks})",  # noqa: S608
                [fresh_since, *(ops.adapt_datefield_value(day) for day in chunk)],
            )
            found.update((_as_date(day), bytes(salt)) for day, salt in cursor.fetchall())
    missing = set(wanted) - found.keys()
    if missing:
        DailySalt.objects.filter(Q(created_at__lt=now - SALT_LIFETIME) | Q(day__lt=open_from)).delete()
        # In date order: two requests creating the same days wait for each other's rows in the
        # same order, never crosswise (a set of dates iterates in a per-process order, which
        # deadlocked two server processes creating a month of salts at once).
        DailySalt.objects.bulk_create(
            [DailySalt(day=day, salt=secrets.token_bytes(SALT_BYTES), created_at=now) for day in sorted(missing)],
            ignore_conflicts=True,
        )
        found.update(
            (day, bytes(salt)) for day, salt in DailySalt.objects.filter(day__in=missing).values_list("day", "salt")
        )
    return found


def _resolve_services(municipality_id: int, keys: set[str]) -> dict[str, tuple[int, str]]:
    """service key → (service id, default channel), by external key or alias; one statement per 5 000 keys.

    A registered service wins over an alias with the same key.
    """
    service, alias = _table(Service), _table(ServiceKeyAlias)
    resolved: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(keys)):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT 1, a.key, s.id, s.channel FROM {alias} a JOIN {service} s ON s.id = a.service_id "  # noqa: S608
                f"WHERE a.municipality_id = %s AND a.key IN ({marks}) "
                f"UNION ALL SELECT 0, s.external_key, s.id, s.channel FROM {service} s "
                f"WHERE s.municipality_id = %s AND s.external_key IN ({marks}) ORDER BY 1 DESC",
                [municipality_id, *chunk, municipality_id, *chunk],
            )
            resolved.update((key, (pk, channel)) for _order, key, pk, channel in cursor.fetchall())
    return resolved


# PostgreSQL: below this many rows a plain multi-row INSERT beats COPY through a staging table.
COPY_MIN_ROWS = 50


def _insert_events(rows: Sequence[tuple[Any, ...]], direct_copy: bool = False) -> int:
    """Insert ``rows``; rows whose event id is already stored are skipped. Returns how many were inserted.

    ``INSERT … ON CONFLICT DO NOTHING`` (SQLite ≥ 3.24 and PostgreSQL) makes a
    re-sent event a no-op even when two requests race; the row count of each
    statement is exactly the number of rows inserted. ``direct_copy``
    (PostgreSQL, large batches): see ``_copy_new_events``.
    """
    if not rows:
        return 0
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in EVENT_COLUMNS)
    table = _table(UsageEvent)
    if connection.vendor == "postgresql":
        if len(rows) >= COPY_MIN_ROWS:
            if direct_copy:
                return _copy_new_events(rows, columns)
            return _insert_events_copy(rows, columns)
        # A few rows (single events from forms): one plain statement, no staging table.
        with connection.cursor() as cursor:
            _insert_values(cursor, rows)
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


def _insert_values(cursor: Any, rows: Sequence[tuple[Any, ...]], returning: str = "") -> None:
    """PostgreSQL: ``rows`` as one multi-row ``INSERT … ON CONFLICT DO NOTHING`` [``RETURNING``]."""
    columns = ", ".join(connection.ops.quote_name(c) for c in EVENT_COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"] * len(rows))
    cursor.execute(
        f"INSERT INTO {_table(UsageEvent)} ({columns}) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608
        + (f" RETURNING {returning}" if returning else ""),
        [value for row in rows for value in row],
    )


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
    table = _table(UsageEvent)
    definition = ", ".join(f"{c} {kind}" for c, kind in zip(EVENT_COLUMNS, PG_COLUMN_TYPES, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({definition}) ON COMMIT DELETE ROWS")
        with cursor.cursor.copy(f"COPY {STAGING_TABLE} ({columns}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGING_TABLE} ON CONFLICT DO NOTHING"  # noqa: S608
        )
        inserted = int(cursor.rowcount)
        # Emptied now, not only at commit: a caller may ingest twice in one transaction.
        cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # noqa: S608
    return inserted


def _copy_new_events(rows: Sequence[tuple[Any, ...]], columns: str) -> int:
    """PostgreSQL: leave out the rows whose event id is already stored (one index lookup for the
    batch), then ``COPY`` the rest straight into the events table.

    Half the database's work of the staging path (``_insert_events_copy``):
    each row is written once. Only a batch racing another one with the same
    event ids can still conflict; the unique index then fails the ``COPY``
    (``DirectCopyConflict``) and the caller stores the batch again through the
    staging table, which skips such rows.
    """
    import psycopg

    table = _table(UsageEvent)
    municipality_id = rows[0][0]
    ids = [row[3] for row in rows if row[3] is not None]
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                f"SELECT event_id FROM {table} WHERE municipality_id = %s AND event_id = ANY(%s)",  # noqa: S608
                [municipality_id, ids],
            )
            known = {event_id for (event_id,) in cursor.fetchall()}
            if known:
                rows = [row for row in rows if row[3] is None or row[3] not in known]
        try:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        except psycopg.errors.UniqueViolation as exc:
            raise DirectCopyConflict from exc
    return len(rows)


class DirectCopyConflict(Exception):
    """A concurrent batch stored one of the same event ids first: store again through the staging table."""


def _datetime_adapter() -> Callable[[datetime], Any]:
    """How an aware datetime goes into the raw insert, per database.

    PostgreSQL: ISO 8601 text with its UTC offset, which the ``timestamptz``
    column reads exactly; psycopg formats text for ``COPY`` about three times
    faster than a datetime (2.6 against 6.7 µs per event of a batch, measured).
    On SQLite this is what ``connection.ops.adapt_datetimefield_value`` does
    (naive in the connection's time zone, ``str``) without its per-call
    checks: the values come from the validator and are always aware.
    """
    if connection.vendor == "sqlite":
        zone = connection.timezone

        def naive_text(value: datetime) -> str:
            return str(value.astimezone(zone).replace(tzinfo=None))

        return naive_text
    return datetime.isoformat


@dataclass
class Batch:
    """The checked events of one request, ready to store: what ``store_batches`` writes and counts."""

    municipality_id: int
    events: list[tuple[dict[str, Any], date]]  # (clean event, local day), event ids unique within the batch
    source: str = EventSource.API
    api_key_prefix: str = ""
    result: IngestResult = field(default_factory=IngestResult)


def check_events(
    municipality_id: int,
    items: Sequence[Any],
    *,
    source: str = EventSource.API,
    api_key_prefix: str = "",
    now: datetime | None = None,
) -> Batch:
    """Validate ``items`` one by one: the valid ones go into the batch, the invalid ones into
    ``result.rejected`` (index and errors); an event id repeated within ``items`` counts as a duplicate."""
    limits = Limits.around(now or timezone.now())
    zone = rollups.local_zone()
    batch = Batch(municipality_id, [], source, api_key_prefix)
    result = batch.result
    valid = batch.events
    seen_ids: set[str] = set()
    rejected = result.rejected
    for index, item in enumerate(items):
        event = fast_event(item, limits)
        if event is None:
            event, errors = validate_event(item, limits)
            if event is None:
                rejected.append({"index": index, "errors": errors})
                continue
        event_id = event["event_id"]
        if event_id is not None:
            if event_id in seen_ids:
                result.duplicates += 1
                continue
            seen_ids.add(event_id)
        valid.append((event, event["occurred_at"].astimezone(zone).date()))
    return batch


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
    batch = check_events(municipality.pk, items, source=source, api_key_prefix=api_key_prefix, now=now)
    if batch.events:
        store_batches([batch], now=now)
    return batch.result


def _rows(
    batch: Batch, services: dict[str, tuple[int, str]], salts: dict[date, bytes], received_at: Any
) -> list[tuple[Any, ...]]:
    """The insert rows of ``batch`` in ``EVENT_COLUMNS`` order (visit keys hashed, comments scrubbed)."""
    mid = batch.municipality_id
    source, api_key_prefix = batch.source, batch.api_key_prefix
    adapt = _datetime_adapter()
    unassigned = (None, Channel.WEB)
    # A visit sends several events: hash each (day, visit id) once per batch.
    visit_keys: dict[tuple[date, str], str] = {}
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for event, day in batch.events:
        service_id, default_channel = services.get(event["service"], unassigned)
        visit_id = event["visit_id"]
        comment = event["comment"]
        visit = None
        if visit_id:
            visit = visit_keys.get((day, visit_id))
            if visit is None:
                visit = visit_keys[day, visit_id] = visit_key(salts[day], mid, visit_id)
        append(
            (
                mid,
                service_id,
                event["service"],
                event["event_id"],
                event["type"],
                adapt(to_minute(event["occurred_at"])),
                received_at,
                visit,
                event["step_key"],
                event["step_position"],
                event["auth_method"],
                event["payment_method"],
                event["channel"] or default_channel,
                event["device_class"],
                event["rating"],
                scrub_comment(comment)[:MAX_COMMENT_LENGTH] if comment else "",
                source,
                api_key_prefix,
            )
        )
    return rows


def store_batches(batches: Sequence[Batch], *, now: datetime | None = None) -> None:
    """Store the events of ``batches`` in one transaction, committed before returning, and count
    per batch what was stored (``result.accepted``) and what was already known (``result.duplicates``).

    Several batches at once is how the group commit (``dikom.analytics.groupcommit``)
    stores the single events of concurrent requests with one commit. An event id
    sent by two batches of the group is stored once and counted for the first.
    """
    now = now or timezone.now()
    services: dict[int, dict[str, tuple[int, str]]] = {}
    for batch in batches:
        keys = {event["service"] for event, _day in batch.events}
        known = services.setdefault(batch.municipality_id, {})
        missing = keys - known.keys()
        if missing:
            known.update(_resolve_services(batch.municipality_id, missing))
    try:
        inserted = _store(batches, services, now, direct_copy=True)
    except DirectCopyConflict:
        inserted = _store(batches, services, now, direct_copy=False)
    # Counted only now that the transaction has committed: a failed group changes no result.
    for batch, count in zip(batches, inserted, strict=True):
        batch.result.accepted += count
        batch.result.duplicates += len(batch.events) - count


def _store(
    batches: Sequence[Batch], services: dict[int, dict[str, tuple[int, str]]], now: datetime, *, direct_copy: bool
) -> list[int]:
    """One transaction: salts, rows, insert, rollup markers; returns the rows stored per batch."""
    received_at = _datetime_adapter()(to_minute(now))
    with transaction.atomic():
        salts = _salts({day for batch in batches for event, day in batch.events if event["visit_id"]}, now)
        rows = [_rows(batch, services[batch.municipality_id], salts, received_at) for batch in batches]
        if len(batches) == 1:
            inserted = [_insert_events(rows[0], direct_copy=direct_copy)]
        else:
            inserted = _insert_group(_without_repeated_ids(rows))
        # A batch that only repeated stored events (a retry) changes no rollup: no marker, no rebuild.
        days: dict[int, set[date]] = {}
        for batch, count in zip(batches, inserted, strict=True):
            if count:
                days.setdefault(batch.municipality_id, set()).update(day for _event, day in batch.events)
        for municipality_id, touched in days.items():
            mark_rollups_pending(municipality_id, touched)
    return inserted


def _without_repeated_ids(rows_per_batch: list[list[tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
    """An event id sent by two batches of one group: the first keeps it (the later one counts a duplicate)."""
    seen: set[tuple[int, str]] = set()
    result = []
    for rows in rows_per_batch:
        kept = []
        for row in rows:
            if row[3] is not None:
                key = (row[0], row[3])
                if key in seen:
                    continue
                seen.add(key)
            kept.append(row)
        result.append(kept)
    return result


def _insert_group(rows_per_batch: Sequence[Sequence[tuple[Any, ...]]]) -> list[int]:
    """Insert the rows of several batches; how many rows of each were new.

    Event ids are unique across the group (``_without_repeated_ids``), so a row is
    skipped only for an id stored before. PostgreSQL: one statement for the
    group, ``RETURNING`` names the stored ids; SQLite: one ``executemany`` per
    batch, whose row count is exact.
    """
    if connection.vendor != "postgresql":
        return [_insert_events(rows) for rows in rows_per_batch]
    everything = [row for rows in rows_per_batch for row in rows]
    if not everything:
        return [0 for _rows in rows_per_batch]
    with connection.cursor() as cursor:
        _insert_values(cursor, everything, returning="municipality_id, event_id")
        stored = {(mid, event_id) for mid, event_id in cursor.fetchall() if event_id is not None}
    # Rows without an event id cannot conflict: always stored.
    return [sum(1 for row in rows if row[3] is None or (row[0], row[3]) in stored) for rows in rows_per_batch]


# --- Rollup markers -------------------------------------------------------------------

# Rounds of the marker protocol before giving up (each round needs another
# transaction to create or delete the same marker at the same moment).
MARK_ATTEMPTS = 10


def mark_rollups_pending(municipality_id: int, days: Iterable[date]) -> None:
    """Mark (municipality, day) for a rollup rebuild, in the caller's transaction.

    A day without a marker gets one, and one rebuild task is queued on commit.
    A day that is already marked gets its version raised, so that a rebuild
    that read the version before these events were committed runs again
    (``actions.rebuild_pending``).

    PostgreSQL: the plain ``UPDATE`` would lock the marker row until commit,
    and every request for the same city and day (in practice: every request
    of a city) would wait for the previous one's commit, WAL flush included:
    at most one commit per disk flush. Instead the transaction takes a
    ``FOR KEY SHARE`` lock, which concurrent ingestions share, and raises the
    version only if no other transaction is raising it right now (``SKIP
    LOCKED``). A rebuild claims the marker with ``FOR UPDATE``, which waits
    for every ingestion holding either lock, so it never misses their events;
    an ingestion that starts after the claim raises the version (the lock is
    free then, or held by another such ingestion, which raises it).
    """
    wanted = sorted(set(days))
    if not wanted:
        return
    if connection.vendor == "postgresql":
        created = _mark_postgresql(municipality_id, wanted)
    else:
        created = _mark_upsert(municipality_id, wanted)
    if created:
        from dikom.analytics.tasks import rebuild_pending_rollup

        for day in sorted(created):
            transaction.on_commit(
                partial(rebuild_pending_rollup.enqueue, municipality_id, day.isoformat()), robust=True
            )


def _mark_upsert(municipality_id: int, days: list[date]) -> list[date]:
    """SQLite (writers are serialised by the database lock): one upsert; returns the days newly marked."""
    table = _table(PendingRollup)
    adapt = connection.ops.adapt_datefield_value
    created: list[date] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(days, IN_CHUNK // 2):
            values = ", ".join(["(%s, %s, 1)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (municipality_id, day, version) VALUES {values} "  # noqa: S608
                f"ON CONFLICT (municipality_id, day) DO UPDATE SET version = {table}.version + 1 "
                "RETURNING day, version",
                [value for day in chunk for value in (municipality_id, adapt(day))],
            )
            created.extend(_as_date(day) for day, version in cursor.fetchall() if version == 1)
    return created


def _mark_postgresql(municipality_id: int, days: list[date]) -> list[date]:
    """The shared-lock protocol of ``mark_rollups_pending``; returns the days newly marked."""
    table = _table(PendingRollup)
    created: list[date] = []
    pending = days
    with connection.cursor() as cursor:
        for _attempt in range(MARK_ATTEMPTS):
            cursor.execute(
                f"SELECT id, day FROM {table} WHERE municipality_id = %s AND day = ANY(%s) FOR KEY SHARE",  # noqa: S608
                [municipality_id, pending],
            )
            found = dict(cursor.fetchall())
            if found:
                # The municipality in both: on Citus the statement then goes to one shard.
                cursor.execute(
                    f"UPDATE {table} SET version = version + 1 WHERE municipality_id = %s AND id IN "  # noqa: S608
                    f"(SELECT id FROM {table} WHERE municipality_id = %s AND id = ANY(%s) "
                    "FOR NO KEY UPDATE SKIP LOCKED)",
                    [municipality_id, municipality_id, list(found)],
                )
            marked = set(found.values())
            missing = [day for day in pending if day not in marked]
            if not missing:
                return created
            cursor.execute(
                f"INSERT INTO {table} (municipality_id, day, version) "  # noqa: S608
                "SELECT %s, day, 1 FROM unnest(%s::date[]) AS day ON CONFLICT DO NOTHING RETURNING day",
                [municipality_id, missing],
            )
            inserted = {day for (day,) in cursor.fetchall()}
            created.extend(inserted)
            # A conflict: another transaction created (or deleted) the marker a
            # moment ago; it is committed now, so the next round finds it.
            pending = [day for day in missing if day not in inserted]
            if not pending:
                return created
    raise RuntimeError(f"could not mark rollups of municipality {municipality_id} for {pending}")
