"""Faults of task workers and clocks, with real processes killed with SIGKILL.

A worker killed while it runs a job leaves the job RUNNING; the clock puts it back in the
queue once its lease ran out (``dikom.web.task_leases``) and another worker runs it. A clock
killed between claiming a period and enqueuing the job leaves neither, and another clock
enqueues the job. The databases are the fixtures of test_several_clocks_and_workers (a
migrated SQLite file per test, or a scratch PostgreSQL database when the suite runs there).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dikom.web.tests.processes import ROOT, Scratch, manage
from dikom.web.tests.test_several_clocks_and_workers import PERIOD, TOLERANCE, _datetime

LEASE = 4  # seconds; renewed every second, lost tasks looked for every two seconds
WAIT = 180  # seconds at most for anything the processes should do (a loaded machine is slow)
REQUEUE_CLOCK = """
import django
django.setup()
from django.core.management import call_command
from dikom.lib import periodic
reaper = periodic.JOBS["tasks.requeue_lost"]
periodic.JOBS.clear()
periodic.JOBS[reaper.name] = reaper
call_command("clock")
"""
TICK_CLOCK = f"""
import django, sys, time
from pathlib import Path
django.setup()
from django.core.management import call_command
from dikom.lib import periodic
periodic.JOBS.clear()
periodic.register("test.tick", "dikom.web.tests.clock_jobs.tick", every_seconds={PERIOD})
if len(sys.argv) > 1:
    # This clock stops between its claim and its enqueue (in the same transaction) until killed.
    def hang(job):
        Path(sys.argv[1]).write_text("claimed")
        time.sleep(3600)
    periodic.enqueue = hang
call_command("clock")
"""


def _until(condition: Callable[[], Any], what: str, processes: list[subprocess.Popen[str]]) -> Any:
    """Poll ``condition`` until it is true (returned), at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        dead = [p for p in processes if p.poll() is not None and p.returncode != -signal.SIGKILL]
        if dead:
            report = [f"{p.args} (exit {p.returncode}): {(p.communicate()[0] or '')[-2000:]}" for p in dead]
            raise AssertionError(f"ended early while waiting until {what}: {report}")
        time.sleep(0.2)
    raise AssertionError(f"not within {WAIT} s: {what}")


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _worker(env: dict[str, str], number: int) -> subprocess.Popen[str]:
    return _start(
        env,
        str(ROOT / "manage.py"),
        "db_worker",
        "--no-startup-delay",
        "--interval",
        "0.2",
        "--worker-id",
        f"worker-{number}",
    )


def _stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for process in processes:
        if process.poll() is None:
            process.terminate()
        try:
            outputs.append(process.communicate(timeout=30)[0] or "")
        except subprocess.TimeoutExpired:
            process.kill()
            outputs.append(process.communicate()[0] or "")
    return outputs


def _last_requeue_round(scratch: Scratch) -> datetime | None:
    rows = scratch.query("SELECT last_enqueued_at FROM web_periodicclaim WHERE name = %s", ["tasks.requeue_lost"])
    return _datetime(rows[0][0]) if rows else None


def test_a_job_of_a_killed_worker_is_run_by_another_worker_once(scratch: Scratch, tmp_path: Path) -> None:
    # Given a job that runs until a file exists, two workers and a clock, leases of 4 seconds
    env = scratch.env | {"DIKOM_TASK_LEASE_SECONDS": str(LEASE)}
    release = tmp_path / "release"
    scratch.query("CREATE TABLE test_executions (job TEXT NOT NULL, pid INTEGER NOT NULL)")
    manage(
        env,
        "shell",
        "-c",
        f"from dikom.web.tests.clock_jobs import wait_for_file; wait_for_file.enqueue({str(release)!r})",
    )
    workers = [_worker(env, number) for number in (1, 2)]
    clock = _start(env, "-c", REQUEUE_CLOCK)
    processes = [*workers, clock]

    def starts() -> list[int]:
        return [row[0] for row in scratch.query("SELECT pid FROM test_executions WHERE job = 'start'")]

    def task() -> tuple[str, list[str], datetime]:
        status, worker_ids, started_at = scratch.query(
            "SELECT status, worker_ids, started_at FROM django_tasks_database_dbtaskresult WHERE task_path = %s",
            ["dikom.web.tests.clock_jobs.wait_for_file"],
        )[0]
        ids = worker_ids if isinstance(worker_ids, list) else json.loads(worker_ids)
        return status, ids, _datetime(started_at)

    try:
        holder_pid = _until(starts, "a worker takes the job", processes)[0]
        holder = next(worker for worker in workers if worker.pid == holder_pid)
        other = next(worker for worker in workers if worker is not holder)

        # While its worker lives, the job is not run again, long after a lease would have run out
        # without renewals: wait for a round of the clock two leases after the start.
        _, _, started_at = task()
        _until(
            lambda: (_last_requeue_round(scratch) or started_at) > started_at + _seconds(2 * LEASE),
            "the clock looks for lost tasks two leases after the start",
            processes,
        )
        assert starts() == [holder_pid]
        status, worker_ids, _ = task()
        assert (status, len(worker_ids)) == ("RUNNING", 1)

        # When the worker holding it is killed
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)

        # Then the other worker takes it once the lease ran out, and completes it
        _until(lambda: len(starts()) == 2, "the other worker takes the job", processes)
        assert starts() == [holder_pid, other.pid]
        release.write_text("go")
        _until(lambda: task()[0] == "SUCCESSFUL", "the job completes", processes)
        finished = _datetime(
            scratch.query(
                "SELECT finished_at FROM django_tasks_database_dbtaskresult WHERE task_path = %s",
                ["dikom.web.tests.clock_jobs.wait_for_file"],
            )[0][0]
        )
        # (and is not run again afterwards: a round of the clock a lease after the end changes nothing)
        _until(
            lambda: (_last_requeue_round(scratch) or finished) > finished + _seconds(LEASE),
            "the clock looks for lost tasks a lease after the end",
            processes,
        )
        ends = [row[0] for row in scratch.query("SELECT pid FROM test_executions WHERE job = 'end'")]
        status, worker_ids, _ = task()
        leases = scratch.query("SELECT COUNT(*) FROM web_tasklease")[0][0]
    finally:
        outputs = _stop(processes)
    assert starts() == [holder_pid, other.pid], outputs
    assert ends == [other.pid], outputs
    assert status == "SUCCESSFUL"
    assert len(worker_ids) == 2 and len(set(worker_ids)) == 2, worker_ids
    assert leases == 0


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _utc(value: datetime) -> datetime:
    """SQLite's rows hold naive UTC, PostgreSQL's aware times."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_clock_killed_between_claim_and_enqueue_leaves_the_period_to_another_clock(
    scratch: Scratch, tmp_path: Path
) -> None:
    # Given a clock that claimed the period of a job due every 2 seconds and stopped before enqueuing it
    env = scratch.env
    claimed = tmp_path / "claimed"
    hanging = _start(env, "-c", TICK_CLOCK, str(claimed))
    other: subprocess.Popen[str] | None = None
    try:
        _until(claimed.exists, "the first clock claims the period", [hanging])
        # When a second clock starts and the first one is killed
        other = _start(env, "-c", TICK_CLOCK)
        os.kill(hanging.pid, signal.SIGKILL)
        hanging.wait(timeout=30)
        killed_at = datetime.now(UTC)

        # Then the second clock enqueues the job, once per period
        def ticks() -> list[datetime]:
            return [
                _datetime(row[0])
                for row in scratch.query(
                    "SELECT enqueued_at FROM django_tasks_database_dbtaskresult WHERE task_path = %s "
                    "ORDER BY enqueued_at",
                    ["dikom.web.tests.clock_jobs.tick"],
                )
            ]

        enqueued = _until(lambda: len(ticks()) >= 3 and ticks(), "the second clock enqueues 3 times", [other])
        claims = scratch.query("SELECT name FROM web_periodicclaim")
    finally:
        outputs = _stop([hanging, *([other] if other else [])])
    assert _utc(enqueued[0]) >= killed_at - _seconds(TOLERANCE + 1), (enqueued, killed_at, outputs)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(enqueued)]
    assert all(gap >= PERIOD - TOLERANCE for gap in gaps), gaps
    assert claims == [("test.tick",)]
