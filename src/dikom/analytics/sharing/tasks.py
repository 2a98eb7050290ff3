"""Background tasks of sharing: the usage dataset in the open data portal. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=60)
def refresh_usage_dataset(municipality_id: int) -> None:
    """Publish, update or withdraw one city's usage dataset (``opendata_dataset.refresh``)."""
    from dikom.analytics.sharing import opendata_dataset
    from dikom.municipalities.models import Municipality

    municipality = Municipality.objects.filter(pk=municipality_id).first()
    if municipality is not None:
        opendata_dataset.refresh(municipality)


@retrying_task(backoff_seconds=300)
def refresh_usage_datasets() -> None:
    """Periodic (hourly, see ``apps.py``): every city that publishes, or once did, gets its dataset refreshed,
    so a month appears in the portal the hour it is complete."""
    from dikom.analytics.sharing import opendata_dataset
    from dikom.analytics.sharing.models import OpenDataPublication

    for publication in OpenDataPublication.objects.select_related("municipality").order_by("pk"):
        opendata_dataset.refresh(publication.municipality)
