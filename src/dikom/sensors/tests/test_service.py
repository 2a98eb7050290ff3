from __future__ import annotations

from typing import Any

import pytest

from dikom.sensors import service
from dikom.sensors.tests.test_sta_api import TREE_THING, key_for, post

pytestmark = pytest.mark.django_db


def test_service_reads_the_citys_datastreams_and_readings(client: Any, city_a: Any, city_b: Any) -> None:
    assert post(client, "Things", TREE_THING, key_for(city_a)).status_code == 201
    (datastream,) = service.datastreams_of(city_a)
    assert not service.datastreams_of(city_b).exists()
    latest = service.latest_observation(datastream)
    assert latest is not None and latest.result == 91
    july = service.observations_between(datastream, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z")
    assert [o.result for o in july] == [55]
