"""Seats under real concurrency on PostgreSQL: several people take the last seat of a training
(approval by their managers at the same moment) and of a forum event at once, each on its own
database connection in its own thread. Exactly one gets the seat, the others wait; a freed seat
goes to whoever waits longest. Both apps use ``dikom.lib.waitlist``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from dikom.competences import actions, programme
from dikom.competences.models import Enrolment, FrameworkVersion
from dikom.competences.tests.concurrency import at_once, postgres_only
from dikom.competences.tests.conftest import Team, staff_user
from dikom.forum import actions as forum_actions
from dikom.forum.models import Event, Registration

pytestmark = pytest.mark.django_db(transaction=True)
PEOPLE = 6
ROUNDS = 3


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread with its own connection, released together by a barrier."""
    results, errors = at_once(calls)
    assert not errors, errors
    return results


def test_concurrent_approvals_give_the_last_training_seat_once(team: Team, digcomp: FrameworkVersion) -> None:
    postgres_only()
    city = team.unit.municipality
    people = []
    for i in range(PEOPLE):
        user = staff_user(city, f"person{i}")
        people.append(actions.enrol_staff(user=user, municipality=city, org_unit=team.unit, role_profile=team.profile))
    for round_number in range(ROUNDS):
        start = timezone.now() + datetime.timedelta(days=3)
        training = programme.create_training(
            offered_by=city,
            title=f"Runde {round_number}",
            framework_version=digcomp,
            targets={"1.1": 2},
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
            seats=2,
        )
        # one seat is already taken, one is left
        programme.enrol(training, team.clerk, actor=team.clerk.user)
        requests = [programme.request_enrolment(training, p, actor=p.user) for p in people]
        decided = _at_once(
            [(lambda r=r: programme.decide_enrolment(r, approver=team.manager, approve=True).status) for r in requests]
        )
        assert sorted(decided) == ["enrolled"] + ["waiting"] * (PEOPLE - 1)
        seated = Enrolment.objects.filter(training=training, status=Enrolment.Status.ENROLLED)
        assert seated.count() == 2
        # the clerk gives her seat back: the waiting person approved first moves up
        first_waiting = (
            Enrolment.objects.filter(training=training, status=Enrolment.Status.WAITING)
            .order_by("queued_at", "id")
            .first()
        )
        moved = programme.cancel_enrolment(Enrolment.objects.get(training=training, staff=team.clerk), actor=None)
        assert moved is not None and first_waiting is not None and moved.pk == first_waiting.pk
        assert seated.count() == 2


def test_concurrent_registrations_give_the_last_event_seat_once(city_a: Any) -> None:
    postgres_only()
    users = [staff_user(city_a, f"guest{i}") for i in range(PEOPLE)]
    for round_number in range(ROUNDS):
        start = timezone.now() + datetime.timedelta(days=3)
        event = Event.objects.create(
            title=f"Forumstag {round_number}", starts_at=start, ends_at=start + datetime.timedelta(hours=2), seats=1
        )
        statuses = _at_once([(lambda u=u, e=event: forum_actions.register(e, user=u).status) for u in users])
        assert sorted(statuses) == ["registered"] + ["waiting"] * (PEOPLE - 1)
        holder = Registration.objects.get(event=event, status=Registration.Status.REGISTERED)
        moved = forum_actions.unregister(event, user=holder.user)
        assert moved is not None and Registration.objects.filter(event=event, status="registered").count() == 1
