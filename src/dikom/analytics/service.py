"""The small surface other apps may import (the portal emits its events through it).

``record_usage_events`` is the same validation and storage path the HTTP API uses;
``record_usage_events_grouped`` also stores the way the API's fast path does, through
the group commit of the server process (one transaction for the events of many requests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from dikom.analytics.ingest import IngestResult, ingest_events
from dikom.analytics.metrics import service_summary
from dikom.analytics.models import EventSource, Service
from dikom.municipalities.models import Municipality

__all__ = ["IngestResult", "record_usage_events", "record_usage_events_grouped", "summary_for_service"]

#: How long a page waits for its usage events' group before giving up (the events are then lost
#: and logged; the page is answered anyway). The API's requests wait longer: their sender retries.
GROUPED_WAIT_SECONDS = 5.0


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


def record_usage_events_grouped(
    municipality_id: int,
    events: Sequence[dict[str, Any]],
    *,
    source: str = EventSource.PORTAL,
    timeout: float = GROUPED_WAIT_SECONDS,
) -> IngestResult:
    """Like ``record_usage_events``, stored through the process's group commit
    (``dikom.analytics.groupcommit``): committed before this returns, in one transaction with the
    events of other requests that arrived meanwhile, never in a write transaction of its own.

    Raises ``groupcommit.StoreFailed`` when the events could not be stored.
    """
    from dikom.analytics import groupcommit
    from dikom.analytics.ingest import check_events

    batch = check_events(municipality_id, events, source=source)
    if batch.events:
        groupcommit.committer().store(batch, timeout=timeout)
    return batch.result


def summary_for_service(service: Service, since: date, until: date, channel: str | None = None) -> dict[str, Any]:
    """The figures of ``service`` between two local dates (inclusive), from rollups only."""
    return service_summary(
        municipality_id=service.municipality_id, service_id=service.pk, since=since, until=until, channel=channel
    )
