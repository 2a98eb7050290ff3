"""Hand-over of submitted applications to the back office (not built yet: see docs/portal.md)."""

from __future__ import annotations


def enqueue_deliveries(application_id: int) -> None:
    """Queue the delivery of a submitted application's record; nothing is configured yet."""
    return None
