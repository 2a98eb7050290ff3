"""State changes of the web shell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from dikom.lib import periodic
from dikom.web.models import PeriodicClaim


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
