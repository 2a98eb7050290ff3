"""Read replicas: reads that may lag go to a PostgreSQL streaming replica, everything else to the primary.

The invariant: a read goes to a replica only when all of these hold, otherwise to the primary.

- It happens while a web request is served (``ReplicaReadsMiddleware``) with a safe method
  (GET, HEAD, OPTIONS). Background tasks, periodic jobs and management commands always read the
  primary: a rollup built from a lagging copy would be wrong for good.
- The client did not write within the last ``DIKOM_REPLICA_STICKY_SECONDS`` (read your own writes):
  an unsafe request sets a cookie (browsers) and, when it carries an ``Authorization`` header (API
  clients rarely keep cookies), a mark in the shared cache under a hash of that header.
- The model belongs to an app in ``DIKOM_REPLICA_APPS`` (dashboards, comparison, open data,
  catalogue, SensorThings, search) — never sessions, accounts or cases.
- No transaction is open on the primary in this thread.
- A replica passed its health check within ``DIKOM_REPLICA_CHECK_SECONDS``: reachable, in recovery,
  receiving WAL and at most ``DIKOM_REPLICA_MAX_LAG_SECONDS`` behind (``pg_last_xact_replay_timestamp``;
  a replica that replayed everything it received is not behind).

A request that read from a replica and still ended in a server error (the replica died between the
check and the query) is served once more, on the primary only, and the replica is checked anew
before its next use. Configuration: ``docs/scaling.md``.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

STICKY_COOKIE = "dikom_primary_until"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# One row: in recovery?, a WAL receiver that streams?, seconds behind (0 when everything received is replayed).
# Without pg_monitor (or pg_read_all_stats) the receiver's status reads NULL; its pid still shows it exists.
HEALTH_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL AND coalesce(status, 'streaming') = 'streaming'),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""


@dataclass
class Health:
    healthy: bool
    lag_seconds: float | None
    reason: str
    checked_at: float


@dataclass
class _RequestReads:
    """What the current request may do and did: set by the middleware, read by the router."""

    allowed: bool
    used: set[str] = field(default_factory=set)
    # A POST the view declared a read (``reads_only_when``): no sticky mark afterwards.
    read_only_post: bool = False


_request_reads: contextvars.ContextVar[_RequestReads | None] = contextvars.ContextVar(
    "dikom_replica_reads", default=None
)
# Per process: alias -> last health check. Plain assignments of whole values; a race costs one extra check.
_health: dict[str, Health] = {}


def replica_aliases() -> list[str]:
    """The database aliases of the configured replicas (``replica1``, ``replica2``, …)."""
    return list(getattr(settings, "DIKOM_REPLICA_ALIASES", []))


def check_replica(alias: str) -> Health:
    """Ask the replica ``alias`` whether it may serve reads now (one small query), and remember the answer."""
    now = time.monotonic()
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(HEALTH_SQL)
            in_recovery, receiving, lag = cursor.fetchone()
    except DatabaseError as exc:
        connection.close()
        health = Health(False, None, f"unreachable: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}", now)
    else:
        lag = float(lag)
        limit = settings.DIKOM_REPLICA_MAX_LAG_SECONDS
        if not in_recovery:
            health = Health(False, None, "not a replica (not in recovery)", now)
        elif not receiving:
            health = Health(False, lag, "not receiving WAL from the primary (its lag is unknown)", now)
        elif lag > limit:
            health = Health(False, lag, f"{lag:.1f} s behind (limit {limit} s)", now)
        else:
            health = Health(True, lag, "ok", now)
    previous = _health.get(alias)
    if previous is not None and previous.healthy != health.healthy:
        log = logger.info if health.healthy else logger.warning
        log("read replica %s: %s", alias, "back in use" if health.healthy else f"skipped, {health.reason}")
    _health[alias] = health
    return health


def healthy_replica() -> str | None:
    """A replica that may serve reads now (checked at most every DIKOM_REPLICA_CHECK_SECONDS), or None."""
    aliases = replica_aliases()
    if not aliases:
        return None
    now = time.monotonic()
    interval = settings.DIKOM_REPLICA_CHECK_SECONDS
    candidates = []
    for alias in aliases:
        health = _health.get(alias)
        if health is None or now - health.checked_at >= interval:
            health = check_replica(alias)
        if health.healthy:
            candidates.append(alias)
    if not candidates:
        return None
    return candidates[0] if len(candidates) == 1 else random.choice(candidates)  # noqa: S311 - load spreading


def forget_health(aliases: set[str] | None = None) -> None:
    """Check these replicas (all when None) again before their next use."""
    for alias in list(_health) if aliases is None else aliases:
        _health.pop(alias, None)


class ReplicaRouter:
    """Django database router: lag-tolerant reads of a safe web request to a healthy replica."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        reads = _request_reads.get()
        if reads is None or not reads.allowed:
            return None
        if model._meta.app_label not in settings.DIKOM_REPLICA_APPS:
            return None
        if connections["default"].in_atomic_block:
            return None
        alias = healthy_replica()
        if alias is not None:
            reads.used.add(alias)
        return alias

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replicas hold the same rows as the primary.
        same_data = {"default", *replica_aliases()}
        if obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A replica is read-only and follows the primary's schema by replication.
        return False if db in replica_aliases() else None


def reads_only_when(predicate: Callable[[HttpRequest, dict[str, Any]], bool]) -> Callable[[Any], Any]:
    """Mark a view whose unsafe requests may still be pure reads (e.g. CKAN's Action API, which
    ``ckanapi`` calls with POST for everything): when ``predicate(request, view_kwargs)`` is true, such
    a request reads like a GET (replica allowed, no sticky mark). Apply it outermost."""

    def mark(view: Any) -> Any:
        view.replica_reads_only_when = predicate
        return view

    return mark


def _auth_mark_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization")
    if not header:
        return None
    return "dikom:replica:wrote:" + hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()[:32]


def _wrote_recently(request: HttpRequest, now: float) -> bool:
    try:
        if float(request.COOKIES.get(STICKY_COOKIE, "0")) > now:
            return True
    except ValueError:
        pass
    key = _auth_mark_key(request)
    return bool(key and cache.get(key))


def _remember_write(request: HttpRequest, response: HttpResponse, now: float) -> None:
    window = settings.DIKOM_REPLICA_STICKY_SECONDS
    if window <= 0:
        return
    response.set_cookie(
        STICKY_COOKIE,
        f"{now + window:.3f}",
        max_age=window,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    key = _auth_mark_key(request)
    if key:
        cache.set(key, 1, timeout=window)


class ReplicaReadsMiddleware:
    """Decides per request whether lag-tolerant reads may go to a replica (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        now = time.time()
        safe = request.method in SAFE_METHODS
        reads = _RequestReads(allowed=safe and not _wrote_recently(request, now))
        token = _request_reads.set(reads)
        try:
            response = self.get_response(request)
            if response.status_code >= 500 and reads.used:
                # The replica may have died after its check: once more, on the primary only.
                logger.warning(
                    "request %s failed after reading from %s; served again from the primary",
                    request.path,
                    sorted(reads.used),
                )
                forget_health(reads.used)
                for alias in reads.used:
                    connections[alias].close()
                _request_reads.set(_RequestReads(allowed=False))
                response = self.get_response(request)
        finally:
            _request_reads.reset(token)
        if not safe and not reads.read_only_post:
            _remember_write(request, response, now)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        reads = _request_reads.get()
        predicate = getattr(view_func, "replica_reads_only_when", None)
        if reads is None or predicate is None or request.method in SAFE_METHODS:
            return None
        if predicate(request, view_kwargs):
            reads.read_only_post = True
            reads.allowed = not _wrote_recently(request, time.time())
        return None
