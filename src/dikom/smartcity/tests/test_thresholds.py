"""Thresholds per species or location: set by a city's staff in the browser, used by the tree page, the stored
need (needs_refresh) and the bins; German validation; per city; audit logged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dikom.audit.models import AuditEvent
from dikom.smartcity import actions
from dikom.smartcity.bins import fills_for
from dikom.smartcity.models import Threshold, Tree
from dikom.smartcity.need import Level, need_for
from dikom.smartcity.needs_refresh import refresh_city
from dikom.smartcity.tests.factories import bin_with_reading, make_tree, probe_thing

URL = "/stadt/fulda/schwellenwerte/"


def _probe_tree(city: Any, tension: float, number: str = "B-0001", **fields: Any) -> Tree:
    thing = probe_thing(city, [(timezone.now() - dt.timedelta(hours=1), tension)])
    return make_tree(city, number=number, sensor_thing_id=thing, **fields)


def _rule(city: Any, **fields: Any) -> Threshold:
    values: dict[str, Any] = {"subject": "trees", "good_up_to_cbar": 60.0, "moderate_up_to_cbar": 120.0}
    values.update(fields)
    return actions.save_threshold(city, **values)


@pytest.mark.django_db
def test_staff_set_a_species_threshold_and_the_tree_page_names_it(
    client: Any, city_a: Any, owner: Any, login: Any
) -> None:
    # given a lime with a mean tension of 50 cbar: "water soon" by default
    tree = _probe_tree(city_a, 50.0)
    make_tree(city_a, number="B-0002", species="Spitzahorn")
    login(client, owner)
    page = client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    assert "Standard-Schwellenwert" in page and "bald gießen" in page
    # when the city's admin sets 60/120 cbar for the species (typed in other case)
    response = client.post(
        URL,
        {
            "subject": "trees",
            "scope": "species",
            "species": "winterlinde",
            "good_up_to_cbar": "60",
            "moderate_up_to_cbar": "120",
            "note": "verträgt Trockenheit",
        },
    )
    assert response.status_code == 302
    rule = Threshold.objects.get()
    assert (rule.municipality, rule.species, rule.good_up_to_cbar) == (city_a, "Winterlinde", 60.0)
    # then the tree counts as well supplied and its page says by which threshold
    page = client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    assert "Schwellenwert für die Art Winterlinde: bis 60 gut" in page
    listing = client.get(URL).content.decode()
    assert "Schwellenwert für die Art Winterlinde" in listing and "verträgt Trockenheit" in listing
    event = AuditEvent.objects.get(action="smartcity.threshold_saved")
    assert event.municipality_id == city_a.pk and event.changes["species"] == "Winterlinde"
    # and the same selection again replaces the rule instead of adding one
    client.post(
        URL,
        {
            "subject": "trees",
            "scope": "species",
            "species": "Winterlinde",
            "good_up_to_cbar": "40",
            "moderate_up_to_cbar": "90",
        },
    )
    assert Threshold.objects.get().good_up_to_cbar == 40.0


@pytest.mark.django_db
def test_the_most_specific_rule_wins(city_a: Any) -> None:
    inside = _probe_tree(city_a, 50.0, district="Innenstadt", longitude=9.675, latitude=50.553)
    outside = _probe_tree(city_a, 50.0, number="B-0002", district="Innenstadt", longitude=9.70, latitude=50.57)
    single = _probe_tree(city_a, 50.0, number="B-0003", district="Horas")
    assert need_for(inside).level is Level.MODERATE  # default 33/80
    _rule(city_a, scope="city", good_up_to_cbar=10, moderate_up_to_cbar=20)
    assert {need_for(t).level for t in (inside, outside, single)} == {Level.CRITICAL}
    _rule(city_a, scope="species", species="Winterlinde", good_up_to_cbar=20, moderate_up_to_cbar=60)
    assert need_for(single).level is Level.MODERATE
    _rule(city_a, scope="district", district="Innenstadt", good_up_to_cbar=55, moderate_up_to_cbar=70)
    assert need_for(outside).level is Level.GOOD
    assert need_for(single).level is Level.MODERATE  # Horas: the species rule
    _rule(
        city_a, scope="area", west=9.67, south=50.55, east=9.68, north=50.56, good_up_to_cbar=20, moderate_up_to_cbar=45
    )
    assert need_for(inside).level is Level.CRITICAL  # the area beats the district
    assert need_for(outside).level is Level.GOOD
    _rule(city_a, scope="tree", tree=inside, good_up_to_cbar=50, moderate_up_to_cbar=60)
    need = need_for(inside)
    assert need.level is Level.GOOD and "Schwellenwert für diesen einzelnen Baum: bis 50" in need.explanation


@pytest.mark.django_db
def test_the_periodic_refresh_stores_levels_by_the_city_thresholds(city_a: Any, city_b: Any) -> None:
    tree = _probe_tree(city_a, 50.0)
    other = _probe_tree(city_b, 50.0)
    refresh_city(city_a)
    refresh_city(city_b)
    assert Tree.objects.get(pk=tree.pk).need_level == "moderate"
    _rule(city_a, scope="species", species="Winterlinde")
    refresh_city(city_a)
    refresh_city(city_b)
    assert Tree.objects.get(pk=tree.pk).need_level == "good"
    assert Tree.objects.get(pk=other.pk).need_level == "moderate"  # Gießen's lime keeps the default


@pytest.mark.django_db
def test_bin_threshold_decides_what_needs_emptying(city_a: Any, city_b: Any) -> None:
    bin_ = bin_with_reading(city_a, 70, unit="%")
    foreign = bin_with_reading(city_b, 70, unit="%")
    assert not fills_for([bin_])[bin_.pk].needs_emptying
    actions.save_threshold(city_a, subject="bins", scope="bin", litter_bin=bin_, full_from_percent=65)
    fill = fills_for([bin_])[bin_.pk]
    assert fill.needs_emptying and fill.full_from == 65 and fill.state == "full"
    assert not fills_for([foreign])[foreign.pk].needs_emptying


@pytest.mark.django_db
def test_bad_input_gets_german_errors(client: Any, city_a: Any, city_b: Any, owner: Any, login: Any) -> None:
    make_tree(city_a)
    make_tree(city_b, number="GI-1", species="Platane")
    login(client, owner)
    cases = [
        (
            {"scope": "species", "species": "Platane", "good_up_to_cbar": "40", "moderate_up_to_cbar": "90"},
            "Im Baumkataster der Stadt steht kein Baum dieser Art.",
        ),
        (
            {"scope": "tree", "tree_number": "GI-1", "good_up_to_cbar": "40", "moderate_up_to_cbar": "90"},
            "Im Baumkataster der Stadt gibt es keinen Baum mit dieser Nummer.",
        ),
        (
            {"scope": "city", "good_up_to_cbar": "90", "moderate_up_to_cbar": "40"},
            "Die Grenze für „bald gießen“ muss höher sein als die für „gut versorgt“.",
        ),
        (
            {
                "scope": "area",
                "west": "9.7",
                "south": "50.5",
                "east": "9.6",
                "north": "50.6",
                "good_up_to_cbar": "40",
                "moderate_up_to_cbar": "90",
            },
            "Osten muss östlich von Westen",
        ),
        ({"scope": "city", "good_up_to_cbar": "-5", "moderate_up_to_cbar": "90"}, "größer oder gleich 0"),
        (
            {"scope": "bin", "good_up_to_cbar": "40", "moderate_up_to_cbar": "90"},
            "Ein einzelner Abfallbehälter kann nur einen Schwellenwert für Abfallbehälter haben.",
        ),
    ]
    for data, message in cases:
        response = client.post(URL, {"subject": "trees", **data})
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    response = client.post(URL, {"subject": "bins", "scope": "city"})
    assert "Geben Sie den Füllstand ein, ab dem ein Behälter geleert werden muss." in response.content.decode()
    assert not Threshold.objects.exists()


@pytest.mark.django_db
def test_only_the_city_staff_see_and_change_its_thresholds(
    client: Any, city_a: Any, city_b: Any, owner: Any, colleague: Any, outsider: Any, citizen: Any, login: Any
) -> None:
    make_tree(city_a)
    rule = _rule(city_a, scope="species", species="Winterlinde")
    assert client.get(URL).status_code == 302  # to the login
    for user in (colleague, outsider, citizen):
        login(client, user)
        assert client.get(URL).status_code == 403
        assert (
            client.post(
                URL, {"subject": "trees", "scope": "city", "good_up_to_cbar": "1", "moderate_up_to_cbar": "2"}
            ).status_code
            == 403
        )
        assert client.post(f"{URL}{rule.uuid}/entfernen/").status_code == 404
    assert Threshold.objects.count() == 1
    # Gießen's admin sees only Gießen's (none), and cannot delete Fulda's through Gießen's address
    login(client, outsider)
    assert "Winterlinde" not in client.get("/stadt/giessen/schwellenwerte/").content.decode()
    assert client.post(f"/stadt/giessen/schwellenwerte/{rule.uuid}/entfernen/").status_code == 404
    login(client, owner)
    assert client.post(f"{URL}{rule.uuid}/entfernen/").status_code == 302
    assert not Threshold.objects.exists()
    assert AuditEvent.objects.filter(action="smartcity.threshold_deleted", municipality=city_a).exists()


@pytest.mark.django_db
def test_staff_reach_the_pages_from_the_city_page(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    login(client, owner)
    page = client.get("/stadt/fulda/").content.decode()
    for url in (URL, "/stadt/fulda/abfallbehaelter/leerungstour/", "/stadt/fulda/messwerte-export/"):
        assert f'href="{url}"' in page
    assert (
        'href="/stadt/fulda/abfallbehaelter/leerungstour/"'
        in client.get("/stadt/fulda/abfallbehaelter/").content.decode()
    )
