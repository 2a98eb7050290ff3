"""Send usage events of online services to dikom (``POST /api/v1/analytics/events``).

A single file with no dependencies beyond the Python standard library, for
form systems written in Python 3.9 to 3.13. Copy it into your project.

    from datetime import datetime, timezone
    from dikom_analytics import DikomAnalytics

    dikom = DikomAnalytics("https://dikom.example", api_key="dk_...", spool_path="/var/lib/forms/dikom-spool.jsonl")
    dikom.event("service_started", service="anwohnerparken", visit_id=application_id)
    with dikom.batch() as batch:
        batch.event("step_viewed", service="anwohnerparken", step_key="antragsteller", step_position=2)
        batch.event("submitted", service="anwohnerparken", occurred_at=datetime.now(timezone.utc))
    print(batch.result)   # {"accepted": 2, "duplicates": 0, "rejected": [], "pending": 0}

Every event gets an ``event_id`` (a random UUID) when it has none, so a retry
after a timeout or a 429/5xx answer never counts an event twice. Requests hold
at most 10 000 events and at most ``max_bytes`` of JSON (below the server's
body limit), so a batch never gets a 413. Events that could not be sent are
kept (in the spool file, or in memory) and sent first on the next call.
"""

# ruff: noqa: UP017 - datetime.UTC needs Python 3.11; this client runs on 3.9 and later
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["Batch", "DikomAnalytics", "DikomAnalyticsError", "NaiveDatetimeError"]
__version__ = "1.1.0"

MAX_BATCH = 10_000
# dikom refuses request bodies above DIKOM_MAX_REQUEST_BYTES (default 10 MiB) with 413;
# 8 MiB leaves room for a server configured a little lower and for proxies' own limits.
MAX_BYTES = 8 * 1024 * 1024
RETRY_STATUS = {429, 500, 502, 503, 504}
_ENVELOPE = len(b'{"events":[]}')


class DikomAnalyticsError(Exception):
    """The server refused the request (4xx other than 429), or retries ran out. ``problem`` holds its answer."""

    def __init__(self, message: str, status: int | None = None, problem: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


class NaiveDatetimeError(ValueError):
    """``occurred_at`` was a datetime (or ISO 8601 text) without a time zone."""


class _Unsent(Exception):
    """Retries ran out for a transient reason (network, 429, 5xx): keep the events."""

    def __init__(self, cause: BaseException, attempts: int):
        super().__init__(f"Giving up after {attempts} attempts: {cause}")
        self.cause = cause


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
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _occurred_at(value: Any) -> str:
    """ISO 8601 with an offset; naive datetimes are refused, since their time zone is a guess."""
    if value is None:
        return datetime.now(timezone.utc).isoformat()
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"occurred_at {value.isoformat()} has no time zone; pass an aware datetime, "
                "e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=ZoneInfo('Europe/Berlin'))"
            )
        return value.isoformat()
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return text  # not ISO 8601 at all: the server says why it rejects it
    if parsed.tzinfo is None:
        raise NaiveDatetimeError(f"occurred_at {text!r} has no time zone offset; add one, e.g. {text}+01:00 or {text}Z")
    return text


def _encoded(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class DikomAnalytics:
    """A client for one API key (scope ``analytics:ingest``) of one municipality.

    ``spool_path``: a file (JSON lines) where events that could not be sent wait
    for the next call, across restarts. Without it they wait in memory
    (``pending``). Use one spool file per process.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int = MAX_BYTES,
        max_events: int = MAX_BATCH,
        spool_path: str | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/analytics/events"
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.max_bytes = max_bytes
        self.max_events = max_events
        self.spool_path = os.fspath(spool_path) if spool_path is not None else None
        self._memory: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    @staticmethod
    def build_event(type: str, service: str, **fields: Any) -> dict[str, Any]:
        """An event in the native format; ``occurred_at`` defaults to now, ``event_id`` to a random UUID.

        Raises ``NaiveDatetimeError`` (a ``ValueError``) for an ``occurred_at`` without time zone.
        """
        event: dict[str, Any] = {"type": type, "service": service}
        event["occurred_at"] = _occurred_at(fields.pop("occurred_at", None))
        event["event_id"] = fields.pop("event_id", None) or str(uuid.uuid4())
        event.update({key: value for key, value in fields.items() if value is not None})
        return event

    def event(self, type: str, service: str, **fields: Any) -> dict[str, Any]:
        """Send one event now; returns the server's counts ``{"accepted", "duplicates", "rejected", "pending"}``."""
        return self.send([self.build_event(type, service, **fields)])

    def batch(self) -> Batch:
        """A buffer that sends its events when the ``with`` block ends (and every 10 000 events)."""
        return Batch(self)

    # --- events kept after a failed send ---------------------------------------------

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Events waiting to be sent (from the spool file, or in memory)."""
        with self._lock:
            return list(self._load_pending())

    def _load_pending(self) -> list[dict[str, Any]]:
        if self.spool_path is None:
            return self._memory
        try:
            with open(self.spool_path, encoding="utf-8") as spool:
                return [json.loads(line) for line in spool if line.strip()]
        except FileNotFoundError:
            return []

    def _store_pending(self, events: list[dict[str, Any]]) -> None:
        if self.spool_path is None:
            self._memory = list(events)
            return
        if not events:
            if os.path.exists(self.spool_path):
                os.remove(self.spool_path)
            return
        folder = os.path.dirname(os.path.abspath(self.spool_path))
        handle, temporary = tempfile.mkstemp(prefix=".dikom-spool-", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as spool:
                for event in events:
                    spool.write(json.dumps(event, ensure_ascii=False) + "\n")
                spool.flush()
                os.fsync(spool.fileno())
            os.replace(temporary, self.spool_path)  # atomic: the old or the new list, never half of one
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise

    # --- sending -----------------------------------------------------------------------

    def flush(self) -> dict[str, Any]:
        """Send the events kept from earlier failures; returns the counts."""
        return self.send([])

    def send(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Send kept events, then these; in requests of at most 10 000 events and ``max_bytes``.

        Returns the summed counts. ``rejected`` items carry the ``index`` in ``events``
        (``None`` for a kept event of an earlier call) and the ``event_id``.
        ``pending`` is the number of events still waiting after this call: when the
        server cannot be reached (or keeps answering 429/5xx) the events are kept,
        not lost, and sent first next time. Errors no retry can fix (401, 403, 400)
        raise ``DikomAnalyticsError``; the events are kept for after the fix.
        """
        with self._lock:
            earlier = list(self._load_pending())
            queue = earlier + list(events)
            offset = len(earlier)
            total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
            position = 0
            try:
                for start, chunk, body in self._chunks(queue, total, offset):
                    position = start
                    result = self._post_split(chunk, body)
                    total["accepted"] += result.get("accepted", 0)
                    total["duplicates"] += result.get("duplicates", 0)
                    for item in result.get("rejected", []):
                        index = start + item["index"]
                        total["rejected"].append(
                            {
                                **item,
                                "index": index - offset if index >= offset else None,
                                "event_id": queue[index].get("event_id"),
                            }
                        )
                    position = start + len(chunk)
            except _Unsent:
                self._store_pending(queue[position:])
                total["pending"] = len(queue) - position
                return total
            except DikomAnalyticsError:
                self._store_pending(queue[position:])
                raise
            self._store_pending([])
            total["pending"] = 0
            return total

    def _chunks(
        self, queue: list[dict[str, Any]], total: dict[str, Any], offset: int
    ) -> Iterator[tuple[int, list[dict[str, Any]], bytes]]:
        """Consecutive slices within both limits; an event larger than ``max_bytes`` alone is rejected here."""
        start = 0
        parts: list[bytes] = []
        size = _ENVELOPE
        for index, event in enumerate(queue):
            encoded = _encoded(event)
            if _ENVELOPE + len(encoded) > self.max_bytes:
                if parts:
                    yield start, queue[start:index], b'{"events":[' + b",".join(parts) + b"]}"
                total["rejected"].append(
                    {
                        "index": index - offset if index >= offset else None,
                        "event_id": event.get("event_id"),
                        "errors": [
                            {
                                "field": "",
                                "code": "too_large",
                                "detail": f"The event alone is larger than {self.max_bytes} bytes.",
                            }
                        ],
                    }
                )
                start, parts, size = index + 1, [], _ENVELOPE
                continue
            extra = len(encoded) + (1 if parts else 0)
            if parts and (len(parts) >= self.max_events or size + extra > self.max_bytes):
                yield start, queue[start:index], b'{"events":[' + b",".join(parts) + b"]}"
                start, parts, size = index, [], _ENVELOPE
                extra = len(encoded)
            parts.append(encoded)
            size += extra
        if parts:
            yield start, queue[start:], b'{"events":[' + b",".join(parts) + b"]}"

    def _post_split(self, chunk: list[dict[str, Any]], body: bytes) -> dict[str, Any]:
        """Post; should a server or proxy with a lower limit still answer 413, halve the chunk and go on."""
        try:
            return self._post(body)
        except DikomAnalyticsError as error:
            if error.status != 413 or len(chunk) < 2:
                raise
        half = len(chunk) // 2
        self.max_bytes = max(1024, min(self.max_bytes, len(body) // 2))  # learn the lower limit
        total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
        for start, part in ((0, chunk[:half]), (half, chunk[half:])):
            encoded = b'{"events":[' + b",".join(_encoded(event) for event in part) + b"]}"
            result = self._post_split(part, encoded)
            total["accepted"] += result.get("accepted", 0)
            total["duplicates"] += result.get("duplicates", 0)
            total["rejected"].extend({**item, "index": item["index"] + start} for item in result.get("rejected", []))
        return total

    def _post(self, data: bytes) -> dict[str, Any]:
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
            except (urllib.error.URLError, OSError) as error:
                last = error
            if attempt >= self.max_retries:
                raise _Unsent(last, attempt + 1) from last
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
        self.result: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": [], "pending": 0}

    def event(self, type: str, service: str, **fields: Any) -> None:
        self.events.append(self.client.build_event(type, service, **fields))
        if len(self.events) >= self.client.max_events:
            self.flush()

    def flush(self) -> dict[str, Any]:
        events, self.events = self.events, []
        if events:
            result = self.client.send(events)
            self.result["accepted"] += result["accepted"]
            self.result["duplicates"] += result["duplicates"]
            self.result["rejected"].extend(
                {**r, "index": None if r["index"] is None else r["index"] + self.sent} for r in result["rejected"]
            )
            self.result["pending"] = result["pending"]
            self.sent += len(events)
        return self.result

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.flush()
