"""Group commit of small ingestion requests: one transaction for the events of many requests.

A form system sends one event per request, and every answer must wait until
its event is committed. Committed one by one, each request costs a transaction
of its own: half a dozen statements and a wait for the disk. Here the request
threads of a server process hand their checked events to one committer thread
and wait; the committer takes everything that has arrived, stores it with
``ingest.store_batches`` in one transaction and wakes each request with its own
counts. Nothing is delayed on purpose: while one group commits, the next one
gathers, so the groups grow with the load and a lone request commits at once.

Durability is unchanged: a request is answered only after the transaction that
holds its events has committed. If the process dies before that, the request
gets no answer and its sender retries (event ids make a retry harmless). If a
group fails, each of its requests is stored again alone, so one request's
problem never costs another's events.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection

from dikom.analytics.ingest import Batch, store_batches

logger = logging.getLogger(__name__)

# At most this many events per group transaction (a batch larger than this
# is stored in the request thread, see ``store``).
GROUP_EVENTS = 2000
# Requests wait this long for their group before giving up (503, nothing acknowledged).
WAIT_SECONDS = 30.0


class StoreFailed(Exception):
    """The events of a request could not be stored (the database failed); nothing was acknowledged."""


@dataclass
class _Job:
    batch: Batch
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class Committer:
    """One per server process: a daemon thread that stores queued batches in groups."""

    def __init__(self, group_events: int = GROUP_EVENTS) -> None:
        self.group_events = group_events
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # committed group transactions (for tests and benchmarks)

    def store(self, batch: Batch, timeout: float = WAIT_SECONDS) -> None:
        """Store ``batch`` (counts land in ``batch.result``); returns once committed.

        Raises ``StoreFailed`` if the database refused or the group did not
        commit within ``timeout`` seconds.
        """
        if len(batch.events) >= self.group_events:
            # A big batch is a group of its own: no reason to hand it to another thread.
            try:
                _store([batch], attempts=2)
            except Exception as exc:
                raise StoreFailed(str(exc)) from exc
            return
        self._ensure_thread()
        job = _Job(batch)
        self._queue.put(job)
        if not job.done.wait(timeout):
            raise StoreFailed("timeout")
        if job.error is not None:
            raise StoreFailed(str(job.error)) from job.error

    def _ensure_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dikom-ingest-committer", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, close the thread's database connection and end the thread
        (it starts again on the next ``store``)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        thread.join(timeout)

    def _take_group(self) -> tuple[list[_Job], bool]:
        """The next group, and whether a stop was asked for after it."""
        first = self._queue.get()
        if first is None:
            return [], True
        jobs = [first]
        size = len(first.batch.events)
        while size < self.group_events:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += len(job.batch.events)
        return jobs, False

    def _run(self) -> None:
        while True:
            jobs, stop = self._take_group()
            if jobs:
                self._commit_safely(jobs)
            if stop:
                _reset_connection()
                return

    def _commit_safely(self, jobs: list[_Job]) -> None:
        try:
            self._commit(jobs)
        except BaseException:  # pragma: no cover - never leave a request waiting
            logger.exception("ingestion committer failed")
            for job in jobs:
                if not job.done.is_set():
                    job.error = RuntimeError("committer failed")
                    job.done.set()

    def _commit(self, jobs: Sequence[_Job]) -> None:
        # No close_old_connections() here: the committer keeps its connection for good (a
        # health check or a reconnect per group would cost more than the group's work).
        # A connection that broke shows as an error: it is replaced and the group tried again.
        try:
            _store([job.batch for job in jobs], attempts=2)
        except Exception as exc:
            if len(jobs) == 1:
                self._fail(jobs[0], exc)
                return
            # One request's problem must not cost the others their events: each alone.
            for job in jobs:
                try:
                    _store([job.batch], attempts=1)
                except Exception as alone:
                    self._fail(job, alone)
                else:
                    job.done.set()
            return
        self.groups += 1
        for job in jobs:
            job.done.set()

    @staticmethod
    def _fail(job: _Job, exc: Exception) -> None:
        logger.warning("storing usage events failed: %s", exc)
        job.error = exc
        job.done.set()


def _store(batches: list[Batch], *, attempts: int) -> None:
    """``store_batches`` on this thread's connection; a failed transaction stored nothing, so it is
    tried again (a deadlock or a dropped connection is usually gone by then) with a fresh
    connection, up to ``attempts`` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            store_batches(batches)
            return
        except Exception:
            _reset_connection()
            if attempt == attempts:
                raise


def _reset_connection() -> None:
    # A broken connection (database restarted) is replaced before the next use.
    try:
        connection.close()
    except Exception:  # closing a broken connection may fail; the next use reconnects
        logger.debug("closing a broken database connection failed", exc_info=True)


_committer: Committer | None = None
_committer_lock = threading.Lock()


def committer() -> Committer:
    """The committer of this process (started on first use)."""
    global _committer  # one per process by design
    if _committer is None:
        with _committer_lock:
            if _committer is None:
                _committer = Committer()
    return _committer
