"""State changes of the web shell."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dikom.lib import periodic
from dikom.web.models import PeriodicClaim, TaskLease

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    won: bool  # this clock enqueues the job for the current period
    next_due: datetime  # when the next period begins (as far as the database knows now)


def claim_period(name: str, every: timedelta, *, now: datetime | None = None) -> Claim:
    """Claim the current period of the periodic job ``name`` for this clock.

    Exactly one of any number of concurrent callers wins a period: the row is created
    once (the unique name decides between two first clocks), after that the conditional
    UPDATE "still due?" is atomic in the database, so only one caller sees one row changed.
    A job never enqueued, or whose period ran out while every clock was down, is won at once.
    """
    now = now or timezone.now()
    # get_or_create catches the IntegrityError of a clock that created the row a moment earlier.
    _claim, created = PeriodicClaim.objects.get_or_create(name=name, defaults={"last_enqueued_at": now})
    if created:
        return Claim(True, now + every)
    won = PeriodicClaim.objects.filter(name=name, last_enqueued_at__lte=now - every).update(last_enqueued_at=now)
    if won:
        return Claim(True, now + every)
    last = PeriodicClaim.objects.values_list("last_enqueued_at", flat=True).get(name=name)
    return Claim(False, last + every)


def enqueue_periodic_job_if_due(job: periodic.Job) -> Claim:
    """Enqueue ``job`` if this clock wins its current period.

    Claim and task row are written in one transaction (the task backend is the database):
    a clock that dies in between leaves neither, and the next clock enqueues the job.
    """
    with transaction.atomic():
        claim = claim_period(job.name, timedelta(seconds=job.every_seconds))
        if claim.won:
            periodic.enqueue(job)
    return claim


def renew_task_lease(task_id: str, worker_id: str) -> None:
    """Note that the worker ``worker_id`` still runs the task ``task_id`` (called by its lease keeper)."""
    TaskLease.objects.update_or_create(task_id=task_id, defaults={"worker_id": worker_id, "renewed_at": timezone.now()})


def end_task_lease(task_id: str) -> None:
    TaskLease.objects.filter(task_id=task_id).delete()


LOST_WORKER = "dikom.web.task_leases.WorkerLost"


def requeue_lost_tasks(*, now: datetime | None = None) -> list[str]:
    """Put the running tasks whose worker is gone back in the queue; return their ids.

    A task is lost when it is still RUNNING but neither its lease (renewed by its worker
    while it is alive) nor, without a lease, its start is newer than
    ``DIKOM_TASK_LEASE_SECONDS``. It becomes READY again and another worker takes it; a task
    whose workers were lost ``DIKOM_TASK_MAX_ATTEMPTS`` times (one that kills its worker)
    is marked FAILED instead. Each change is one conditional UPDATE that re-checks the
    lease, so a lease renewed meanwhile or a task finished or taken meanwhile stays as it is.
    """
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    expired = now - timedelta(seconds=settings.DIKOM_TASK_LEASE_SECONDS)
    live = TaskLease.objects.filter(renewed_at__gt=expired).values("task_id")
    candidates = DBTaskResult.objects.filter(status="RUNNING", started_at__lte=expired).exclude(id__in=live)
    requeued = []
    for task in candidates.only("id", "started_at", "worker_ids", "task_path"):
        same = DBTaskResult.objects.filter(id=task.id, status="RUNNING", started_at=task.started_at).exclude(
            id__in=TaskLease.objects.filter(renewed_at__gt=expired).values("task_id")
        )
        attempts = len(task.worker_ids or [])
        if attempts >= settings.DIKOM_TASK_MAX_ATTEMPTS:
            message = f"The workers {', '.join(task.worker_ids)} ended while running this task ({attempts} times)."
            changed = same.update(status="FAILED", finished_at=now, exception_class_path=LOST_WORKER, traceback=message)
            if changed:
                logger.error("task %s (%s) failed for good: %s", task.id, task.task_path, message)
        else:
            changed = same.update(status="READY")
            if changed:
                requeued.append(str(task.id))
                logger.warning(
                    "task %s (%s) lost its worker %s; queued again",
                    task.id,
                    task.task_path,
                    (task.worker_ids or ["?"])[-1],
                )
    # Leases of tasks that are no longer running (a worker killed after the result was saved).
    TaskLease.objects.filter(renewed_at__lte=expired).exclude(
        task_id__in=DBTaskResult.objects.filter(status="RUNNING").values("id")
    ).delete()
    return requeued
