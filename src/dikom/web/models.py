"""Platform-wide bookkeeping of the web shell.

``PeriodicClaim``: when each periodic job (``dikom.lib.periodic``) was last enqueued.
Every clock process claims a job's period in the database before it enqueues the job,
so that however many clocks run (one per machine), each job is enqueued once per period.
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
