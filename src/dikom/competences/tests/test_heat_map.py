"""Heat map per city: cells of fewer than five people hidden, text values, trends; the city comparison opt-in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.competences import actions
from dikom.competences.models import Assessment, StaffProfile
from dikom.competences.tests.conftest import Team, make_unit, staff_user
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


def _confirmed(staff: StaffProfile, manager: Any, levels: dict[str, int]) -> None:
    for assessment in actions.submit_self_assessment(staff, levels, actor=staff.user):
        actions.review_assessment(assessment, manager=manager, level=levels[assessment.competence_code])


def _add_people(team: Team, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        user = staff_user(team.unit.municipality, f"person{number}")
        staff = actions.enrol_staff(
            user=user, municipality=team.unit.municipality, org_unit=team.unit, role_profile=team.profile
        )
        _confirmed(staff, team.manager, {"1.1": 2, "4.2": 3, "2.4": 3})


def test_a_cell_appears_only_once_five_people_are_in_it(team: Team, login: Any) -> None:
    # clerk and manager are in the unit; two more make four.
    _add_people(team, 2)
    client = login(english_client(), team.hr)
    html = client.get("/kompetenzen/fulda/heatmap/").content.decode()
    assert ">fewer than 5 people</td>" in html
    assert "people)" not in html

    _add_people(team, 1, start=10)  # the fifth
    html = client.get("/kompetenzen/fulda/heatmap/").content.decode()
    assert ">fewer than 5 people</td>" not in html
    # 1.1 required 4: three people confirmed at 2, two unassessed (0) → average 1.2 of 4.0, gap 2.8.
    assert "1.2 of 4.0, gap 2.8 (5 people)" in html
    assert 'class="heat__cell--high"' in html


def test_the_same_cell_in_both_languages_one_after_the_other(team: Team, login: Any) -> None:
    """Cell texts are kept per language and value (heat_cells): a German request after an English one
    (and back) gets its own words and number format, the roadMAP table too."""
    _add_people(team, 3)
    english = login(english_client(), team.hr)
    german = login(Client(), team.hr)
    for _ in range(2):
        assert "1.2 of 4.0, gap 2.8 (5 people)" in english.get("/kompetenzen/fulda/heatmap/").content.decode()
        html = german.get("/kompetenzen/fulda/heatmap/").content.decode()
        assert "1,2 von 4,0, Lücke 2,8 (5 Personen)" in html
        assert "1.2 of 4.0" not in html
        assert "1,2 von 4,0, Lücke 2,8 (5 Personen)" in german.get("/kompetenzen/fulda/roadmap/").content.decode()


def test_hidden_cells_in_the_trend_and_the_comparison(team: Team, login: Any, city_b: Any, outsider: Any) -> None:
    _add_people(team, 5)
    client = login(english_client(), team.hr)
    html = client.get("/kompetenzen/fulda/heatmap/").content.decode()
    assert "Trend by quarter" in html and "1.4" in html  # 1.1: five at 2, two at 0 → 10/7

    # Not shared yet: the comparison (open to staff of every city) shows nothing of Fulda.
    other = login(english_client(), outsider)
    assert "Fulda" not in other.get("/kompetenzen/vergleich/").content.decode()
    settings_page = client.post(
        "/kompetenzen/fulda/einstellungen/",
        {"compare_across_cities": "on", "retention_days": 90, "review_interval_days": 365},
    )
    assert settings_page.status_code == 302
    html = other.get("/kompetenzen/vergleich/").content.decode()
    assert "Fulda" in html and '<td class="numeric">2.6</td>' in html  # 4 - 10/7 ≈ 2.6


def test_who_opens_the_heat_map(
    team: Team, login: Any, owner: Any, colleague: Any, outsider: Any, city_a: Any, citizen: Any
) -> None:
    assert login(Client(), team.hr).get("/kompetenzen/fulda/heatmap/").status_code == 200
    assert login(Client(), owner).get("/kompetenzen/fulda/heatmap/").status_code == 200
    assert login(Client(), colleague).get("/kompetenzen/fulda/heatmap/").status_code == 403
    assert login(Client(), outsider).get("/kompetenzen/fulda/heatmap/").status_code == 404
    assert login(Client(), citizen).get("/kompetenzen/fulda/heatmap/").status_code == 404
    outsider_hr = staff_user(outsider.memberships.get().municipality, "giessen-hr", Role.HUMAN_RESOURCES)
    assert login(Client(), outsider_hr).get("/kompetenzen/fulda/heatmap/").status_code == 404
    assert login(Client(), colleague).post("/kompetenzen/fulda/einstellungen/", {}).status_code == 403


def test_a_manager_sees_only_the_units_they_head(team: Team, login: Any, city_a: Any) -> None:
    other_unit = make_unit(city_a, "Ordnungsamt")
    for number in range(5):
        user = staff_user(city_a, f"ordnung{number}")
        actions.enrol_staff(user=user, municipality=city_a, org_unit=other_unit, role_profile=team.profile)
    client = login(english_client(), team.manager)
    html = client.get("/kompetenzen/fulda/heatmap/").content.decode()
    assert "Bürgerbüro" in html and "Ordnungsamt" not in html
    assert "You see the units you head." in html
    assert client.get("/kompetenzen/fulda/einstellungen/").status_code == 403


def test_heat_map_query_count_does_not_grow_with_people(
    team: Team, login: Any, django_assert_max_num_queries: Any
) -> None:
    _add_people(team, 8)
    client = login(english_client(), team.hr)
    client.get("/kompetenzen/fulda/heatmap/")
    assert Assessment.objects.count() > 20
    with django_assert_max_num_queries(16):
        assert client.get("/kompetenzen/fulda/heatmap/").status_code == 200


def test_the_trend_uses_the_level_valid_at_each_quarter_end(team: Team) -> None:
    """An earlier confirmed level counts for the quarters before the later review superseded it."""
    import datetime

    from django.utils import timezone

    from dikom.competences import gaps
    from dikom.competences.models import Assessment

    city = team.unit.municipality
    people = [team.clerk, StaffProfile.objects.get(user=team.manager)]
    for i in range(3):
        user = staff_user(city, f"trend{i}")
        people.append(actions.enrol_staff(user=user, municipality=city, org_unit=team.unit, role_profile=team.profile))
    long_ago = timezone.now() - datetime.timedelta(days=200)
    for person in people:
        reviewer = team.hr if person.user_id == team.manager.pk else team.manager
        first = actions.submit_self_assessment(person, {"4.2": 2}, actor=person.user)[0]
        actions.review_assessment(first, manager=reviewer, level=2)
        Assessment.objects.filter(pk=first.pk).update(reviewed_at=long_ago)
        second = actions.submit_self_assessment(person, {"4.2": 4}, actor=person.user)[0]
        actions.review_assessment(second, manager=reviewer, level=4)
    assert Assessment.objects.filter(competence_code="4.2", superseded_at__isnull=True).count() == 5
    heat = gaps.city_heat_map(city.pk)
    # the current quarter: level 4; the end of the previous quarter (after the first review): level 2
    assert heat.trend["4.2"][-1] == 4.0 and heat.trend["4.2"][-2] == 2.0
    assert heat.cells[("4.2", team.unit.pk)].average_level == 4.0
    assert (
        gaps.city_roadmap(city.pk)
        .rows[[r.code for r in gaps.city_roadmap(city.pk).rows].index("4.2")]
        .total.average_level
        == 4.0
    )
