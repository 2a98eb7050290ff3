"""Enqueue the registered periodic jobs when they are due (see dikom.lib.periodic).

Several clocks may run (one per machine): before enqueuing a job a clock claims the
job's period in the database (``dikom.web.actions.claim_period``, in the same transaction as the task row), so each job is
enqueued once per period however many clocks run. A clock asks the database about a
job only when the job's period, as last read from the database, has run out. While the
database cannot be reached the clock keeps running and asks again every few seconds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from dikom.lib import periodic
from dikom.web.actions import enqueue_periodic_job_if_due

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0  # after a database error


class Command(BaseCommand):
    help = "Enqueue periodic background jobs (timers, reminders, housekeeping) when they are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Enqueue every job whose period has run out once and stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Monotonic time at which each job is next worth asking the database about. The first
        # round asks about every job: what fell due while no clock ran is enqueued at once.
        check_at: dict[str, float] = {}
        while True:
            close_old_connections()
            for job in periodic.JOBS.values():
                if time.monotonic() < check_at.get(job.name, 0.0):
                    continue
                try:
                    claim = enqueue_periodic_job_if_due(job)
                except DatabaseError as error:
                    # The database is unreachable (e.g. the primary restarts): nothing was claimed
                    # (one transaction); ask again in a few seconds instead of ending.
                    logger.warning("periodic job %s: database unavailable (%s); trying again", job.name, error)
                    connections.close_all()
                    check_at[job.name] = time.monotonic() + RETRY_SECONDS
                    continue
                wait = (claim.next_due - timezone.now()).total_seconds()
                check_at[job.name] = time.monotonic() + max(wait, 0.0)
            if options["once"]:
                return
            time.sleep(1)
