"""Which running tasks ``requeue_lost_tasks`` puts back in the queue (step by step; the
real processes are in test_worker_and_clock_faults)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dikom.web.actions import LOST_WORKER, renew_task_lease, requeue_lost_tasks
from dikom.web.models import TaskLease

pytestmark = pytest.mark.django_db


def _running(started_seconds_ago: float, workers: list[str]) -> DBTaskResult:
    return DBTaskResult.objects.create(
        status="RUNNING",
        args_kwargs={"args": [], "kwargs": {}},
        task_path="dikom.web.tests.clock_jobs.tick",
        backend_name="default",
        started_at=timezone.now() - timedelta(seconds=started_seconds_ago),
        worker_ids=workers,
    )


def test_lost_tasks_are_queued_again_live_ones_stay(settings: pytest.FixtureRequest) -> None:
    settings.DIKOM_TASK_LEASE_SECONDS = 60  # type: ignore[attr-defined]
    settings.DIKOM_TASK_MAX_ATTEMPTS = 3  # type: ignore[attr-defined]
    lost = _running(120, ["a"])  # no lease, started two leases ago
    young = _running(10, ["b"])  # no lease yet, started within the lease
    renewed = _running(600, ["c"])  # long-running, its worker renews
    renew_task_lease(str(renewed.id), "c")
    stale = _running(600, ["d"])  # its worker stopped renewing
    TaskLease.objects.create(task_id=stale.id, worker_id="d", renewed_at=timezone.now() - timedelta(seconds=90))
    poison = _running(120, ["e", "f", "g"])  # lost its worker for the third time

    requeued = requeue_lost_tasks()

    assert sorted(requeued) == sorted([str(lost.id), str(stale.id)])
    statuses = {task.id: task.status for task in DBTaskResult.objects.all()}
    assert statuses == {
        lost.id: "READY",
        young.id: "RUNNING",
        renewed.id: "RUNNING",
        stale.id: "READY",
        poison.id: "FAILED",
    }
    poison.refresh_from_db()
    assert poison.exception_class_path == LOST_WORKER
    assert "e, f, g" in poison.traceback
    # (expired leases of tasks no longer running are removed; the live one stays)
    assert set(TaskLease.objects.values_list("worker_id", flat=True)) == {"c"}


def test_the_requeue_job_is_run_by_the_clock() -> None:
    from dikom.lib import periodic

    job = periodic.JOBS["tasks.requeue_lost"]
    assert job.in_clock
    assert job.task_path == "dikom.web.actions.requeue_lost_tasks"
