"""The real ``frost-sta-client`` (Fraunhofer IOSB's Python client) against a live dikom server."""

from __future__ import annotations

from typing import Any

import frost_sta_client as fsc
import geojson
import pytest
import requests

from dikom.accounts.actions import create_api_key
from dikom.sensors.scopes import SENSORS_WRITE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(live_server: Any, city_a: Any) -> fsc.SensorThingsService:
    key = create_api_key(municipality=city_a, name="FROST-Client", scopes=[SENSORS_WRITE]).token
    # The client speaks HTTP Basic; dikom takes the API key as the password.
    return fsc.SensorThingsService(f"{live_server.url}/sta/v1.1", auth_handler=fsc.AuthHandler("gateway", key))


def _soil_thing(name: str, lon: float, lat: float) -> fsc.Thing:
    location = fsc.Location(
        name=f"Standort {name}",
        description="Baumscheibe",
        encoding_type="application/geo+json",
        location=geojson.Point((lon, lat)),
    )
    return fsc.Thing(
        name=name, description="Straßenbaum mit Sonde", properties={"species": "Tilia"}, locations=[location]
    )


def test_create_and_query_back_with_filters(service: fsc.SensorThingsService) -> None:
    # given two trees with a soil-moisture datastream each, created one entity at a time
    linde = _soil_thing("Linde 1", 9.68, 50.55)
    ahorn = _soil_thing("Ahorn 2", 9.70, 50.56)
    service.create(linde)
    service.create(ahorn)
    assert isinstance(linde.id, int)
    sensor = fsc.Sensor(name="SMT100", description="Bodenfeuchte", encoding_type="text/html", metadata="https://x")
    prop = fsc.ObservedProperty(name="Bodenfeuchte", definition="soil-moisture", description="Volumenprozent")
    service.create(sensor)
    service.create(prop)
    datastreams = []
    for thing in (linde, ahorn):
        datastream = fsc.Datastream(
            name=f"Bodenfeuchte {thing.name}",
            description="30 cm",
            observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            unit_of_measurement=fsc.UnitOfMeasurement(name="Prozent", symbol="%", definition="ucum:%"),
            thing=thing,
            sensor=sensor,
            observed_property=prop,
        )
        service.create(datastream)
        datastreams.append(datastream)
    # when observations arrive one by one and as a data array
    for day, value in ((1, 31.0), (2, 28.5), (3, 19.0)):
        observation = fsc.Observation(
            result=value, phenomenon_time=f"2026-07-0{day}T06:00:00Z", datastream=datastreams[0]
        )
        service.create(observation)
    array = fsc.DataArrayValue()
    array.datastream = datastreams[1]
    array.components = {fsc.DataArrayValue.Property.PHENOMENON_TIME, fsc.DataArrayValue.Property.RESULT}
    for day, value in ((1, 40.0), (2, 38.0)):
        array.add_observation(
            fsc.Observation(result=value, phenomenon_time=f"2026-07-0{day}T06:00:00Z", datastream=datastreams[1])
        )
    document = fsc.DataArrayDocument()
    document.add_data_array_value(array)
    created = service.observations().create(document)
    assert len(created) == 2

    # then the client reads them back with filters, ordering and navigation
    things = service.things().query().filter("name eq 'Linde 1'").list()
    assert [t.name for t in things] == ["Linde 1"]
    dry = service.observations().query().filter("result lt 30").orderby("phenomenonTime", "ASC").list()
    assert [o.result for o in dry] == [28.5, 19.0]
    found = service.datastreams().find(datastreams[0].id)
    assert found.name == "Bodenfeuchte Linde 1"
    of_ahorn = datastreams[1].get_observations().query().filter("result gt 39").list()
    assert [o.result for o in of_ahorn] == [40.0]
    near = (
        service.things()
        .query()
        .filter(
            "st_within(Locations/location, geography'POLYGON((9.69 50.5, 9.8 50.5, 9.8 50.6, 9.69 50.6, 9.69 50.5))')"
        )
        .list()
    )
    assert [t.name for t in near] == ["Ahorn 2"]

    # and changes and deletes go through
    service.patch(linde, [{"op": "replace", "path": "/name", "value": "Linde 1a"}])
    assert service.things().find(linde.id).name == "Linde 1a"
    service.delete(ahorn)
    assert [t.name for t in service.things().query().list()] == ["Linde 1a"]


def test_client_without_key_cannot_write(live_server: Any, city_a: Any) -> None:
    anonymous = fsc.SensorThingsService(f"{live_server.url}/sta/v1.1")
    with pytest.raises(requests.exceptions.HTTPError):
        anonymous.create(_soil_thing("Eiche", 9.6, 50.5))
    assert anonymous.things().query().list().entities == []
