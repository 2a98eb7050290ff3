"""Helpers for tests (imported only by test code)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from django.core.management import call_command

if TYPE_CHECKING:
    from django.test import Client


def run_task_worker() -> None:
    """Run every queued background task once, in this process, as the real
    database worker (``db_worker --batch``) does.

    The worker calls ``close_old_connections`` between tasks; inside a test
    transaction on PostgreSQL autocommit is off, which Django reads as an
    unusable connection and closes it — so that call is switched off here.
    """
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", batch=True, interval=0, verbosity=0)


def english_client(**defaults: object) -> Client:
    """A test client that chose English with the language switcher (pages are German otherwise)."""
    from django.conf import settings
    from django.test import Client

    client = Client(**defaults)  # type: ignore[arg-type]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
