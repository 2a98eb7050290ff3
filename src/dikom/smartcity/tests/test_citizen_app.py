"""The citizen app through HTTP: reachable from / and the city page, tree list and detail, adoption, waterings."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.utils import timezone

from dikom.smartcity.models import Adoption, Watering
from dikom.smartcity.tests.factories import make_tree, probe_thing


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db
def test_reachable_by_links_from_the_landing_page_and_the_city_page(client: Any, city_a: Any) -> None:
    make_tree(city_a)
    assert 'href="/stadt/"' in client.get("/").content.decode()
    overview = client.get("/stadt/").content.decode()
    assert 'href="/stadt/fulda/"' in overview
    assert 'href="/stadt/fulda/"' in client.get("/kommunen/fulda/").content.decode()
    city = client.get("/stadt/fulda/").content.decode()
    for path in ("baeume", "giessprotokoll", "baustellen", "abfallbehaelter"):
        assert f'href="/stadt/fulda/{path}/"' in city
        assert client.get(f"/stadt/fulda/{path}/").status_code == 200
    assert client.get("/stadt/nirgendwo/").status_code == 404


@pytest.mark.django_db
def test_tree_list_orders_by_need_and_filters_without_javascript(client: Any, city_a: Any, city_b: Any) -> None:
    wet = make_tree(city_a, "S-1", sensor_thing_id=probe_thing(city_a, [(timezone.now(), 10.0)]))
    dry = make_tree(city_a, "S-2", species="Spitzahorn", sensor_thing_id=probe_thing(city_a, [(timezone.now(), 95.0)]))
    make_tree(city_b, "G-1", species="Platane")
    html = client.get("/stadt/fulda/baeume/").content.decode()
    # Scripts only enhance (the Leaflet map); the SVG map and the list are in the HTML for use without them.
    own = ("/static/smartcity/", "/static/dikom/vendor/leaflet/")
    assert all(src.startswith(own) for src in re.findall(r'<script src="([^"]+)"', html))
    assert "<script>" not in html and 'class="tree-map-static"' in html
    assert html.index(str(dry.uuid)) < html.index(str(wet.uuid))
    assert "Platane" not in html  # another city's tree
    assert 'role="img"' in html and "need-fill--critical" in html
    filtered = client.get("/stadt/fulda/baeume/", {"bedarf": "good"}).content.decode()
    assert f"/stadt/fulda/baeume/{wet.uuid}/" in filtered and f"/stadt/fulda/baeume/{dry.uuid}/" not in filtered
    by_species = client.get("/stadt/fulda/baeume/", {"art": "Spitzahorn"}).content.decode()
    assert f"/stadt/fulda/baeume/{dry.uuid}/" in by_species and f"/stadt/fulda/baeume/{wet.uuid}/" not in by_species
    # unknown filter values are ignored, a broken page number shows the first page
    assert client.get("/stadt/fulda/baeume/", {"bedarf": "<x>", "seite": "abc"}).status_code == 200


@pytest.mark.django_db
def test_tree_list_query_count_does_not_grow_with_trees(
    client: Any, city_a: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(40):
        make_tree(
            city_a, f"B-{i:03d}", sensor_thing_id=probe_thing(city_a, [(timezone.now(), 50.0)]) if i % 4 == 0 else None
        )
    # The first view computes the stored need of the new trees (in one chunk); later views only read it.
    with django_assert_max_num_queries(16):
        assert client.get("/stadt/fulda/baeume/").status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get("/stadt/fulda/baeume/").status_code == 200


@pytest.mark.django_db
def test_tree_page_shows_recent_readings_and_the_method(client: Any, city_a: Any) -> None:
    now = timezone.now()
    thing = probe_thing(city_a, [(now - dt.timedelta(hours=h), 40.0 + h) for h in range(0, 48, 6)])
    tree = make_tree(city_a, sensor_thing_id=thing)
    html = client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    assert "Saugspannung 30 cm" in html
    assert "<polyline" in html
    assert html.count("<tr><td>") == 8
    assert "40,0" in html or "40.0" in html
    assert client.get(f"/stadt/giessen/baeume/{tree.uuid}/").status_code == 404  # wrong city


@pytest.mark.django_db
def test_adopting_needs_a_sign_in_and_shows_under_my_trees(client: Any, city_a: Any, citizen: Any) -> None:
    tree = make_tree(city_a)
    url = f"/stadt/fulda/baeume/{tree.uuid}/patenschaft/"
    response = client.post(url)
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]
    assert not Adoption.objects.exists()
    client.force_login(citizen)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302  # adopting twice keeps one sponsorship
    assert Adoption.objects.filter(tree=tree, user=citizen).count() == 1
    assert f"/stadt/fulda/baeume/{tree.uuid}/" in client.get("/stadt/fulda/meine-baeume/").content.decode()
    assert "von Ihnen adoptiert" in client.get("/stadt/fulda/baeume/", {"meine": "1"}).content.decode()
    client.post(url, {"aufgeben": "1"})
    assert not Adoption.objects.exists()


@pytest.mark.django_db
def test_watering_is_idempotent_on_retry_and_rate_limited(client: Any, city_a: Any, citizen: Any) -> None:
    tree = make_tree(city_a)
    other = make_tree(city_a, "B-0002")
    client.force_login(citizen)
    form = client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f-]+)"', form).group(1)
    data = {"litres": "40", "watered_at": _local(timezone.now() - dt.timedelta(hours=1)), "request_key": key}
    url = f"/stadt/fulda/baeume/{tree.uuid}/giessen/"
    # when the same form is sent twice (a retry after a lost answer)
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    # then one watering is stored
    assert list(Watering.objects.values_list("litres", flat=True)) == [40]
    # a new form for the same tree a minute later is refused with a German message
    again = client.post(url, {**data, "request_key": str(uuid.uuid4())})
    assert again.status_code == 400
    assert "vor wenigen Minuten" in again.content.decode()
    # another tree is fine
    other_url = f"/stadt/fulda/baeume/{other.uuid}/giessen/"
    assert client.post(other_url, {**data, "request_key": str(uuid.uuid4())}).status_code == 302
    # the key of the first form cannot be replayed against another tree
    assert client.post(other_url, data).status_code == 400
    assert Watering.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("litres", "hours", "message"),
    [
        ("0", -1, "1"),
        ("501", -1, "500"),
        ("viel", -1, "ganze Zahl"),
        ("20", 5, "Zukunft"),
        ("20", -24 * 8, "sieben Tage"),
    ],
)
def test_bad_waterings_get_a_german_error(
    client: Any, city_a: Any, citizen: Any, litres: str, hours: int, message: str
) -> None:
    tree = make_tree(city_a)
    client.force_login(citizen)
    when = _local(timezone.now() + dt.timedelta(hours=hours))
    response = client.post(
        f"/stadt/fulda/baeume/{tree.uuid}/giessen/",
        {"litres": litres, "watered_at": when, "request_key": str(uuid.uuid4())},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Watering.objects.exists()


@pytest.mark.django_db
def test_daily_limit_per_person(client: Any, city_a: Any, citizen: Any) -> None:
    trees = [make_tree(city_a, f"T-{i}") for i in range(21)]
    client.force_login(citizen)
    when = _local(timezone.now() - dt.timedelta(minutes=30))
    codes = [
        client.post(
            f"/stadt/fulda/baeume/{t.uuid}/giessen/",
            {"litres": "10", "watered_at": when, "request_key": str(uuid.uuid4())},
        ).status_code
        for t in trees
    ]
    assert codes == [302] * 20 + [400]


@pytest.mark.django_db
def test_public_watering_log_names_no_person(client: Any, city_a: Any, city_b: Any, citizen: Any) -> None:
    citizen.first_name, citizen.last_name, citizen.email = "Erika", "Mustermann", "erika@example.org"
    citizen.save()
    tree = make_tree(city_a, street="Lindenallee")
    Watering.objects.create(tree=tree, user=citizen, litres=30, watered_at=timezone.now(), request_key=uuid.uuid4())
    Watering.objects.create(
        tree=make_tree(city_b, "G-1"), user=citizen, litres=77, watered_at=timezone.now(), request_key=uuid.uuid4()
    )
    html = client.get("/stadt/fulda/giessprotokoll/").content.decode()
    csv = client.get("/stadt/fulda/giessprotokoll.csv").content.decode()
    for text in (html, csv):
        assert "30" in text
        for personal in ("Erika", "Mustermann", "erika@", citizen.username):
            assert personal not in text
        assert "G-1" not in text  # another city's watering
    header = csv.splitlines()[0]
    assert header == "watered_on,tree_number,species,street,longitude,latitude,litres"
    # the day, never the time of day
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", html) is None
    assert csv.splitlines()[1].startswith(timezone.localdate().isoformat() + ",")


@pytest.mark.django_db
def test_tree_page_hides_readings_the_city_withholds(client: Any, city_a: Any) -> None:
    from dikom.sensors import service as sensors

    thing = probe_thing(city_a, [(timezone.now() - dt.timedelta(hours=1), 47.0)])
    tree = make_tree(city_a, sensor_thing_id=thing)
    assert "Saugspannung 30 cm" in client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    sensors.set_publication(city_a, set(), set())
    html = client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    assert "Saugspannung 30 cm" not in html and "47,0" not in html
