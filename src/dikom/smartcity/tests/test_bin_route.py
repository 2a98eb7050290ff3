"""The staff's emptying round: bins at or above their threshold in route order (nearest neighbour + 2-opt,
haversine), with CSV and GPX, per city."""

from __future__ import annotations

import itertools
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.audit.models import AuditEvent
from dikom.smartcity.bin_route import _nearest_neighbour, haversine_m, plan, tour_length
from dikom.smartcity.models import LitterBin, RouteStart
from dikom.smartcity.tests.factories import bin_with_reading

URL = "/stadt/fulda/abfallbehaelter/leerungstour/"


@dataclass(frozen=True)
class P:
    name: str
    longitude: float
    latitude: float


def test_haversine() -> None:
    assert haversine_m(9.68, 50.0, 9.68, 51.0) == pytest.approx(111_195, rel=1e-4)  # one degree of latitude
    assert haversine_m(9.68, 50.55, 9.68, 50.55) == 0
    # Fulda station to Gießen station, about 72 km as the crow flies
    assert haversine_m(9.6839, 50.5547, 8.6638, 50.5807) == pytest.approx(72_200, rel=0.02)


def test_points_on_a_street_are_visited_in_order() -> None:
    points = [P(str(i), 9.60 + i * 0.001, 50.55) for i in range(8)]
    shuffled = points[:]
    random.Random(3).shuffle(shuffled)
    route = plan(shuffled, start=(9.60, 50.55))
    assert [s.item.name for s in route.stops] in (
        [p.name for p in points[1:]] + ["0"],
        ["0"] + [p.name for p in points[1:]],
        [p.name for p in points],
        [p.name for p in reversed(points)],
    )
    span = haversine_m(9.60, 50.55, 9.607, 50.55)
    assert route.total_m == pytest.approx(2 * span, rel=1e-6)
    assert route.stops[-1].cumulative_m + route.return_m == pytest.approx(route.total_m)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(9.6, 9.75), st.floats(50.5, 50.6)), min_size=1, max_size=7), st.booleans())
def test_route_is_a_tour_no_longer_than_nearest_neighbour_and_not_shorter_than_optimal(
    coords: list[tuple[float, float]], with_start: bool
) -> None:
    items = [P(str(i), lon, lat) for i, (lon, lat) in enumerate(coords)]
    start = (9.68, 50.55) if with_start else None
    route = plan(items, start)
    assert sorted(s.item.name for s in route.stops) == sorted(p.name for p in items)
    assert route.total_m == pytest.approx(sum(s.leg_m for s in route.stops) + route.return_m)
    pts = ([start] if start else []) + [(p.longitude, p.latitude) for p in items]
    n = len(pts)
    dist = [[haversine_m(*pts[i], *pts[j]) for j in range(n)] for i in range(n)]
    first = 0 if start else next(i for i, p in enumerate(items) if p is route.stops[0].item)
    nn = tour_length(_nearest_neighbour(n, dist, first), dist, closed=start is not None)
    assert route.total_m <= nn + 1e-6
    if start:
        best = min(tour_length([0, *perm], dist, True) for perm in itertools.permutations(range(1, n)))
    else:
        best = min(tour_length(list(perm), dist, False) for perm in itertools.permutations(range(n)))
    assert route.total_m >= best - 1e-6


def test_two_opt_removes_a_crossing() -> None:
    # Nearest neighbour from the depot walks a zigzag that crosses itself; 2-opt straightens it.
    items = [P("a", 9.001, 50.0), P("b", 9.002, 50.0), P("c", 9.0035, 50.0), P("d", 9.0015, 50.001)]
    route = plan(items, start=(9.0, 50.0))
    pts = [(9.0, 50.0)] + [(p.longitude, p.latitude) for p in items]
    dist = [[haversine_m(*a, *b) for b in pts] for a in pts]
    nn = tour_length(_nearest_neighbour(5, dist, 0), dist, True)
    best = min(tour_length([0, *perm], dist, True) for perm in itertools.permutations(range(1, 5)))
    assert route.total_m <= nn
    assert route.total_m == pytest.approx(best)


def _bins(city: Any) -> list[LitterBin]:
    made = []
    for name, lon, percent in [("Ost", 9.690, 95), ("West", 9.670, 85), ("Mitte", 9.680, 80), ("Leer", 9.685, 30)]:
        bin_ = bin_with_reading(city, percent, unit="%")
        bin_.name, bin_.longitude = name, lon
        bin_.save()
        made.append(bin_)
    return made


@pytest.mark.django_db
def test_staff_see_the_round_export_it_and_set_the_start(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    _bins(city_a)
    login(client, owner)
    page = client.get(URL).content.decode()
    assert "3 von 4 Abfallbehältern müssen geleert werden" in page
    assert "Leer" not in page.split("Haltestellen in Routenreihenfolge")[1]
    # open path from the outermost bin: West, Mitte, Ost (about 1.4 km)
    order = [page.index(f"<td>{name}</td>") for name in ("West", "Mitte", "Ost")]
    assert order == sorted(order) or order == sorted(order, reverse=True)
    assert "Länge der Runde: 1,4 km" in page
    # the depot east of everything: the round leaves and returns there
    response = client.post(URL, {"name": "Betriebshof", "longitude": "9.700", "latitude": "50.55"})
    assert response.status_code == 302
    assert RouteStart.objects.get(municipality=city_a).name == "Betriebshof"
    assert AuditEvent.objects.filter(action="smartcity.route_start_saved", municipality=city_a).exists()
    page = client.get(URL).content.decode()
    assert "Länge der Runde: 4,2 km" in page and "zurück zum Start" in page
    csv = client.get("/stadt/fulda/abfallbehaelter/leerungstour.csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeffHalt;Behälter;Straße;Füllstand (%)")
    lines = text.strip().splitlines()
    assert [line.split(";")[1] for line in lines[1:]] == ["Betriebshof", "Ost", "Mitte", "West", "Betriebshof"]
    gpx = client.get("/stadt/fulda/abfallbehaelter/leerungstour.gpx")
    assert gpx["Content-Type"] == "application/gpx+xml"
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.fromstring(gpx.content)  # noqa: S314 (our own output)
    names = [e.findtext("g:name", namespaces=ns) for e in root.findall("g:rte/g:rtept", ns)]
    assert names == ["Betriebshof", "Ost", "Mitte", "West", "Betriebshof"]
    assert len(root.findall("g:wpt", ns)) == 3


@pytest.mark.django_db
def test_bad_start_point_gets_german_errors(client: Any, city_a: Any, owner: Any, login: Any) -> None:
    login(client, owner)
    response = client.post(URL, {"name": "", "longitude": "200", "latitude": "x"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Dieses Feld ist erforderlich." in page
    assert "kleiner oder gleich 180" in page and "Geben Sie eine Zahl ein." in page
    assert not RouteStart.objects.exists()


@pytest.mark.django_db
def test_the_round_is_for_the_city_staff_only(
    client: Any, city_a: Any, city_b: Any, owner: Any, colleague: Any, outsider: Any, login: Any
) -> None:
    _bins(city_a)
    foreign = bin_with_reading(city_b, 99, unit="%")
    foreign.name = "Gießener Tonne"
    foreign.save()
    assert client.get(URL).status_code == 302
    for user in (colleague, outsider):
        login(client, user)
        for url in (
            URL,
            "/stadt/fulda/abfallbehaelter/leerungstour.csv",
            "/stadt/fulda/abfallbehaelter/leerungstour.gpx",
        ):
            assert client.get(url).status_code == 403
    login(client, owner)
    assert "Gießener Tonne" not in client.get(URL).content.decode()
