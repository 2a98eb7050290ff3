"""Several clocks and several task workers on one database, as real processes.

Each test copies one freshly migrated SQLite database (migrated once per module) into its
own temporary folder and starts real processes on it: two clocks (the real ``clock``
command, with one test job of a two-second period registered in place of the platform's
jobs) or two ``manage.py db_worker`` processes. What the processes did is read from the
database file afterwards.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import datetime

from dikom.web.tests.processes import ROOT, Scratch, manage

PERIOD = 2  # seconds, the test job's period
TOLERANCE = 0.5  # seconds between a clock's claim and the enqueued_at of the task row it writes
CLOCK = f"""
import django
django.setup()
from django.core.management import call_command
from dikom.lib import periodic
periodic.JOBS.clear()
periodic.register("test.tick", "dikom.web.tests.clock_jobs.tick", every_seconds={PERIOD})
call_command("clock")
"""
ENQUEUE = """
from dikom.web.tests.clock_jobs import record
for number in range(40):
    record.enqueue(f"job-{number}")
"""


def _datetime(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for process in processes:
        process.terminate()
        outputs.append(process.communicate(timeout=30)[0])
    return outputs


def test_two_clocks_enqueue_each_period_once(scratch: Scratch) -> None:
    # Given two clocks started together on one database, with a job due every two seconds
    env = scratch.env
    clocks = [
        subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", CLOCK], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    try:
        time.sleep(8)
        # (both still running: neither stopped on an error of the other's writes)
        alive = [clock.poll() is None for clock in clocks]
    finally:
        outputs = _stop(clocks)
    assert alive == [True, True], outputs

    # Then the job was enqueued in several periods, never twice within one period
    enqueued = [
        _datetime(row[0])
        for row in scratch.query(
            "SELECT enqueued_at FROM django_tasks_database_dbtaskresult WHERE task_path = %s ORDER BY enqueued_at",
            ["dikom.web.tests.clock_jobs.tick"],
        )
    ]
    claims = scratch.query("SELECT name FROM web_periodicclaim")
    assert len(enqueued) >= 2, enqueued
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(enqueued)]
    print(f"two clocks: {len(enqueued)} enqueues, gaps {gaps} s")  # shown with pytest -s
    assert all(gap >= PERIOD - TOLERANCE for gap in gaps), gaps
    # (and at most once per period elapsed: two clocks each enqueuing would give about twice as many)
    span = (enqueued[-1] - enqueued[0]).total_seconds()
    assert len(enqueued) <= span / (PERIOD - TOLERANCE) + 1, (len(enqueued), span)
    assert claims == [("test.tick",)]


def test_two_workers_run_each_job_once(scratch: Scratch) -> None:
    # Given 40 jobs waiting, each noting its own execution in a table of the test
    env = scratch.env
    scratch.query("CREATE TABLE test_executions (job TEXT NOT NULL, pid INTEGER NOT NULL)")
    manage(env, "shell", "-c", ENQUEUE)

    # When two workers work until the queue is empty
    workers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                f"worker-{number}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for number in (1, 2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    # Then every job ran exactly once, and both workers took jobs
    executions = scratch.query("SELECT job, COUNT(*) FROM test_executions GROUP BY job ORDER BY job")
    pids = {row[0] for row in scratch.query("SELECT DISTINCT pid FROM test_executions")}
    results = scratch.query(
        "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path = %s",
        ["dikom.web.tests.clock_jobs.record"],
    )
    assert sorted(executions) == sorted((f"job-{number}", 1) for number in range(40))
    assert len(results) == 40
    assert {status for status, _ in results} == {"SUCCESSFUL"}
    assert all(
        len(ids if isinstance(ids, list) else json.loads(ids)) == 1 for _, ids in results
    )  # each task claimed by one worker
    assert pids == {worker.pid for worker in workers}, "both workers should have taken jobs"
