"""Background tasks of the open data portal. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(max_attempts=2, backoff_seconds=60)
def load_datastore(table_id: int) -> None:
    """Read a distribution's uploaded CSV/XLSX into its DataStore table (``datastore.load_from_upload``)."""
    from dikom.opendata import datastore
    from dikom.opendata.models import DatastoreTable

    table = DatastoreTable.objects.select_related("resource").filter(pk=table_id).first()
    if table is not None and table.source == "file":
        datastore.load_from_upload(table)
