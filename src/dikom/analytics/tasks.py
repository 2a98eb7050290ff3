"""Background tasks of the analytics app. They take primitive arguments."""

from __future__ import annotations

from datetime import date

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=10)
def rebuild_pending_rollup(municipality_id: int, day: str) -> None:
    """Rebuild the rollups of a (municipality, day) marked by ingestion; run again if more came in."""
    from dikom.analytics.actions import rebuild_pending

    if rebuild_pending(municipality_id, date.fromisoformat(day)):
        rebuild_pending_rollup.enqueue(municipality_id, day)


@retrying_task()
def analytics_housekeeping() -> None:
    """Delete expired salts and raw events (also ``manage.py analytics_housekeeping``)."""
    from dikom.analytics.actions import housekeeping

    housekeeping()


@retrying_task()
def maintain_event_partitions() -> None:
    """PostgreSQL: create the monthly partitions of the usage-event table ahead (nothing on SQLite)."""
    from dikom.analytics.partitions import ensure_partitions

    ensure_partitions()
