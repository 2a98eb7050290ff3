"""Qualification programme: a training offered by one city is recommended from a gap in another,
booked, completed and counted as evidence; seats, waiting list and the boundaries between cities."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.competences import actions, programme
from dikom.competences.models import Enrolment, Evidence, FrameworkVersion, Training
from dikom.competences.tests.conftest import Team, make_unit, staff_user

pytestmark = pytest.mark.django_db


def _confirmed_gap(team: Team) -> None:
    """The clerk assessed 4.2 at level 2, her manager confirmed it; the profile requires 5."""
    created = actions.submit_self_assessment(team.clerk, {"4.2": 2}, actor=team.clerk.user)
    actions.review_assessment(created[0], manager=team.manager, level=2)


def _training(city: Any, digcomp: FrameworkVersion, **overrides: Any) -> Training:
    start = timezone.now() + datetime.timedelta(days=14)
    values: dict[str, Any] = {
        "offered_by": city,
        "title": "Datenschutz im Bürgerbüro",
        "framework_version": digcomp,
        "targets": {"4.2": 4},
        "starts_at": start,
        "ends_at": start + datetime.timedelta(hours=3),
        "seats": 12,
        "format": Training.Format.ONLINE,
    }
    values.update(overrides)
    return programme.create_training(**values)


def test_other_citys_training_is_recommended_booked_completed_and_becomes_evidence(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    # Given Gießen's HR offers a training through the form
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    giessen = login(Client(), hr_b)
    start = timezone.localtime() + datetime.timedelta(days=10)
    response = giessen.post(
        "/kompetenzen/giessen/schulungen/neu/",
        {
            "title": "Datenschutz im Bürgerbüro",
            "format": "online",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "seats": 10,
            "competence_1": "4.2",
            "level_1": 5,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    training = Training.objects.get()
    assert training.offered_by == city_b and training.targets == {"4.2": 5}

    # When the Fulda clerk with a confirmed gap in 4.2 opens her page, the training is recommended
    _confirmed_gap(team)
    clerk = login(Client(), team.clerk.user)
    page = clerk.get(f"/kompetenzen/personen/{team.clerk.uuid}/").content.decode()
    assert "Lücken schließen" in page and "Datenschutz im Bürgerbüro" in page and "Gießen" in page
    assert "/kompetenzen/experten/?kompetenz=4.2" in page
    # ... and she books it from there
    assert clerk.post(f"/kompetenzen/schulungen/{training.uuid}/anmelden/").status_code == 302
    enrolment = Enrolment.objects.get(training=training)
    assert enrolment.status == Enrolment.Status.REQUESTED and enrolment.staff == team.clerk
    # ... her line manager approves the request, and she has a seat
    manager = login(Client(), team.manager)
    assert "Clerk" in manager.get("/kompetenzen/freigaben/").content.decode()
    assert manager.post(f"/kompetenzen/freigaben/{enrolment.uuid}/", {"decision": "approve"}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ENROLLED and enrolment.decided_by == team.manager
    assert "Datenschutz im Bürgerbüro" in clerk.get("/kompetenzen/schulungen/").content.decode()

    # Then Gießen's HR (organiser) sees her as participant and confirms completion after the training
    detail = giessen.get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()
    assert "Clerk" in detail
    Training.objects.filter(pk=training.pk).update(starts_at=timezone.now() - datetime.timedelta(hours=1))
    assert giessen.post(f"/kompetenzen/schulungen/{training.uuid}/abschluss/{enrolment.uuid}/").status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.COMPLETED
    evidence = Evidence.objects.get(kind=Evidence.Kind.TRAINING)
    assert evidence.assessment.staff == team.clerk and evidence.assessment.competence_code == "4.2"
    assert evidence.enrolment == enrolment
    # The completion shows as evidence to the clerk and to her manager, who reviews the assessment
    assert (
        "Datenschutz im Bürgerbüro"
        in login(Client(), team.manager).get(f"/kompetenzen/personen/{team.clerk.uuid}/").content.decode()
    )

    # But the organising city never sees the clerk's assessments
    assert giessen.get(f"/kompetenzen/personen/{team.clerk.uuid}/").status_code == 404


def test_participants_are_visible_only_to_the_organisers(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    training = _training(team.unit.municipality, digcomp)
    giessen_clerk = staff_user(city_b, "giessen-clerk")
    staff_b = actions.enrol_staff(
        user=giessen_clerk, municipality=city_b, org_unit=make_unit(city_b, "Amt"), role_profile=None
    )
    programme.enrol(training, staff_b, actor=giessen_clerk)
    programme.enrol(training, team.clerk, actor=team.clerk.user)
    # Fulda's HR organises: sees both
    html = login(Client(), team.hr).get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()
    assert "Giessen-Clerk" in html and "Clerk" in html
    # Gießen's HR and a Fulda colleague without an HR role see the training, not its participants
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    for viewer in (hr_b, team.manager):
        html = login(Client(), viewer).get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()
        assert "Datenschutz im Bürgerbüro" in html and "Teilnehmende" not in html
    enrolment = Enrolment.objects.get(staff=team.clerk)
    Training.objects.filter(pk=training.pk).update(starts_at=timezone.now() - datetime.timedelta(hours=1))
    # ... and cannot confirm anyone's completion
    response = login(Client(), hr_b).post(f"/kompetenzen/schulungen/{training.uuid}/abschluss/{enrolment.uuid}/")
    assert response.status_code == 404
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ENROLLED


def test_cooperation_training_each_city_hr_sees_only_its_own_participants(
    team: Team, city_b: Any, digcomp: FrameworkVersion
) -> None:
    training = _training(None, digcomp)
    giessen_clerk = staff_user(city_b, "giessen-clerk")
    staff_b = actions.enrol_staff(user=giessen_clerk, municipality=city_b, org_unit=None, role_profile=None)
    programme.enrol(training, staff_b, actor=giessen_clerk)
    programme.enrol(training, team.clerk, actor=team.clerk.user)
    from dikom.competences import access

    assert [e.staff for e in access.participants_visible_to(team.hr, training)] == [team.clerk]
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    assert [e.staff for e in access.participants_visible_to(hr_b, training)] == [staff_b]


def test_full_training_puts_people_on_the_waiting_list_and_a_freed_seat_moves_the_first_up(
    team: Team, digcomp: FrameworkVersion, login: Any
) -> None:
    training = _training(team.unit.municipality, digcomp, seats=1)
    manager_staff = team.clerk.__class__.objects.get(user=team.manager)
    first = programme.enrol(training, manager_staff, actor=team.manager)
    clerk = login(Client(), team.clerk.user)
    clerk.post(f"/kompetenzen/schulungen/{training.uuid}/anmelden/")
    waiting = Enrolment.objects.get(staff=team.clerk)
    assert waiting.status == Enrolment.Status.REQUESTED
    response = login(Client(), team.manager).post(
        f"/kompetenzen/freigaben/{waiting.uuid}/", {"decision": "approve"}, follow=True
    )
    assert "Warteliste" in response.content.decode()
    waiting.refresh_from_db()
    assert first.status == Enrolment.Status.ENROLLED and waiting.status == Enrolment.Status.WAITING
    # enrolling twice changes nothing
    assert programme.enrol(training, team.clerk, actor=team.clerk.user).pk == waiting.pk
    assert Enrolment.objects.count() == 2
    moved = programme.cancel_enrolment(first, actor=team.manager)
    assert moved is not None and moved.pk == waiting.pk
    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.ENROLLED


def test_bad_training_input_gets_german_errors_and_rights_are_checked(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any, owner: Any
) -> None:
    hr = login(Client(), team.hr)
    start = timezone.localtime() + datetime.timedelta(days=3)
    base = {
        "title": "X",
        "format": "in_person",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "seats": 5,
        "competence_1": "4.2",
        "level_1": 3,
    }
    response = hr.post("/kompetenzen/fulda/schulungen/neu/", base)
    assert response.status_code == 400 and "Die Schulung muss nach ihrem Beginn enden." in response.content.decode()
    response = hr.post("/kompetenzen/fulda/schulungen/neu/", {**base, "competence_1": "9.9", "level_1": 99})
    assert response.status_code == 400 and "Auswahl" in response.content.decode()
    assert not Training.objects.exists()
    # A colleague without HR role may not offer; another city's HR does not even see the page
    assert login(Client(), team.manager).get("/kompetenzen/fulda/schulungen/neu/").status_code == 403
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    assert login(Client(), hr_b).get("/kompetenzen/fulda/schulungen/neu/").status_code == 404
    # Citizens and anonymous visitors do not see the catalogue
    assert Client().get("/kompetenzen/schulungen/").status_code == 302
    # Enrolment after the start is refused in German
    training = _training(team.unit.municipality, digcomp)
    Training.objects.filter(pk=training.pk).update(starts_at=timezone.now() - datetime.timedelta(minutes=5))
    response = login(Client(), team.clerk.user).post(f"/kompetenzen/schulungen/{training.uuid}/anmelden/", follow=True)
    assert "Die Anmeldung ist geschlossen" in response.content.decode()
    assert not Enrolment.objects.exists()


def test_catalogue_filters_by_competence_and_provider(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    _training(team.unit.municipality, digcomp, title="Fulda Datenschutz")
    _training(city_b, digcomp, title="Gießen Zusammenarbeit", targets={"2.4": 3})
    _training(None, digcomp, title="Kooperation Suchen", targets={"1.1": 5})
    client = login(Client(), team.clerk.user)
    html = client.get("/kompetenzen/schulungen/?kompetenz=2.4").content.decode()
    assert "Gießen Zusammenarbeit" in html and "Fulda Datenschutz" not in html
    html = client.get("/kompetenzen/schulungen/?anbieter=kooperation").content.decode()
    assert "Kooperation Suchen" in html and "Gießen Zusammenarbeit" not in html
    # nonsense filters answer 200 with nothing found, never a 500
    assert client.get("/kompetenzen/schulungen/?kompetenz=%C3%BCx&anbieter=%27&format=zz").status_code == 200


def test_calendar_file_of_a_training_and_of_a_forum_event(
    team: Team, city_b: Any, digcomp: FrameworkVersion, login: Any
) -> None:
    from dikom.forum import actions as forum_actions

    training = _training(city_b, digcomp, title="Datenschutz, kompakt")
    client = login(Client(), team.clerk.user)
    response = client.get(f"/kompetenzen/schulungen/{training.uuid}/termin.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert b"SUMMARY:Datenschutz\\, kompakt" in response.content and b"BEGIN:VEVENT" in response.content
    assert "/termin.ics" in client.get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()
    hr = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    start = timezone.now() + datetime.timedelta(days=3)
    event = forum_actions.create_event(
        actor=hr, title="Forumstag", starts_at=start, ends_at=start + datetime.timedelta(hours=2), seats=5, online=True
    )
    response = client.get(f"/transferforum/veranstaltungen/{event.uuid}/termin.ics")
    assert response.status_code == 200 and b"SUMMARY:Forumstag" in response.content
    assert Client().get(f"/transferforum/veranstaltungen/{event.uuid}/termin.ics").status_code == 302


def test_staff_outside_roadmap_see_the_training_and_why_they_cannot_enrol(
    team: Team, digcomp: FrameworkVersion, colleague: Any, login: Any
) -> None:
    training = _training(team.unit.municipality, digcomp)
    client = login(Client(), colleague)  # a caseworker of Fulda without a roadMAP record
    html = client.get(f"/kompetenzen/schulungen/{training.uuid}/").content.decode()
    assert "noch nicht in roadMAP" in html
    response = client.post(f"/kompetenzen/schulungen/{training.uuid}/anmelden/", follow=True)
    assert "noch nicht in roadMAP" in response.content.decode()
    assert not Enrolment.objects.exists()
