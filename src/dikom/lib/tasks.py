"""Background tasks that are retried when they fail.

Django's task framework runs a task once. ``retrying_task`` wraps a function so
that a failed attempt is recorded as FAILED (with its traceback, visible to
platform administrators under /plattform-admin/ → task results) and a new
attempt is enqueued after an exponentially growing delay, up to
``DIKOM_TASK_MAX_ATTEMPTS`` attempts in all.

Tasks take primitive arguments (ids, strings) and are enqueued on commit:
``transaction.on_commit(lambda: my_task.enqueue(obj_id))``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

R = TypeVar("R")
ATTEMPT_KWARG = "_dikom_attempt"


def retry_delay(attempt: int, backoff_seconds: float) -> timedelta:
    """Delay before attempt ``attempt + 1``: backoff, 2 x backoff, 4 x backoff … capped at one hour."""
    return timedelta(seconds=min(backoff_seconds * 2 ** (attempt - 1), 3600))


def retrying_task(
    *, max_attempts: int | None = None, backoff_seconds: float = 30, priority: int = 0, queue_name: str = "default"
) -> Callable[[Callable[..., R]], Any]:
    def decorator(func: Callable[..., R]) -> Any:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> R:
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1))
            try:
                return func(*args, **kwargs)
            except Exception:
                limit = max_attempts or settings.DIKOM_TASK_MAX_ATTEMPTS
                name = f"{func.__module__}.{func.__qualname__}"
                if attempt < limit:
                    run_after = timezone.now() + retry_delay(attempt, backoff_seconds)
                    wrapped.using(run_after=run_after).enqueue(*args, **{**kwargs, ATTEMPT_KWARG: attempt + 1})
                    logger.warning(
                        "task %s failed (attempt %d of %d), retrying after %s",
                        name,
                        attempt,
                        limit,
                        run_after,
                        exc_info=True,
                    )
                else:
                    logger.error("task %s failed for good after %d attempts", name, attempt, exc_info=True)
                raise

        wrapped = task(priority=priority, queue_name=queue_name)(run)
        return wrapped

    return decorator
