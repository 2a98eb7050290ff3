"""Concurrent reviews against the maintained level sums on PostgreSQL (real transactions, real locks).

Every review adds to the same ``LevelSum`` rows when the people are in the same unit and role profile
and the review falls in the same quarter: the trigger's ``INSERT … ON CONFLICT DO UPDATE`` locks the
row until the reviewing transaction commits. Here several managers, each in its own thread with its
own database connection, confirm the pending self-assessments of different people of one unit at the
same moment, each walking through the competences in another order, while a further person of the
unit moves to another unit and back (a statement that moves all of that person's sums out of the
group and into another one). No database error may reach a reviewer (a deadlock would be one), every
review must be stored, and afterwards the table must equal a full rebuild from the assessments.

SQLite serialises writers, so the test runs on PostgreSQL only (``DATABASE_URL``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from dikom.competences import actions
from dikom.competences.models import Assessment, StaffProfile
from dikom.competences.tests.concurrency import at_once, postgres_only
from dikom.competences.tests.conftest import Team, make_unit, staff_user
from dikom.competences.tests.level_sum_check import assert_level_sums_consistent

pytestmark = pytest.mark.django_db(transaction=True)

REVIEWERS = 4
PEOPLE_PER_REVIEWER = 3
CODES = ["1.1", "1.2", "1.3", "2.1", "2.2", "4.2"]
ROUNDS = 3
MOVES = 6


def _at_once(calls: list[Callable[[], Any]]) -> list[BaseException]:
    """Each call in its own thread with its own connection, released together; the errors raised."""
    return at_once(calls)[1]


def _confirmed_long_ago(person: StaffProfile, level: int, manager: Any, when: datetime.datetime) -> None:
    """A confirmed level for every competence, reviewed at ``when`` (an earlier quarter)."""
    for assessment in actions.submit_self_assessment(person, dict.fromkeys(CODES, level), actor=person.user):
        actions.review_assessment(assessment, manager=manager, level=level)
    Assessment.objects.filter(staff=person).update(reviewed_at=when)


def test_concurrent_reviews_in_one_group_neither_deadlock_nor_lose_a_sum(team: Team) -> None:
    postgres_only()
    city = team.unit.municipality
    other_unit = make_unit(city, "Ordnungsamt")
    long_ago = timezone.now() - datetime.timedelta(days=200)
    managers = [staff_user(city, f"reviewer{r}") for r in range(REVIEWERS)]
    people = [
        [
            actions.enrol_staff(
                user=staff_user(city, f"person{r}x{p}"),
                municipality=city,
                org_unit=team.unit,
                role_profile=team.profile,
            )
            for p in range(PEOPLE_PER_REVIEWER)
        ]
        for r in range(REVIEWERS)
    ]
    for group in people:
        for person in group:
            _confirmed_long_ago(person, 2, team.hr, long_ago)
    # The person who moves has sums in the old quarter and (superseded now) in the current one, for
    # every competence: moving them touches the very rows the reviews lock, in the database's order.
    mover = actions.enrol_staff(
        user=staff_user(city, "mover"), municipality=city, org_unit=team.unit, role_profile=team.profile
    )
    _confirmed_long_ago(mover, 3, team.hr, long_ago)
    for assessment in actions.submit_self_assessment(mover, dict.fromkeys(CODES, 5), actor=mover.user):
        actions.review_assessment(assessment, manager=team.hr, level=5)

    for round_number in range(ROUNDS):
        level = 3 + round_number  # a new level each round: every review changes the sums
        pending = {
            person.pk: {
                a.competence_code: a
                for a in actions.submit_self_assessment(person, dict.fromkeys(CODES, level), actor=person.user)
            }
            for group in people
            for person in group
        }

        def reviewer(r: int, level: int = level, pending: dict[int, dict[str, Assessment]] = pending) -> None:
            # reviewer r starts at the r-th competence and half of them walk the list backwards
            order = CODES[r:] + CODES[:r]
            if r % 2:
                order.reverse()
            for code in order:
                for person in people[r]:
                    actions.review_assessment(pending[person.pk][code], manager=managers[r], level=level)

        def moves() -> None:
            for n in range(MOVES):
                actions.enrol_staff(
                    user=mover.user,
                    municipality=city,
                    org_unit=other_unit if n % 2 == 0 else team.unit,
                    role_profile=team.profile,
                )

        errors = _at_once([*(lambda r=r: reviewer(r) for r in range(REVIEWERS)), moves])
        assert not errors, f"round {round_number}: {errors!r}"
        reviewed = Assessment.objects.filter(pk__in=[a.pk for codes in pending.values() for a in codes.values()])
        assert reviewed.count() == REVIEWERS * PEOPLE_PER_REVIEWER * len(CODES)
        assert set(reviewed.values_list("confirmed_level", flat=True)) == {level}
        assert not reviewed.filter(superseded_at__isnull=False).exists()
        assert_level_sums_consistent()
    assert StaffProfile.objects.get(pk=mover.pk).org_unit_id == team.unit.pk  # an even number of moves
