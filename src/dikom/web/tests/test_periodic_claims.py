"""A periodic job's period is won once: ``claim_period`` in one process, step by step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dikom.web.actions import claim_period
from dikom.web.models import PeriodicClaim

pytestmark = pytest.mark.django_db
EVERY = timedelta(seconds=60)


def test_first_claim_wins_then_only_after_the_period() -> None:
    start = timezone.now()
    first = claim_period("cases.clock", EVERY, now=start)
    assert first.won and first.next_due == start + EVERY

    # A second clock within the period loses and learns when the next period begins.
    second = claim_period("cases.clock", EVERY, now=start + timedelta(seconds=59))
    assert not second.won and second.next_due == start + EVERY

    # Once the period has run out exactly one claim wins.
    later = start + EVERY
    assert claim_period("cases.clock", EVERY, now=later).won
    assert not claim_period("cases.clock", EVERY, now=later).won
    assert PeriodicClaim.objects.get(name="cases.clock").last_enqueued_at == later


def test_a_job_whose_period_ran_out_while_no_clock_ran_is_won_at_once() -> None:
    long_ago = timezone.now() - timedelta(days=2)
    PeriodicClaim.objects.create(name="opendata.harvest", last_enqueued_at=long_ago)
    assert claim_period("opendata.harvest", EVERY).won
    # Another job's claim is its own.
    assert claim_period("handover.resume", EVERY).won
