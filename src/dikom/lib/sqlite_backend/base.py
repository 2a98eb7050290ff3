"""Django's SQLite backend with one write transaction at a time per process and database file.

Every transaction dikom opens on SQLite starts with ``BEGIN IMMEDIATE`` (``transaction_mode`` in
the settings), which takes the database's single write lock. When several threads of a web
process want it at once, SQLite lets all but one fail and retry in its busy handler, which
*sleeps* between tries — 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms and then 100 ms again
and again — instead of waking when the lock is free. Under a deadline day's load (32 open
connections on 2 processes × 8 threads, each step POST a write) a thread could lose several
rounds in a row: the step POST's p99 reached 1.1 s with a p50 of 80 ms (``docs/benchmarks.md``,
issue 21).

Here the threads of one process queue on a lock of their own before ``BEGIN IMMEDIATE`` and are
woken in turn as soon as the previous transaction ends (commit, rollback or close), so only one
thread per process ever competes for SQLite's lock; the busy handler is left to settle the few
conflicts between processes (the other web process, the task worker, the clock). What a
transaction does, its isolation and its errors are SQLite's and Django's as before. A thread
that waits longer than the connection's ``timeout`` (20 s in dikom's settings, SQLite's own
``busy_timeout``) gets the same ``OperationalError("database is locked")`` SQLite would give.

In-memory databases (the test suite's default) are left as they are: one process, and a test's
outer transaction would otherwise hold the lock for the whole test.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

#: One lock per database file and process (threads share it; a forked child starts with none,
#: ``_reset_after_fork``).
_GATES: dict[str, threading.Lock] = {}
_GATES_LOCK = threading.Lock()


def gate_for(name: str) -> threading.Lock:
    """The process's write gate of the database file ``name``."""
    with _GATES_LOCK:
        gate = _GATES.get(name)
        if gate is None:
            gate = _GATES[name] = threading.Lock()
        return gate


def _reset_after_fork() -> None:
    # A lock held by another thread at the moment of a fork would stay held in the child forever.
    global _GATES_LOCK
    _GATES.clear()
    _GATES_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


class DatabaseWrapper(base.DatabaseWrapper):
    _write_gate: threading.Lock | None = None

    def _gate(self) -> threading.Lock | None:
        if self.is_in_memory_db():
            return None
        return gate_for(str(self.settings_dict["NAME"]))

    def _start_transaction_under_autocommit(self) -> None:
        gate = self._gate()
        if gate is not None and not gate.acquire(timeout=float(self.settings_dict["OPTIONS"].get("timeout", 5))):
            raise OperationalError("database is locked")
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in Django, not in its stubs
        except BaseException:
            if gate is not None:
                gate.release()
            raise
        self._write_gate = gate

    def _release_write_gate(self) -> None:
        gate, self._write_gate = self._write_gate, None
        if gate is not None:
            gate.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]  # private in Django, not in its stubs
        finally:
            self._release_write_gate()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]  # private in Django, not in its stubs
        finally:
            self._release_write_gate()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]  # private in Django, not in its stubs
        finally:
            self._release_write_gate()
