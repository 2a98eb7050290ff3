"""Per-client rate limit of the sign-in addresses (start, return, ACS).

These addresses answer anyone, and each request costs something: a session
row (start), a request to the identity service (OpenID Connect return), an
XML parse, a signature check and a decryption (SAML ACS). One client address
may make ``DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE`` requests per minute to each
of them; a citizen needs one of each per sign-in.

Counted in fixed one-minute windows in the shared cache. A refused request is
not counted, so a client that keeps trying is let in again when the window
ends. IPv6 clients are counted per /64, the block one connection usually has.
The address comes from ``REMOTE_ADDR``: behind a reverse proxy, the server
must be told to trust the proxy's forwarded address (otherwise all citizens
share the proxy's budget). The address is a cache key only and expires with
its window; it is never stored elsewhere.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from dikom.lib.clients import client_network

PREFIX = "dikom.authproviders.rate:"
WINDOW_SECONDS = 60


def take(request: HttpRequest, scope: str) -> int | None:
    """Count one request of this client against ``scope``: None if it fits, else seconds until it may retry."""
    limit = int(getattr(settings, "DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE", 30))
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    # Hashed so that the cache holds no readable addresses.
    client = hashlib.sha256(client_network(request).encode()).hexdigest()[:32]
    key = f"{PREFIX}{scope}:{client}:{window}"
    wait = max(1, int((window + 1) * WINDOW_SECONDS - now))
    used = cache.get(key, 0)
    if not isinstance(used, int) or used >= limit:
        return wait
    if not cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
    return None
