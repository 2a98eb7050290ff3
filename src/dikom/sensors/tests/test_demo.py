from __future__ import annotations

from typing import Any

import pytest

from dikom.demo.actions import load_demo_cooperation
from dikom.sensors.demo import load_demo_sensors

pytestmark = pytest.mark.django_db


def test_demo_trees_are_labelled_readable_and_loaded_once(client: Any) -> None:
    load_demo_cooperation(password="Demo-Passwort-123")
    first = load_demo_sensors(days=2)
    assert first.things == 18 and first.observations == 18 * 8
    assert load_demo_sensors(days=2).things == 0
    body = client.get(
        "/sta/v1.1/Things",
        {"$filter": "properties/species eq 'Tilia cordata'", "$count": "true", "$expand": "Datastreams"},
    ).json()
    assert body["@iot.count"] == 6
    assert all("Demo" in thing["name"] for thing in body["value"])
    readings = client.get(
        "/sta/v1.1/Observations", {"$filter": "result ge 0 and result le 150", "$count": "true", "$top": "1"}
    ).json()
    assert readings["@iot.count"] == 18 * 8
