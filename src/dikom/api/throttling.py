"""Rate limits: per API key, and per client address for anonymous requests.

The client address is used only as a transient cache key of the rate limiter
and expires with its window; it is never stored anywhere else.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from dikom.accounts.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        return None


class AnonBurstThrottle(SimpleRateThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class IngestRateThrottle(ApiKeyRateThrottle):
    """A separate, higher budget per key for high-volume ingestion endpoints, so that
    a busy form system's events do not use up the key's budget for everything else."""

    scope = "ingest"
