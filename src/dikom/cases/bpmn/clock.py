"""The engine's notion of "now".

SpiffWorkflow reads the wall clock inside its timer events. dikom passes the
time in explicitly (the caller says when "now" is), so that a timer that became
due while the server was down fires on the next call, and tests need no sleeping.
Every engine operation runs inside ``use_time(now)``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("dikom_bpmn_now", default=None)


def current_time() -> datetime:
    """The time set by the surrounding ``use_time`` block, else the wall clock (UTC)."""
    value = _NOW.get()
    return value if value is not None else datetime.now(UTC)


@contextmanager
def use_time(now: datetime | None) -> Iterator[datetime]:
    """Run the block with ``current_time()`` returning ``now`` (timezone-aware)."""
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    token = _NOW.set(now.astimezone(UTC))
    try:
        yield now
    finally:
        _NOW.reset(token)
