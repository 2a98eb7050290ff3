"""Background tasks of the smart-city app. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(max_attempts=1)
def run_tree_import(import_id: int) -> None:
    """Read an uploaded tree inventory file (``inventory_import.run_import``); not retried: the page shows why."""
    from dikom.smartcity.inventory_import import run_import

    run_import(import_id)
