"""Leases of running background tasks: a task whose worker died runs again elsewhere.

``manage.py db_worker`` marks a task RUNNING when it takes it and leaves it so if the
process is killed (SIGKILL, out of memory, the machine lost). While a worker runs a task, a
thread of that worker renews the task's lease (``dikom.web.models.TaskLease``) every
quarter of ``DIKOM_TASK_LEASE_SECONDS``; the clock's job ``tasks.requeue_lost`` (run by
the clock itself, once per half lease however many clocks run) puts the tasks whose lease
ran out back in the queue (``dikom.web.actions.requeue_lost_tasks``). A task is therefore
run again only once its worker stopped renewing for a whole lease: never while that worker
is alive and reaches the database. Tasks must be safe to run again (they are: they find
their work in the database, see docs/scaling.md).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)


class WorkerLost(Exception):
    """Recorded as the error of a task whose workers were all lost while running it."""


class LeaseKeeper(threading.Thread):
    """Renews one task's lease until ``stop()``; removes the lease it wrote."""

    def __init__(self, task_id: str, worker_id: str) -> None:
        super().__init__(name=f"lease-{task_id}", daemon=True)
        self.task_id = task_id
        self.worker_id = worker_id
        self.stopped = threading.Event()
        self.renewed = False

    def run(self) -> None:
        from dikom.web.actions import end_task_lease, renew_task_lease

        every = settings.DIKOM_TASK_LEASE_SECONDS / 4
        try:
            while not self.stopped.wait(every):
                try:
                    renew_task_lease(self.task_id, self.worker_id)
                    self.renewed = True
                except DatabaseError:
                    # The next renewal tries again; a lease unrenewed for a whole period lets
                    # the task run elsewhere, as it would if this worker had died.
                    logger.warning("could not renew the lease of task %s", self.task_id, exc_info=True)
                    connections.close_all()
            if self.renewed:
                try:
                    end_task_lease(self.task_id)
                except DatabaseError:  # left for requeue_lost_tasks to remove
                    logger.warning("could not remove the lease of task %s", self.task_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)


_keepers: dict[str, LeaseKeeper] = {}


def task_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """Start renewing the lease of a task a database worker has just taken."""
    if getattr(task_result, "db_result", None) is None or not task_result.worker_ids:
        return  # not run by the database worker (e.g. the immediate backend)
    keeper = LeaseKeeper(str(task_result.id), task_result.worker_ids[-1])
    _keepers[keeper.task_id] = keeper
    keeper.start()


def task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    keeper = _keepers.pop(str(task_result.id), None)
    if keeper is not None:
        keeper.stop()


def connect() -> None:
    from django_tasks_db.compat import task_finished as finished_signal
    from django_tasks_db.compat import task_started as started_signal

    started_signal.connect(task_started, dispatch_uid="dikom.task_leases.started")
    finished_signal.connect(task_finished, dispatch_uid="dikom.task_leases.finished")
