"""Stored watering need with opt-in e-mails on the change to critical, and the staff's sensor alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dikom.accounts.tests.factories import UserFactory
from dikom.lib.testing import run_task_worker
from dikom.sensors import service as sensors
from dikom.smartcity import actions
from dikom.smartcity.models import Adoption, RainDay, SensorAlertSettings, Tree
from dikom.smartcity.needs_refresh import refresh_city
from dikom.smartcity.tests.factories import make_tree

SUMMER = dt.datetime(timezone.localdate().year - 1, 7, 15, 12, tzinfo=dt.UTC)


def _rain(city: Any, mm: float) -> None:
    RainDay.objects.filter(municipality=city).delete()
    RainDay.objects.bulk_create(
        [RainDay(municipality=city, day=SUMMER.date() - dt.timedelta(days=n), millimetres=mm) for n in range(30)]
    )


@pytest.mark.django_db(transaction=True)
def test_one_mail_per_change_to_critical_for_sponsors_who_opted_in(city_a: Any, mailoutbox: Any) -> None:
    tree = make_tree(city_a, planting_year=SUMMER.year - 3)  # young: needs 100–200 l a month
    other = make_tree(city_a, number="B-0002", planting_year=SUMMER.year - 3)
    per_tree = UserFactory(username="pate", email="pate@example.org")
    everything = UserFactory(username="alle", email="alle@example.org")
    silent = UserFactory(username="still", email="still@example.org")
    actions.adopt_tree(tree, per_tree)
    actions.set_tree_alert(tree, per_tree, True)
    actions.adopt_tree(other, everything)
    actions.set_global_alert(everything, True)
    actions.adopt_tree(tree, silent)  # sponsor without opt-in
    _rain(city_a, 8.0)  # 240 mm: good
    first = refresh_city(city_a, SUMMER)
    assert first.changed == 2 and first.mails == 0  # a first level is no change
    assert set(Tree.objects.values_list("need_level", flat=True)) == {"good"}

    _rain(city_a, 1.0)  # 30 mm: critical
    turned = refresh_city(city_a, SUMMER)
    assert sorted(turned.turned_critical) == sorted([tree.pk, other.pk]) and turned.mails == 2
    run_task_worker()
    assert sorted(m.to[0] for m in mailoutbox) == ["alle@example.org", "pate@example.org"]
    assert "braucht jetzt Wasser" in mailoutbox[0].subject
    assert f"/stadt/fulda/baeume/{tree.uuid}/" in next(m.body for m in mailoutbox if m.to == ["pate@example.org"])

    again = refresh_city(city_a, SUMMER)  # still critical: nothing new
    run_task_worker()
    assert again.changed == 0 and again.mails == 0 and len(mailoutbox) == 2

    actions.set_tree_alert(tree, per_tree, False)
    actions.set_global_alert(everything, False)
    _rain(city_a, 8.0)
    refresh_city(city_a, SUMMER)
    _rain(city_a, 1.0)
    assert refresh_city(city_a, SUMMER).mails == 0


@pytest.mark.django_db
def test_opt_in_pages(client: Any, city_a: Any, citizen: Any) -> None:
    tree = make_tree(city_a)
    client.force_login(citizen)
    url = f"/stadt/fulda/baeume/{tree.uuid}/benachrichtigung/"
    client.post(url, {"an": "1"})
    assert not Adoption.objects.exists()  # only sponsors
    client.post(f"/stadt/fulda/baeume/{tree.uuid}/patenschaft/")
    assert (
        "E-Mail, wenn dieser Baum jetzt Wasser braucht"
        in client.get(f"/stadt/fulda/baeume/{tree.uuid}/").content.decode()
    )
    client.post(url, {"an": "1"})
    assert Adoption.objects.get().notify_critical
    client.post("/stadt/fulda/meine-baeume/benachrichtigung/", {"an": "1"})
    assert "Alle diese E-Mails abbestellen" in client.get("/stadt/fulda/meine-baeume/").content.decode()


def _thing(city: Any, name: str, streams: list[tuple[str, str, float | None, dt.datetime]]) -> None:
    data: dict[str, Any] = {
        "name": name,
        "description": "Test",
        "Locations": [
            {
                "name": "Standort",
                "description": "Test",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [9.68, 50.55]},
            }
        ],
        "Datastreams": [
            {
                "name": stream,
                "description": "Test",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": "ucum"},
                "Sensor": {"name": "S", "description": "S", "encodingType": "text/plain", "metadata": "x"},
                "ObservedProperty": {"name": stream, "definition": stream, "description": stream},
                "Observations": [{"phenomenonTime": when.isoformat(), "result": value}] if value is not None else [],
            }
            for stream, unit, value, when in streams
        ],
    }
    sensors.create_thing(data, city)


@pytest.mark.django_db
def test_staff_sensor_alerts_with_city_thresholds(
    client: Any, city_a: Any, city_b: Any, owner: Any, outsider: Any, login: Any
) -> None:
    now = timezone.now()
    _thing(
        city_a,
        "Sonde Lindenallee",
        [
            ("Saugspannung 30 cm", "cbar", 20.0, now - dt.timedelta(hours=30)),
            ("Batterie", "%", 12.0, now - dt.timedelta(hours=1)),
            ("Batteriespannung", "V", 3.6, now - dt.timedelta(hours=1)),
        ],
    )
    _thing(city_b, "Sonde Gießen", [("Batterie Gießen", "%", 5.0, now - dt.timedelta(hours=100))])
    login(client, owner)
    html = client.get("/stadt/fulda/warnungen/").content.decode()
    assert "Saugspannung 30 cm" in html and "Seit 30 Stunden still." in html
    assert "Batterie schwach: 12 %." in html and "Batteriespannung" not in html
    assert "Batterie Gießen" not in html
    # The city's own thresholds: silent after 48 hours, battery low below 10 %, below 3.7 V.
    response = client.post(
        "/stadt/fulda/warnungen/", {"silent_hours": "48", "battery_low_percent": "10", "battery_low_volts": "3.7"}
    )
    assert response.status_code == 302
    html = client.get("/stadt/fulda/warnungen/").content.decode()
    assert "Seit 30 Stunden still." not in html and "Batterie schwach: 12 %." not in html
    assert "Batterie schwach: 3.6 V." in html
    bad = client.post(
        "/stadt/fulda/warnungen/", {"silent_hours": "0", "battery_low_percent": "10", "battery_low_volts": "3"}
    )
    assert bad.status_code == 400
    login(client, outsider)  # administrator of Gießen
    assert client.get("/stadt/fulda/warnungen/").status_code == 403
    assert (
        client.post(
            "/stadt/fulda/warnungen/", {"silent_hours": "1", "battery_low_percent": "1", "battery_low_volts": "1"}
        ).status_code
        == 403
    )
    assert SensorAlertSettings.objects.get().silent_hours == 48
    assert "Batterie Gießen" in client.get("/stadt/giessen/warnungen/").content.decode()
