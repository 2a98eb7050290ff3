"""Enrolment needs the line manager's approval: the request goes to the manager by mail, only an
approved request takes a seat (waiting list in order of approval), and nobody of another city
sees or decides on a request."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.competences import access, actions, programme
from dikom.competences.actions import CompetenceError
from dikom.competences.models import Enrolment, FrameworkVersion, StaffProfile, Training
from dikom.competences.tests.conftest import Team, make_unit, staff_user
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db


def _training(city: Any, digcomp: FrameworkVersion, seats: int = 5) -> Training:
    start = timezone.now() + datetime.timedelta(days=7)
    return programme.create_training(
        offered_by=city,
        title="E-Akte für Einsteiger",
        framework_version=digcomp,
        targets={"1.1": 3},
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        seats=seats,
    )


def _colleague(team: Team, name: str) -> StaffProfile:
    user = staff_user(team.unit.municipality, name)
    user.email = f"{name}@fulda.example"
    user.save()
    return actions.enrol_staff(
        user=user, municipality=team.unit.municipality, org_unit=team.unit, role_profile=team.profile
    )


def test_request_mails_the_manager_and_the_decision_mails_the_person(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    team.manager.email = "chefin@fulda.example"
    team.manager.save()
    team.clerk.user.email = "clerk@fulda.example"
    team.clerk.user.save()
    training = _training(city_b, digcomp)
    clerk = login(Client(), team.clerk.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(f"/kompetenzen/schulungen/{training.uuid}/anmelden/", follow=True)
    assert "Führungskraft" in response.content.decode()
    run_task_worker()
    assert [m.to for m in mail.outbox] == [["chefin@fulda.example"]]
    assert "/kompetenzen/freigaben/" in mail.outbox[0].body and "E-Akte für Einsteiger" in mail.outbox[0].body
    enrolment = Enrolment.objects.get()
    assert enrolment.status == Enrolment.Status.REQUESTED
    # the request holds no seat
    assert "5 von 5" in clerk.get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()

    manager = login(Client(), team.manager)
    assert "1 Schulungsanfrage" in manager.get("/kompetenzen/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"/kompetenzen/freigaben/{enrolment.uuid}/", {"decision": "decline", "comment": "Dienstplan"})
    run_task_worker()
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.DECLINED and enrolment.decision_comment == "Dienstplan"
    assert mail.outbox[-1].to == ["clerk@fulda.example"] and "abgelehnt" in mail.outbox[-1].body
    assert "Dienstplan" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="competences.training.decline", actor=team.manager).exists()
    # deciding twice is refused with a clear message
    with pytest.raises(CompetenceError):
        programme.decide_enrolment(enrolment, approver=team.manager, approve=True)
    # after a refusal she may ask again; the manager approves this time
    programme.request_enrolment(training, team.clerk, actor=team.clerk.user)
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.REQUESTED
    programme.decide_enrolment(enrolment, approver=team.manager, approve=True)
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ENROLLED and enrolment.queued_at is not None
    assert "Angemeldet" in clerk.get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()


def test_seats_go_to_approved_requests_in_order_of_approval(team: Team, digcomp: FrameworkVersion) -> None:
    training = _training(team.unit.municipality, digcomp, seats=1)
    anna, ben = _colleague(team, "anna"), _colleague(team, "ben")
    first = programme.request_enrolment(training, anna, actor=anna.user)
    second = programme.request_enrolment(training, ben, actor=ben.user)
    clerk = programme.request_enrolment(training, team.clerk, actor=team.clerk.user)
    # three requests, one seat, none taken yet
    assert not Enrolment.objects.filter(status=Enrolment.Status.ENROLLED).exists()
    # Ben is approved first, so he gets the seat although Anna asked earlier
    assert programme.decide_enrolment(second, approver=team.manager, approve=True).status == Enrolment.Status.ENROLLED
    assert programme.decide_enrolment(clerk, approver=team.manager, approve=True).status == Enrolment.Status.WAITING
    assert programme.decide_enrolment(first, approver=team.manager, approve=True).status == Enrolment.Status.WAITING
    # Ben cancels: the first approved of those waiting (the clerk) moves up, not Anna
    moved = programme.cancel_enrolment(Enrolment.objects.get(pk=second.pk), actor=ben.user)
    assert moved is not None and moved.pk == clerk.pk
    statuses = dict(Enrolment.objects.values_list("staff__user__username", "status"))
    assert statuses == {"anna": "waiting", "ben": "cancelled", "clerk": "enrolled"}
    # a request can be withdrawn before the decision, it never held a seat
    carl = _colleague(team, "carl")
    withdrawn = programme.request_enrolment(training, carl, actor=carl.user)
    assert programme.cancel_enrolment(withdrawn, actor=carl.user) is None


def test_a_manager_of_another_city_neither_sees_nor_decides(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    training = _training(city_b, digcomp)
    enrolment = programme.request_enrolment(training, team.clerk, actor=team.clerk.user)
    # Gießen: a unit head and HR (the offering city's organisers)
    unit_b = make_unit(city_b, "Bürgerbüro")
    head_b = staff_user(city_b, "head-giessen")
    actions.set_unit_manager(unit_b, head_b)
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    for outsider in (head_b, hr_b):
        assert access.pending_approvals(outsider) == []
        client = login(Client(), outsider)
        assert "Clerk" not in client.get("/kompetenzen/freigaben/").content.decode()
        response = client.post(f"/kompetenzen/freigaben/{enrolment.uuid}/", {"decision": "approve"})
        assert response.status_code == 404
        with pytest.raises(CompetenceError):
            programme.decide_enrolment(enrolment, approver=outsider, approve=True)
    # Fulda's HR does not decide while the clerk has a line manager; the clerk cannot approve herself
    assert login(Client(), team.hr).post(f"/kompetenzen/freigaben/{enrolment.uuid}/").status_code == 404
    assert access.can_approve(team.clerk.user, team.clerk) is False
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.REQUESTED


def test_without_a_line_manager_hr_of_the_own_city_decides(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    loner_user = staff_user(team.unit.municipality, "loner")
    loner = actions.enrol_staff(
        user=loner_user, municipality=team.unit.municipality, org_unit=None, role_profile=team.profile
    )
    assert access.approvers_of(loner) == [team.hr]
    enrolment = programme.request_enrolment(_training(city_b, digcomp), loner, actor=loner_user)
    assert [e.pk for e in access.pending_approvals(team.hr)] == [enrolment.pk]
    assert access.pending_approvals(team.manager) == []
    hr = login(Client(), team.hr)
    assert hr.post(f"/kompetenzen/freigaben/{enrolment.uuid}/", {"decision": "approve"}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ENROLLED
    # a bad decision value gets a message, not a 500
    other = programme.request_enrolment(_training(city_b, digcomp), loner, actor=loner_user)
    response = hr.post(f"/kompetenzen/freigaben/{other.uuid}/", {"decision": "maybe"}, follow=True)
    assert response.status_code == 200 and "genehmigen oder ablehnen" in response.content.decode()
