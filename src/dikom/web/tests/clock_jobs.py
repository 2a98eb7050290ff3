"""Tasks for the tests of several clocks and workers (test_several_clocks_and_workers)."""

from __future__ import annotations

import os
import time

from django.db import connection
from django_tasks import task


@task()
def tick() -> None:
    """A periodic job that does nothing: the tests count how often it was enqueued."""


@task()
def record(key: str) -> None:
    """Note one execution of job ``key`` by this worker process (the table is the test's own)."""
    time.sleep(0.1)  # long enough that both workers take jobs while the other is busy
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_executions (job, pid) VALUES (%s, %s)", [key, os.getpid()])


@task()
def wait_for_file(path: str) -> None:
    """Note its start, wait until the file ``path`` exists, note its end (the table is the test's own)."""
    from pathlib import Path

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_executions (job, pid) VALUES (%s, %s)", ["start", os.getpid()])
    while not Path(path).exists():
        time.sleep(0.1)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_executions (job, pid) VALUES (%s, %s)", ["end", os.getpid()])
