"""Send usage events of online services to dikom (``POST /api/v1/analytics/events``).

A single file with no dependencies beyond the Python standard library (3.9+),
for form systems written in Python. Copy it into your project.

    from dikom_analytics import DikomAnalytics

    dikom = DikomAnalytics("https://dikom.example", api_key="dk_...")
    dikom.event("service_started", service="anwohnerparken", visit_id=application_id)
    with dikom.batch() as batch:
        batch.event("step_viewed", service="anwohnerparken", step_key="antragsteller", step_position=2)
        batch.event("submitted", service="anwohnerparken")
    print(batch.result)   # {"accepted": 2, "duplicates": 0, "rejected": []}

Every event gets an ``event_id`` (a random UUID) when it has none, so a retry
after a timeout or a 429/5xx answer never counts an event twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["Batch", "DikomAnalytics", "DikomAnalyticsError"]
__version__ = "1.0.0"

MAX_BATCH = 10_000
RETRY_STATUS = {429, 500, 502, 503, 504}


class DikomAnalyticsError(Exception):
    """The server refused the request (4xx other than 429), or retries ran out. ``problem`` holds its answer."""

    def __init__(self, message: str, status: int | None = None, problem: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class DikomAnalytics:
    """A client for one API key (scope ``analytics:ingest``) of one municipality."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/analytics/events"
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep

    @staticmethod
    def build_event(type: str, service: str, **fields: Any) -> dict[str, Any]:
        """An event in the native format; ``occurred_at`` defaults to now, ``event_id`` to a random UUID."""
        event: dict[str, Any] = {"type": type, "service": service}
        occurred_at = fields.pop("occurred_at", None) or datetime.now(UTC)
        event["occurred_at"] = occurred_at.isoformat() if isinstance(occurred_at, datetime) else str(occurred_at)
        event["event_id"] = fields.pop("event_id", None) or str(uuid.uuid4())
        event.update({key: value for key, value in fields.items() if value is not None})
        return event

    def event(self, type: str, service: str, **fields: Any) -> dict[str, Any]:
        """Send one event now; returns the server's counts ``{"accepted", "duplicates", "rejected"}``."""
        return self.send([self.build_event(type, service, **fields)])

    def batch(self) -> Batch:
        """A buffer that sends its events when the ``with`` block ends (and every 10 000 events)."""
        return Batch(self)

    def send(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Send prepared events in requests of at most 10 000; returns the summed counts."""
        total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
        for start in range(0, len(events), MAX_BATCH):
            chunk = events[start : start + MAX_BATCH]
            result = self._post({"events": chunk})
            total["accepted"] += result.get("accepted", 0)
            total["duplicates"] += result.get("duplicates", 0)
            for item in result.get("rejected", []):
                total["rejected"].append({**item, "index": item["index"] + start})
        return total

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            request = urllib.request.Request(  # noqa: S310 - the caller chooses the server
                self.url,
                data=data,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "Authorization": f"Api-Key {self.api_key}",
                    "User-Agent": f"dikom-analytics-python/{__version__}",
                },
            )
            wait: float | None = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                payload = self._json(error)
                if error.code == 422 and "rejected" in payload:  # every event invalid: not an error of the call
                    return {"accepted": 0, "duplicates": 0, "rejected": payload["rejected"]}
                if error.code not in RETRY_STATUS:
                    raise DikomAnalyticsError(
                        str(payload.get("detail") or error.reason), status=error.code, problem=payload
                    ) from error
                wait = _retry_after(error.headers.get("Retry-After"))
                last: BaseException = error
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last = error
            if attempt >= self.max_retries:
                raise DikomAnalyticsError(f"Giving up after {attempt + 1} attempts: {last}") from last
            if wait is None:
                wait = min(self.max_backoff, self.backoff * (2**attempt))
            self.sleep(min(wait, self.max_backoff))
            attempt += 1

    @staticmethod
    def _json(error: urllib.error.HTTPError) -> dict[str, Any]:
        try:
            value = json.loads(error.read() or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class Batch:
    """Buffers events; ``flush()`` (or the end of the ``with`` block) sends them. ``result`` sums the counts."""

    def __init__(self, client: DikomAnalytics) -> None:
        self.client = client
        self.events: list[dict[str, Any]] = []
        self.sent = 0
        self.result: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}

    def event(self, type: str, service: str, **fields: Any) -> None:
        self.events.append(self.client.build_event(type, service, **fields))
        if len(self.events) >= MAX_BATCH:
            self.flush()

    def flush(self) -> dict[str, Any]:
        events, self.events = self.events, []
        if events:
            result = self.client.send(events)
            self.result["accepted"] += result["accepted"]
            self.result["duplicates"] += result["duplicates"]
            self.result["rejected"].extend({**r, "index": r["index"] + self.sent} for r in result["rejected"])
            self.sent += len(events)
        return self.result

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.flush()
