"""The SQLite backend's write gate (``dikom.lib.sqlite_backend``): one write transaction at a time per
process and database file, released however the transaction ends, SQLite's own error after the
timeout, and no lost update when many threads write at once.

The suite's own database is in memory (no gate there), so these tests open a database file of
their own under a second alias, with the settings dikom uses for its SQLite database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connections, transaction

from dikom.lib import sqlite_backend
from dikom.lib.sqlite_backend.base import gate_for

ALIAS = "gate_test"


@pytest.fixture
def file_db(tmp_path: Path, django_db_blocker: Any) -> Iterator[str]:
    """A database file under ``ALIAS`` with dikom's SQLite settings (WAL, IMMEDIATE, timeout)."""
    with django_db_blocker.unblock():
        yield from _file_db(tmp_path)


def _file_db(tmp_path: Path) -> Iterator[str]:
    name = str(tmp_path / "gate.sqlite3")
    options = dict(settings.DATABASES["default"].get("OPTIONS", {}))
    if "transaction_mode" not in options:  # the suite runs on PostgreSQL too: dikom's SQLite options then
        options = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    connections.settings[ALIAS] = {
        **connections.settings["default"],
        "ENGINE": "dikom.lib.sqlite_backend",
        "NAME": name,
        "OPTIONS": options,
        "TEST": {"NAME": name},
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
    }
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
    yield name
    connections[ALIAS].close()
    del connections.settings[ALIAS]
    with contextlib.suppress(AttributeError):
        delattr(connections._connections, ALIAS)


def _value() -> int:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        return int(cursor.fetchone()[0])


def _in_thread(work: Any) -> list[BaseException]:
    """Run ``work`` in a thread with its own connection (closed at the end); its exceptions."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections[ALIAS].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return errors


def test_the_backend_is_djangos_sqlite_with_a_gate(file_db: str) -> None:
    connection = connections[ALIAS]
    assert connection.vendor == "sqlite"
    assert isinstance(connection, sqlite_backend.base.DatabaseWrapper)
    assert connection._gate() is gate_for(file_db)


def test_the_gate_is_held_for_the_transaction_and_released_on_commit(file_db: str) -> None:
    gate = gate_for(file_db)
    assert not gate.locked()
    with transaction.atomic(using=ALIAS):
        assert gate.locked()
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("UPDATE counter SET value = value + 1")
        with transaction.atomic(using=ALIAS):  # a savepoint: no second BEGIN, the gate stays
            assert gate.locked()
    assert not gate.locked()
    assert _value() == 1


def test_the_gate_is_released_on_rollback_and_on_close(file_db: str) -> None:
    gate = gate_for(file_db)
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=ALIAS):
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("UPDATE counter SET value = 99")
        assert gate.locked()
        1 / 0  # noqa: B018 - the error that rolls back
    assert not gate.locked()
    assert _value() == 0  # rolled back

    connection = connections[ALIAS]
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert gate.locked()
    connection.close()  # a broken request: the connection is dropped in the middle of its transaction
    assert not gate.locked()


def test_a_failed_begin_releases_the_gate(file_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = gate_for(file_db)

    def refuse(self: Any) -> None:
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_backend.base.base.DatabaseWrapper, "_start_transaction_under_autocommit", refuse)
    with pytest.raises(OperationalError, match="disk I/O error"), transaction.atomic(using=ALIAS):
        pass
    assert not gate.locked()


def test_a_waiting_thread_gets_sqlites_error_after_the_timeout_and_works_afterwards(file_db: str) -> None:
    connections.settings[ALIAS]["OPTIONS"] = {**connections.settings[ALIAS]["OPTIONS"], "timeout": 0.2}
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic(using=ALIAS):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=lambda: (hold(), connections[ALIAS].close()))
    holder.start()
    assert holding.wait(10)

    def late() -> None:
        with transaction.atomic(using=ALIAS):
            pass

    errors = _in_thread(late)
    assert len(errors) == 1 and isinstance(errors[0], OperationalError)
    assert "database is locked" in str(errors[0])
    release.set()
    holder.join(10)

    def increment() -> None:
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("UPDATE counter SET value = value + 1")

    assert _in_thread(increment) == []
    assert _value() == 1
    assert not gate_for(file_db).locked()


def test_many_threads_writing_at_once_lose_nothing(file_db: str) -> None:
    threads, rounds = 8, 25
    inside = [0]
    most_inside = [0]
    count_lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer() -> None:
        try:
            start.wait(10)
            for _ in range(rounds):
                with transaction.atomic(using=ALIAS):
                    with count_lock:
                        inside[0] += 1
                        most_inside[0] = max(most_inside[0], inside[0])
                    with connections[ALIAS].cursor() as cursor:
                        cursor.execute("SELECT value FROM counter WHERE id = 1")
                        value = cursor.fetchone()[0]
                        cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
                    with count_lock:
                        inside[0] -= 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections[ALIAS].close()

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert _value() == threads * rounds
    assert most_inside[0] == 1  # one transaction at a time in this process
    assert not gate_for(file_db).locked()


@pytest.mark.django_db
def test_in_memory_databases_have_no_gate() -> None:
    connection = connections["default"]
    if connection.vendor != "sqlite":
        pytest.skip("the suite runs on PostgreSQL: its default database is not SQLite")
    assert connection.is_in_memory_db()
    assert connection._gate() is None
