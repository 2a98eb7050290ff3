"""Periodic jobs: a small registry and the clock that enqueues them.

Apps register jobs in ``AppConfig.ready`` (``register(name, "dotted.task", every_seconds=60)``).
``manage.py clock`` (started by ``manage.py serve`` next to the task worker)
enqueues each job when it is due (once per period however many clocks run: the period is
claimed in the database, see dikom.web.actions.claim_period); after a restart whatever fell
due while no clock ran is done at once.
The jobs must therefore be idempotent and find their work in the database
(e.g. "timers due before now"), never in the clock's memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task_path: str
    every_seconds: int
    # Run by the clock itself instead of being enqueued: for bookkeeping that must happen even
    # when every worker is busy or gone (putting lost tasks back in the queue). Must be quick.
    in_clock: bool = False


JOBS: dict[str, Job] = {}


def register(name: str, task_path: str, *, every_seconds: int, in_clock: bool = False) -> None:
    JOBS[name] = Job(name, task_path, max(every_seconds, 1), in_clock)


def enqueue(job: Job) -> None:
    """Enqueue the job's task, or run a job ``in_clock`` (a plain function) at once."""
    if job.in_clock:
        import_string(job.task_path)()
        logger.debug("periodic job %s run by the clock", job.name)
        return
    task = import_string(job.task_path)
    task.enqueue()
    logger.debug("periodic job %s enqueued", job.name)
