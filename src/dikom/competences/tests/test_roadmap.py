"""The officer's roadMAP per city: departments × competences with the five-people rule, trainings
booked and completed (counts under five hidden too), PDF through dikom.lib.pdf, and who may see it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.competences import programme
from dikom.competences.models import StaffProfile
from dikom.competences.tests.conftest import Team, staff_user
from dikom.competences.tests.test_heat_map import _add_people
from dikom.lib.testing import english_client
from dikom.municipalities.models import OrgUnit

pytestmark = pytest.mark.django_db


def _department(team: Team) -> OrgUnit:
    """Put the Bürgerbüro under a Dezernat, the department the roadMAP groups by."""
    dept = OrgUnit.objects.create(municipality=team.unit.municipality, name="Dezernat II", kind=OrgUnit.Kind.DEPARTMENT)
    team.unit.parent = dept
    team.unit.save()
    return dept


def test_departments_appear_once_five_people_are_in_them_and_booking_counts_follow_the_rule(
    team: Team, digcomp: Any, login: Any
) -> None:
    _department(team)
    _add_people(team, 2)  # four people
    client = login(english_client(), team.hr)
    html = client.get("/kompetenzen/fulda/roadmap/").content.decode()
    assert "Dezernat II" in html and ">fewer than 5 people</td>" in html and "people)</td>" not in html

    _add_people(team, 1, start=10)  # five
    start = timezone.now() + datetime.timedelta(days=5)
    training = programme.create_training(
        offered_by=None,
        title="Suchen und Finden",
        framework_version=digcomp,
        targets={"1.1": 5},
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        seats=20,
    )
    people = list(StaffProfile.objects.filter(municipality=team.unit.municipality))
    for staff in people[:4]:
        programme.enrol(training, staff, actor=None)
    html = client.get("/kompetenzen/fulda/roadmap/").content.decode()
    assert "1.2 of 4.0, gap 2.8 (5 people)" in html
    assert ">fewer than 5</td>" in html  # four bookings are not shown as a number
    programme.enrol(training, people[4], actor=None)
    html = client.get("/kompetenzen/fulda/roadmap/").content.decode()
    assert '<td class="numeric">5</td>' in html


def test_only_hr_and_administrators_of_the_city_see_it(
    team: Team, city_b: Any, outsider: Any, owner: Any, login: Any
) -> None:
    assert login(Client(), owner).get("/kompetenzen/fulda/roadmap/").status_code == 200
    # The line manager sees the heat map of his units, not the whole city's roadMAP
    assert login(Client(), team.manager).get("/kompetenzen/fulda/roadmap/").status_code == 403
    assert login(Client(), team.clerk.user).get("/kompetenzen/fulda/roadmap/").status_code == 403
    # Another city's HR and administrators: as if it did not exist
    hr_b = staff_user(city_b, "hr-giessen", Role.HUMAN_RESOURCES)
    for other in (outsider, hr_b):
        assert login(Client(), other).get("/kompetenzen/fulda/roadmap/").status_code == 404
        assert login(Client(), other).get("/kompetenzen/fulda/roadmap.pdf").status_code == 404
    # Reachable by clicking: roadMAP start page → roadMAP of the city
    assert "/kompetenzen/fulda/roadmap/" in login(Client(), team.hr).get("/kompetenzen/").content.decode()


def test_pdf_export_goes_through_the_platform_renderer(team: Team, login: Any) -> None:
    _department(team)
    _add_people(team, 3)
    response = login(Client(), team.hr).get("/kompetenzen/fulda/roadmap.pdf")
    if response.status_code == 503:
        # WeasyPrint or Pango missing on this machine: a German page, not a 500.
        assert "PDF" in response.content.decode()
        pytest.skip("PDF renderer not available here")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert "roadmap-fulda.pdf" in response["Content-Disposition"]
