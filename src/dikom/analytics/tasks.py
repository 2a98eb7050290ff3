"""Background tasks of the analytics app. They take primitive arguments."""

from __future__ import annotations

from datetime import date, timedelta

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=10)
def rebuild_pending_rollup(municipality_id: int, day: str) -> None:
    """Update the rollups of a (municipality, day) marked by ingestion, at most once per
    ``DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS``; run again after the interval if more came in."""
    from django.conf import settings
    from django.utils import timezone

    from dikom.analytics.actions import rebuild_pending, rollup_due_at

    local_day = date.fromisoformat(day)
    due = rollup_due_at(municipality_id, local_day)
    if due is not None:
        # Ran less than an interval ago (the marker was cleared and set again since): wait.
        rebuild_pending_rollup.using(run_after=due).enqueue(municipality_id, day)
        return
    if rebuild_pending(municipality_id, local_day):
        interval = settings.DIKOM_ANALYTICS_ROLLUP_INTERVAL_SECONDS
        if interval:
            run_after = timezone.now() + timedelta(seconds=interval)
            rebuild_pending_rollup.using(run_after=run_after).enqueue(municipality_id, day)
        else:
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
