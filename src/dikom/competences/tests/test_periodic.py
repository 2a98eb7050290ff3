"""Periodic jobs: review reminders by e-mail (once per due date) and deletion after the retention period."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from dikom.audit.models import AuditEvent
from dikom.competences import actions
from dikom.competences.models import Assessment, StaffProfile
from dikom.competences.tests.conftest import Team
from dikom.lib import periodic
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_jobs_are_registered() -> None:
    assert periodic.JOBS["competences.reminders"].task_path == "dikom.competences.tasks.send_review_reminders"
    assert periodic.JOBS["competences.retention"].task_path == "dikom.competences.tasks.delete_departed"


def test_a_due_review_sends_one_german_reminder(team: Team) -> None:
    today = timezone.localdate()
    StaffProfile.objects.filter(pk=team.clerk.pk).update(next_review_on=today - datetime.timedelta(days=1))
    from dikom.competences import tasks

    tasks.send_review_reminders.enqueue()
    run_task_worker()
    run_task_worker()  # the mail task queued on commit
    assert [m.to for m in mail.outbox] == [[team.clerk.user.email]]
    assert "Kompetenz" in mail.outbox[0].subject
    # Running again sends nothing more for the same due date.
    tasks.send_review_reminders.enqueue()
    run_task_worker()
    run_task_worker()
    assert len(mail.outbox) == 1


def test_a_review_moves_the_next_due_date(team: Team) -> None:
    today = timezone.localdate()
    StaffProfile.objects.filter(pk=team.clerk.pk).update(next_review_on=today)
    team.clerk.refresh_from_db()
    (assessment, *_rest) = actions.submit_self_assessment(team.clerk, {"1.1": 2}, actor=team.clerk.user)
    actions.review_assessment(assessment, manager=team.manager, level=2)
    team.clerk.refresh_from_db()
    assert team.clerk.next_review_on == today + datetime.timedelta(days=365)


def test_departed_staff_are_deleted_after_the_city_retention_period(team: Team, city_a: Any) -> None:
    actions.submit_self_assessment(team.clerk, {"1.1": 2}, actor=team.clerk.user)
    actions.update_city_settings(
        city_a, actor=team.hr, compare_across_cities=False, retention_days=30, review_interval_days=365
    )
    today = timezone.localdate()
    actions.record_departure(team.clerk, left_on=today - datetime.timedelta(days=29), actor=team.hr)
    assert actions.delete_departed(today) == 0
    assert Assessment.objects.filter(staff=team.clerk).exists()
    assert actions.delete_departed(today + datetime.timedelta(days=1)) == 1
    assert not StaffProfile.objects.filter(pk=team.clerk.pk).exists()
    assert not Assessment.objects.filter(staff_id=team.clerk.pk).exists()
    event = AuditEvent.objects.get(action="competences.staff.delete")
    assert "clerk" not in str(event.changes) and event.object_repr == ""
