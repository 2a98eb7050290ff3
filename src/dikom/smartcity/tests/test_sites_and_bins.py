"""Construction sites entered by city staff, litter bins with fill levels from sensors, the demo data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.smartcity.bins import fill_percent
from dikom.smartcity.models import ConstructionSite
from dikom.smartcity.tests.factories import bin_with_reading


def _site(**overrides: Any) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "title": "Kanalbau",
        "street": "Bahnhofstraße",
        "restriction": "Vollsperrung",
        "detour": "über die Ringstraße",
        "starts_on": (today - dt.timedelta(days=1)).isoformat(),
        "ends_on": (today + dt.timedelta(days=9)).isoformat(),
        "longitude": "9.68",
        "latitude": "50.55",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_city_staff_enter_sites_that_citizens_see(client: Any, city_a: Any, login: Any) -> None:
    publisher = MembershipFactory(municipality=city_a, role=Role.DATA_PUBLISHER).user
    login(client, publisher)
    assert client.get("/stadt/fulda/baustellen/neu/").status_code == 200
    assert client.post("/stadt/fulda/baustellen/neu/", _site()).status_code == 302
    upcoming = timezone.localdate() + dt.timedelta(days=3)
    client.post("/stadt/fulda/baustellen/neu/", _site(title="Glasfaser", starts_on=upcoming.isoformat()))
    client.logout()
    html = client.get("/stadt/fulda/baustellen/").content.decode()
    # the map's titles come first; the lists: today's site under "today", the later one under "upcoming"
    assert html.index("Heute gesperrt") < html.rindex("Kanalbau") < html.index("Demnächst") < html.rindex("Glasfaser")
    assert "über die Ringstraße" in html and "Heute gesperrt oder eingeschränkt" in html
    assert "entfernen" not in html  # citizens cannot remove
    assert "Kanalbau" not in client.get("/stadt/giessen/baustellen/").content.decode()


@pytest.mark.django_db
def test_sites_refused_to_citizens_and_other_cities(
    client: Any, city_a: Any, citizen: Any, outsider: Any, login: Any
) -> None:
    client.force_login(citizen)
    assert client.post("/stadt/fulda/baustellen/neu/", _site()).status_code == 403
    login(client, outsider)  # administrator of Gießen
    assert client.post("/stadt/fulda/baustellen/neu/", _site()).status_code == 403
    assert not ConstructionSite.objects.exists()
    site = ConstructionSite.objects.create(
        municipality=city_a,
        title="X",
        street="Y",
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        longitude=9.6,
        latitude=50.5,
    )
    assert client.post(f"/stadt/fulda/baustellen/{site.uuid}/entfernen/").status_code == 404
    assert ConstructionSite.objects.filter(pk=site.pk).exists()


@pytest.mark.django_db
def test_bad_site_input_gets_german_errors(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    login(client, owner)
    today = timezone.localdate()
    response = client.post(
        "/stadt/fulda/baustellen/neu/",
        _site(ends_on=(today - dt.timedelta(days=5)).isoformat(), latitude="123", title=""),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Das Ende liegt vor dem Beginn." in text
    assert "Dieses Feld ist erforderlich." in text
    assert not ConstructionSite.objects.exists()


def test_fill_level_from_distance_or_percent() -> None:
    assert fill_percent(30, "cm", 120) == 75
    assert fill_percent(130, "cm", 120) == 0  # the lid reads more than the depth: empty
    assert fill_percent(-5, "cm", 120) == 100
    assert fill_percent(42.4, "%", 120) == 42


@pytest.mark.django_db
def test_bins_page_lists_the_fullest_first(client: Any, city_a: Any) -> None:
    half = bin_with_reading(city_a, 60, "cm", depth=120)
    full = bin_with_reading(city_a, 95, "%")
    html = client.get("/stadt/fulda/abfallbehaelter/").content.decode()
    assert html.index(full.name) < html.index(half.name)
    assert "95 %" in html and "50 %" in html and "voll" in html


@pytest.mark.django_db
def test_demo_gives_every_founding_city_trees_sites_and_bins(client: Any) -> None:
    from dikom.demo.actions import load_demo_cooperation
    from dikom.sensors.demo import load_demo_sensors
    from dikom.smartcity.demo import load_demo_smartcity

    load_demo_cooperation(password="Demo-Passwort-2026!")
    load_demo_sensors(days=3)
    first = load_demo_smartcity()
    assert (first.trees, first.sites, first.bins) == (6 * 27, 6 * 3, 6 * 4)
    assert load_demo_smartcity().trees == 0  # idempotent
    html = client.get("/stadt/marburg/baeume/").content.decode()
    assert "Winterlinde" in html and "Demo" in client.get("/stadt/marburg/baustellen/").content.decode()
    assert "%" in client.get("/stadt/marburg/abfallbehaelter/").content.decode()
