"""Concurrent transactions in the competence tests: calls released together, each in a thread with its own
connection (PostgreSQL only; SQLite serialises writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections


def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions on separate connections need PostgreSQL (SQLite serialises writers)")


def at_once(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run each call in its own thread with its own connection, released together by a barrier; the calls'
    results (None where a call raised) and the errors raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
