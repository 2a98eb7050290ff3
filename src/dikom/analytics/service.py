"""The small surface other apps may import (the portal emits its events through it).

``record_usage_events`` is the same validation and storage path the HTTP API uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from dikom.analytics.ingest import IngestResult, ingest_events
from dikom.analytics.metrics import service_summary
from dikom.analytics.models import EventSource, Service
from dikom.municipalities.models import Municipality

__all__ = ["IngestResult", "record_usage_events", "summary_for_service"]


def record_usage_events(
    municipality: Municipality,
    events: Sequence[dict[str, Any]],
    *,
    source: str = EventSource.PORTAL,
    api_key_prefix: str = "",
) -> IngestResult:
    """Validate and store usage events of ``municipality`` (see ``docs/analytics.md`` for the fields).

    Invalid events are reported in ``IngestResult.rejected`` with their index;
    valid ones are committed before this returns.
    """
    return ingest_events(municipality, events, source=source, api_key_prefix=api_key_prefix)


def summary_for_service(service: Service, since: date, until: date, channel: str | None = None) -> dict[str, Any]:
    """The figures of ``service`` between two local dates (inclusive), from rollups only."""
    return service_summary(
        municipality_id=service.municipality_id, service_id=service.pk, since=since, until=until, channel=channel
    )
