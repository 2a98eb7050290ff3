"""Background tasks of the open data portal. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(max_attempts=2, backoff_seconds=60)
def load_datastore(table_id: int, corrections: dict[str, str] | None = None) -> None:
    """Read a distribution's uploaded CSV/XLSX into its DataStore table (``datastore.load_from_upload``).

    ``corrections``: column types the publisher chose ({field id: type}); the table is rebuilt with them.
    """
    from dikom.opendata import datastore
    from dikom.opendata.models import DatastoreTable

    table = DatastoreTable.objects.select_related("resource").filter(pk=table_id).first()
    if table is not None and table.source == "file":
        datastore.load_from_upload(table, corrections=corrections)


@retrying_task(max_attempts=1)
def harvest_source(source_id: int) -> None:
    """Harvest one source now (``harvesting.runner.run_source``); a failed harvest is logged, not retried."""
    from dikom.opendata.harvesting.runner import run_source
    from dikom.opendata.models import HarvestSource

    source = HarvestSource.objects.select_related("organization").filter(pk=source_id).first()
    if source is not None:
        run_source(source)


@retrying_task(max_attempts=1)
def harvest_due_sources() -> None:
    """Periodic (every five minutes, see ``apps.py``): enqueue the sources whose schedule is due."""
    from dikom.opendata.harvesting.runner import due_sources

    for source in due_sources():
        harvest_source.enqueue(source.pk)
