"""Background tasks of the smart-city app. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(max_attempts=1)
def run_tree_import(import_id: int) -> None:
    """Read an uploaded tree inventory file (``inventory_import.run_import``); not retried: the page shows why."""
    from dikom.smartcity.inventory_import import run_import

    run_import(import_id)


@retrying_task(backoff_seconds=60)
def refresh_needs() -> None:
    """The periodic job ``smartcity.needs``: store every tree's need and mail sponsors of trees that turned critical."""
    from dikom.smartcity.needs_refresh import refresh_all

    refresh_all()
