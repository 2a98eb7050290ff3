"""How many hits the public collection endpoints accept: token buckets per client and per site.

Both public endpoints (``/matomo.php`` and ``/api/v1/analytics/collect/<site>``)
take hits from anyone who can name a site, so one sender must not be able to
shut a site's tracking off for everyone. The budget therefore has two buckets:

- **per client and site** (``DIKOM_ANALYTICS_COLLECT_CLIENT_RATE``): the
  client is a keyed hash of the connection's address (IPv6 cut to its /64, the
  block one subscriber gets); neither the address nor the hash is stored
  anywhere but as the cache key of this bucket, which expires with it. An
  abusive client empties its own bucket and is refused; the site's other
  visitors are not.
- **per site** (``DIKOM_ANALYTICS_COLLECT_RATE``): a ceiling for the site as a
  whole, so that many clients together cannot flood the database.

A bucket holds up to ``limit`` tokens and refills at ``limit / period``
tokens a second (so ``3000/min`` allows a burst of 3 000, then 50 a second).
Only hits that are let through take tokens: a refused request costs nothing
and does not push the moment the client may send again further out. A bulk
request larger than what is left is cut: its first hits are taken, the rest
are refused by index.

Each bucket is one number in the cache: the moment it will be full again
(the "theoretical arrival time" of GCRA, equivalent to a token bucket). Read
and write are not atomic; concurrent requests of one client may overshoot by
the hits they carry, which is acceptable for a limit of this kind. Authenticated
Matomo requests are counted per API key in the same way (one token a request).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from dikom.lib.clients import client_network

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
DEFAULT_SITE_RATE = "3000/min"
DEFAULT_CLIENT_RATE = "300/min"


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _sep, unit = text.partition("/")
        return cls(limit=max(int(count), 1), period=PERIODS[unit.strip().lower()])

    @property
    def interval(self) -> float:
        """Seconds one token takes to come back."""
        return self.period / self.limit


def site_rate() -> Rate:
    return Rate.parse(getattr(settings, "DIKOM_ANALYTICS_COLLECT_RATE", DEFAULT_SITE_RATE))


def client_rate() -> Rate:
    return Rate.parse(getattr(settings, "DIKOM_ANALYTICS_COLLECT_CLIENT_RATE", DEFAULT_CLIENT_RATE))


def key_rate() -> Rate:
    framework: dict[str, Any] = settings.REST_FRAMEWORK
    rates: dict[str, str] = framework.get("DEFAULT_THROTTLE_RATES", {})
    return Rate.parse(rates.get("api_key") or "6000/min")


def client_id(request: HttpRequest) -> str:
    """A keyed hash of the connection's address (IPv6: its /64); used only as a cache key.

    ``REMOTE_ADDR`` is the address the server saw; behind a reverse proxy the
    server must be told to put the client's address there (waitress:
    ``trusted_proxy``). Headers the client writes itself (``X-Forwarded-For``)
    are not read: a sender could otherwise pick a new identity per request.
    """
    address = client_network(request)
    key = hashlib.sha256(f"dikom-collect-client:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def _key(bucket: str) -> str:
    return f"dikom:collect:bucket:{bucket}"


def available(bucket: str, rate: Rate, *, now: float | None = None) -> int:
    """Tokens left in ``bucket`` now (0 … ``rate.limit``)."""
    now = time.time() if now is None else now
    full_at = float(cache.get(_key(bucket)) or 0.0)
    used = max(full_at - now, 0.0) / rate.interval
    return max(0, min(rate.limit, int(rate.limit - used + 1e-9)))


def wait_seconds(bucket: str, rate: Rate, amount: int = 1, *, now: float | None = None) -> int:
    """Whole seconds until ``amount`` tokens are in ``bucket`` (at least 1, for Retry-After)."""
    now = time.time() if now is None else now
    full_at = max(float(cache.get(_key(bucket)) or 0.0), now)
    ready_at = full_at - (rate.limit - min(amount, rate.limit)) * rate.interval
    return max(1, int(ready_at - now + 0.999))


def spend(bucket: str, rate: Rate, amount: int, *, now: float | None = None) -> None:
    """Take ``amount`` tokens (call only with what ``available`` allowed)."""
    if amount <= 0:
        return
    now = time.time() if now is None else now
    full_at = max(float(cache.get(_key(bucket)) or 0.0), now) + amount * rate.interval
    cache.set(_key(bucket), full_at, timeout=int(full_at - now) + 2)


@dataclass
class Grant:
    """What a request may send: ``allowed`` hits now; if fewer than wanted, ``retry_after`` seconds until the rest fit."""

    allowed: int
    retry_after: int


def grant_for_site(request: HttpRequest, site_id: str, wanted: int, *, partial: bool = True) -> Grant:
    """Take up to ``wanted`` tokens from the client's and the site's bucket; how many were granted.

    ``partial=False``: all ``wanted`` or none.
    """
    now = time.time()
    client_bucket, client = f"client:{site_id}:{client_id(request)}", client_rate()
    site_bucket, site = f"site:{site_id}", site_rate()
    allowed = min(wanted, available(client_bucket, client, now=now), available(site_bucket, site, now=now))
    if not partial and allowed < wanted:
        allowed = 0
    if allowed > 0:
        spend(client_bucket, client, allowed, now=now)
        spend(site_bucket, site, allowed, now=now)
    if allowed >= wanted:
        return Grant(allowed=allowed, retry_after=0)
    rest = wanted - allowed
    wait = max(wait_seconds(client_bucket, client, rest, now=now), wait_seconds(site_bucket, site, rest, now=now))
    return Grant(allowed=allowed, retry_after=wait)


def grant_for_key(prefix: str) -> Grant:
    """One token of an API key's bucket for an authenticated Matomo request."""
    now = time.time()
    bucket, rate = f"key:{prefix}", key_rate()
    if available(bucket, rate, now=now) < 1:
        return Grant(allowed=0, retry_after=wait_seconds(bucket, rate, now=now))
    spend(bucket, rate, 1, now=now)
    return Grant(allowed=1, retry_after=0)
