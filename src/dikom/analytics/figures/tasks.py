"""Background tasks of the figures app: reading large uploaded files. They take primitive ids."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(max_attempts=2, backoff_seconds=30)
def read_figure_upload(upload_id: int) -> None:
    """Read a large figures file that was stored as ``processing`` (``actions.read_pending_upload``)."""
    from dikom.analytics.figures.actions import read_pending_upload

    read_pending_upload(upload_id)
