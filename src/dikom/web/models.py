"""Platform-wide bookkeeping of the web shell.

``PeriodicClaim``: when each periodic job (``dikom.lib.periodic``) was last enqueued.
Every clock process claims a job's period in the database before it enqueues the job,
so that however many clocks run (one per machine), each job is enqueued once per period.

``TaskLease``: the worker running a background task shows it is alive (see the class).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicClaim(models.Model):
    name = models.CharField(_("job name"), max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(_("last enqueued at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("periodic job run")
        verbose_name_plural = _("periodic job runs")

    def __str__(self) -> str:
        return self.name


class TaskLease(models.Model):
    """A running background task's lease, renewed by the worker process that runs it.

    While a worker runs a task, a thread of that worker renews the task's lease every quarter
    of ``DIKOM_TASK_LEASE_SECONDS`` (the first time a quarter after the task started; a task
    that ends sooner never writes a lease). A task still marked as running whose lease (or,
    without one, whose start) is older than ``DIKOM_TASK_LEASE_SECONDS`` lost its worker:
    the clock's job ``tasks.requeue_lost`` puts it back in the queue
    (``dikom.web.actions.requeue_lost_tasks``).
    """

    task_id = models.UUIDField(_("task"), unique=True)
    worker_id = models.CharField(_("worker"), max_length=64)
    renewed_at = models.DateTimeField(_("renewed at"))

    class Meta:
        verbose_name = _("task lease")
        verbose_name_plural = _("task leases")

    def __str__(self) -> str:
        return f"{self.task_id} ({self.worker_id})"
