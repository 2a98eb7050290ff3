"""Django's Redis cache, open when Redis is not reachable.

The invariant: the shared cache carries only what may be lost (rate-limit
counters, budgets, the replica router's sticky marks, memoised lookups) or what
its users already treat as possibly gone (a BundID sign-in hand-off that is not
found is an expired sign-in, to be repeated), so a Redis outage must not turn
requests into server errors. While Redis does not
answer, reads return nothing, writes are dropped and counters start from one:
the platform keeps serving, without shared limits, and logs a warning at most
once a minute per process. When Redis is back the next call uses it again.
Connections time out after ``DIKOM_CACHE_TIMEOUT_SECONDS`` so that an
unreachable host costs a bounded wait, not a hanging request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
WARN_EVERY_SECONDS = 60.0
_last_warning = 0.0

T = TypeVar("T")


def _open(call: Callable[[], T], fallback: T) -> T:
    global _last_warning
    try:
        return call()
    except UNREACHABLE as exc:
        now = time.monotonic()
        if now - _last_warning >= WARN_EVERY_SECONDS:
            _last_warning = now
            logger.warning("Redis cache unreachable (%s): serving without shared limits until it is back", exc)
        return fallback


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # redis-py retries a failed command three times with growing pauses (seconds) by default;
        # a cache that may be lost should answer at once instead.
        self._client = partial(self._lib.Redis, retry=Retry(NoBackoff(), 0))  # type: ignore[attr-defined]

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        return _open(lambda: super(ResilientRedisCacheClient, self).add(key, value, timeout), True)

    def get(self, key: Any, default: Any) -> Any:
        return _open(lambda: super(ResilientRedisCacheClient, self).get(key, default), default)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        _open(lambda: super(ResilientRedisCacheClient, self).set(key, value, timeout), None)

    def touch(self, key: Any, timeout: Any) -> bool:
        return _open(lambda: super(ResilientRedisCacheClient, self).touch(key, timeout), False)

    def delete(self, key: Any) -> bool:
        return _open(lambda: super(ResilientRedisCacheClient, self).delete(key), False)

    def get_many(self, keys: Any) -> dict[Any, Any]:
        return _open(lambda: super(ResilientRedisCacheClient, self).get_many(keys), {})

    def has_key(self, key: Any) -> bool:
        return _open(lambda: super(ResilientRedisCacheClient, self).has_key(key), False)

    def incr(self, key: Any, delta: int) -> int:
        # A counter that cannot be read starts again: the request is let through.
        return _open(lambda: super(ResilientRedisCacheClient, self).incr(key, delta), delta)

    def set_many(self, data: Any, timeout: Any) -> None:
        _open(lambda: super(ResilientRedisCacheClient, self).set_many(data, timeout), None)

    def delete_many(self, keys: Any) -> None:
        _open(lambda: super(ResilientRedisCacheClient, self).delete_many(keys), None)

    def clear(self) -> bool:
        return _open(lambda: super(ResilientRedisCacheClient, self).clear(), False)


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that stays open while Redis is unreachable."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
