"""Who sees a person's assessments: the person, their line manager and HR of their city; nobody else."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.competences import actions
from dikom.competences.tests.conftest import Team, staff_user
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


def _assessed(team: Team) -> Any:
    return actions.submit_self_assessment(team.clerk, {"1.1": 3, "4.2": 2, "2.4": 3}, actor=team.clerk.user)[0]


def test_person_sees_own_assessments_without_an_audit_entry(team: Team, login: Any) -> None:
    _assessed(team)
    client = login(english_client(), team.clerk.user)
    response = client.get(f"/kompetenzen/personen/{team.clerk.uuid}/")
    assert response.status_code == 200
    assert "Browsing, searching and filtering" in response.content.decode()
    assert not AuditEvent.objects.filter(action="competences.assessment.view").exists()


@pytest.mark.parametrize("viewer", ["manager", "hr"])
def test_manager_and_hr_see_it_and_the_access_is_logged(team: Team, login: Any, viewer: str) -> None:
    _assessed(team)
    user = getattr(team, viewer)
    client = login(english_client(), user)
    response = client.get(f"/kompetenzen/personen/{team.clerk.uuid}/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="competences.assessment.view")
    assert event.actor == user and event.changes["person"] == "clerk"
    assert event.municipality_id == team.clerk.municipality_id


@pytest.mark.parametrize("who", ["owner", "colleague", "outsider", "outsider_hr", "citizen", "platform_admin"])
def test_others_get_404_for_the_person_and_their_files(
    team: Team,
    login: Any,
    who: str,
    owner: Any,
    colleague: Any,
    outsider: Any,
    citizen: Any,
    platform_admin: Any,
    city_b: Any,
) -> None:
    assessment = _assessed(team)
    evidence = actions.add_evidence(assessment, actor=team.clerk.user, note="Kurs besucht")
    users = {
        "owner": owner,  # municipality administrator of the same city: not the manager, not HR
        "colleague": colleague,  # same city, not the manager
        "outsider": outsider,
        "outsider_hr": staff_user(city_b, "giessen-hr", Role.HUMAN_RESOURCES),
        "citizen": citizen,
        "platform_admin": platform_admin,
    }
    client = login(english_client(), users[who])
    base = f"/kompetenzen/personen/{team.clerk.uuid}/"
    assert client.get(base).status_code == 404
    assert client.get(base + "selbsteinschaetzung/").status_code == 404
    assert client.get(f"{base}datei/{evidence.uuid}/").status_code == 404
    assert client.post(f"{base}bewertung/{assessment.uuid}/", {"level": 5}).status_code == 404
    assert client.post(f"{base}nachweis/{assessment.uuid}/", {"note": "x"}).status_code == 404
    assessment.refresh_from_db()
    assert assessment.confirmed_level is None
    assert not AuditEvent.objects.filter(action="competences.assessment.view").exists()


def test_hr_and_the_person_cannot_confirm(team: Team, login: Any) -> None:
    assessment = _assessed(team)
    for user in (team.hr, team.clerk.user):
        client = login(english_client(), user)
        url = f"/kompetenzen/personen/{team.clerk.uuid}/bewertung/{assessment.uuid}/"
        assert client.post(url, {"level": 6}).status_code == 403
    assessment.refresh_from_db()
    assert assessment.confirmed_level is None


def test_manager_of_a_parent_unit_manages_the_sub_unit(team: Team, login: Any, city_a: Any) -> None:
    division = actions.OrgUnit.objects.create(municipality=city_a, name="Fachbereich Bürgerdienste", kind="fachbereich")
    team.unit.parent = division
    team.unit.save()
    head = staff_user(city_a, "division-head")
    actions.set_unit_manager(division, head)
    client = login(english_client(), head)
    assert client.get(f"/kompetenzen/personen/{team.clerk.uuid}/").status_code == 200
    # ... and the list on the start page names the clerk.
    assert f"/kompetenzen/personen/{team.clerk.uuid}/" in client.get("/kompetenzen/").content.decode()


def test_a_manager_of_several_units_sees_each_person_once(team: Team, login: Any, city_a: Any) -> None:
    actions.set_unit_manager(
        actions.OrgUnit.objects.create(municipality=city_a, name="Standesamt", kind="amt"), team.manager
    )
    html = login(english_client(), team.manager).get("/kompetenzen/").content.decode()
    assert html.count(f'href="/kompetenzen/personen/{team.clerk.uuid}/"') == 1


def test_own_gaps_of_the_service_are_only_the_persons_own(team: Team) -> None:
    from dikom.competences import service

    assessment = _assessed(team)
    actions.review_assessment(assessment, manager=team.manager, level=2)
    gaps = {g.competence_code: g for g in service.own_gaps(team.clerk.user)}
    assert gaps["1.1"].required == 4 and gaps["1.1"].confirmed == 2
    assert {g.competence_code for g in service.own_gaps(team.hr)} == set()
