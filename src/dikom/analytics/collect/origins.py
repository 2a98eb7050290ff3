"""Browser origins and the per-site rate limit of the public collection endpoints.

The rate limit counts requests per site (and per API key for authenticated
Matomo requests) in a fixed window in the cache; no client address is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

DEFAULT_SITE_RATE = "3000/min"
PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case for an http(s) URL or origin; None when it is none."""
    if not isinstance(value, str) or len(value) > 300 or any(ch.isspace() for ch in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    origin = f"{parts.scheme}://{parts.hostname}"
    default_port = 443 if parts.scheme == "https" else 80
    if port is not None and port != default_port:
        origin += f":{port}"
    return origin


def request_origin(request: HttpRequest) -> tuple[bool, str | None]:
    """(whether the request names an origin, the normalised origin or None when unparsable).

    Browsers send ``Origin`` on POST and CORS requests and a ``Referer`` on
    image requests; a request without either is from a server.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return True, normalise_origin(origin)
    if origin == "null":  # sandboxed frames, file:// pages: never an allowed origin
        return True, None
    referer = request.headers.get("Referer")
    if referer:
        return True, normalise_origin(referer)
    return False, None


def origin_allowed(allowed: list[str], request: HttpRequest, *, require: bool = False) -> bool:
    """True when the request names one of ``allowed`` or dikom's own origin, or names none (a server-side
    sender) and the site does not ``require`` one.

    dikom's own pages (the demo form) may always send: no other site can put a page on
    dikom's origin, and a browser names the page's true origin.
    """
    present, origin = request_origin(request)
    if not present:
        return not require
    if origin is None:
        return False
    return origin in set(allowed) or origin == normalise_origin(request.build_absolute_uri("/"))


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _sep, unit = text.partition("/")
        return cls(limit=int(count), period=PERIODS[unit.strip().lower()])


def site_rate() -> Rate:
    return Rate.parse(getattr(settings, "DIKOM_ANALYTICS_COLLECT_RATE", DEFAULT_SITE_RATE))


def key_rate() -> Rate:
    framework: dict[str, Any] = settings.REST_FRAMEWORK
    rates: dict[str, str] = framework.get("DEFAULT_THROTTLE_RATES", {})
    return Rate.parse(rates.get("api_key") or "6000/min")


def take(bucket: str, rate: Rate, amount: int = 1) -> int | None:
    """Count ``amount`` requests against ``bucket``; None if within the rate, else seconds until the window ends."""
    now = time.time()
    window = int(now // rate.period)
    key = f"dikom:collect:rate:{bucket}:{window}"
    cache.add(key, 0, timeout=rate.period + 5)
    try:
        used = cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.set(key, amount, timeout=rate.period + 5)
        used = amount
    if used > rate.limit:
        return max(1, int((window + 1) * rate.period - now) + 1)
    return None
