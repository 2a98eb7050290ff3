"""Two cities, one SensorThings API: each city publishes what it chooses and writes only its own data."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory
from dikom.sensors import service
from dikom.sensors.models import Datastream, Observation, Thing
from dikom.sensors.mqtt import observation_messages
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, count, key_for, post

pytestmark = pytest.mark.django_db

SECOND_STREAM = {
    "name": "Saugspannung 60 cm",
    "description": "Bodenwasserspannung",
    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
    "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
    "Sensor": {"name": "Geheimsonde", "description": "Tensiometer", "encodingType": "text/html", "metadata": "x"},
    "ObservedProperty": {"name": "Saugspannung tief", "definition": "soil-water-tension-60", "description": "kPa"},
    "Observations": [{"phenomenonTime": "2026-07-01T06:00:00Z", "result": 66}],
}


@pytest.fixture
def marburg(db: Any) -> Any:
    district = DistrictFactory(key="06534", name="Landkreis Marburg-Biedenkopf")
    return MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=district)


@pytest.fixture
def marburg_data(client: Any, marburg: Any) -> dict[str, Any]:
    """Marburg: a public tree with one public and one withheld datastream, and a withheld second tree."""
    key = key_for(marburg)
    public = post(
        client, "Things", {**TREE_THING, "Datastreams": [*TREE_THING["Datastreams"], SECOND_STREAM]}, key
    ).json()
    hidden = post(client, "Things", {**TREE_THING, "name": "Versuchsbaum"}, key).json()
    streams = {d.name: d.pk for d in Datastream.objects.filter(thing_id=public["@iot.id"])}
    service.set_publication(marburg, {public["@iot.id"]}, {streams["Saugspannung 30 cm"]})
    return {
        "key": key,
        "public": public["@iot.id"],
        "hidden": hidden["@iot.id"],
        "open_stream": streams["Saugspannung 30 cm"],
        "withheld_stream": streams["Saugspannung 60 cm"],
        "hidden_stream": Datastream.objects.get(thing_id=hidden["@iot.id"]).pk,
    }


def test_anonymous_readers_see_only_published_data(client: Any, marburg_data: dict[str, Any]) -> None:
    d = marburg_data
    things = client.get(f"{BASE}Things").json()["value"]
    assert [t["@iot.id"] for t in things] == [d["public"]]
    assert client.get(f"{BASE}Things({d['hidden']})").status_code == 404
    assert client.get(f"{BASE}Datastreams({d['withheld_stream']})").status_code == 404
    assert client.get(f"{BASE}Datastreams({d['hidden_stream']})/Observations").status_code == 404
    assert [s["@iot.id"] for s in client.get(f"{BASE}Datastreams").json()["value"]] == [d["open_stream"]]
    # three readings of the public stream; the withheld stream's and the hidden tree's are left out
    assert count(client, f"{BASE}Observations") == 3
    expanded = client.get(f"{BASE}Things({d['public']})", {"$expand": "Datastreams($expand=Observations)"}).json()
    assert [s["name"] for s in expanded["Datastreams"]] == ["Saugspannung 30 cm"]
    assert client.get(f"{BASE}Things({d['public']})/Datastreams", {"$count": "true"}).json()["@iot.count"] == 1
    assert "Geheimsonde" not in client.get(f"{BASE}Sensors").content.decode()
    assert count(client, f"{BASE}ObservedProperties") == 1
    assert count(client, f"{BASE}Locations") == 1  # the hidden tree's location is not public
    assert count(client, f"{BASE}HistoricalLocations") == 1
    assert count(client, f"{BASE}FeaturesOfInterest") == 1


def test_the_owning_city_reads_everything_another_city_only_what_is_published(
    client: Any, marburg_data: dict[str, Any], city_a: Any
) -> None:
    d = marburg_data
    assert count(client, f"{BASE}Things", key=d["key"]) == 2
    assert count(client, f"{BASE}Observations", key=d["key"]) == 7
    assert client.get(f"{BASE}Things({d['hidden']})", HTTP_AUTHORIZATION=f"Api-Key {d['key']}").status_code == 200
    fulda = key_for(city_a)
    assert count(client, f"{BASE}Things", key=fulda) == 1
    assert count(client, f"{BASE}Observations", key=fulda) == 3
    assert client.get(f"{BASE}Things({d['hidden']})", HTTP_AUTHORIZATION=f"Api-Key {fulda}").status_code == 404
    # a wrong key reads like an anonymous client, it does not fail
    assert count(client, f"{BASE}Things", key="not-a-key") == 1


def test_a_fulda_key_cannot_write_to_marburgs_things(client: Any, marburg_data: dict[str, Any], city_a: Any) -> None:
    d = marburg_data
    fulda = {"HTTP_AUTHORIZATION": f"Api-Key {key_for(city_a)}"}
    thing_url = f"{BASE}Things({d['public']})"
    assert client.patch(thing_url, {"name": "gekapert"}, content_type="application/json", **fulda).status_code == 404
    assert client.delete(thing_url, **fulda).status_code == 404
    assert client.delete(f"{BASE}Things({d['hidden']})", **fulda).status_code == 404
    observation = {"result": 1, "Datastream": {"@iot.id": d["open_stream"]}}
    response = client.post(f"{BASE}Observations", observation, content_type="application/json", **fulda)
    assert response.status_code == 400 and "of this city" in response.json()["message"]
    bulk = [{"Datastream": {"@iot.id": d["open_stream"]}, "components": ["result"], "dataArray": [[1]]}]
    assert client.post(f"{BASE}CreateObservations", bulk, content_type="application/json", **fulda).status_code == 400
    nested = client.post(f"{thing_url}/Datastreams", SECOND_STREAM, content_type="application/json", **fulda)
    assert nested.status_code == 400
    # nothing changed in Marburg
    assert Thing.objects.get(pk=d["public"]).name == TREE_THING["name"]
    assert Thing.objects.count() == 2
    assert Observation.objects.count() == 7
    assert Datastream.objects.count() == 3


def test_withheld_observations_are_not_announced_on_the_broker(marburg_data: dict[str, Any]) -> None:
    d = marburg_data
    ids = list(Observation.objects.values_list("pk", flat=True))
    topics = {topic for topic, _payload in observation_messages(ids)}
    assert f"v1.1/Datastreams({d['open_stream']})/Observations" in topics
    assert not any(
        f"Datastreams({d['withheld_stream']})" in t or f"Datastreams({d['hidden_stream']})" in t for t in topics
    )


def test_city_staff_choose_what_is_published(
    client: Any, marburg: Any, marburg_data: dict[str, Any], login: Any, outsider: Any
) -> None:
    d = marburg_data
    publisher = MembershipFactory(municipality=marburg, role=Role.DATA_PUBLISHER).user
    login(client, publisher)
    page = client.get("/stadt/marburg/sensordaten/").content.decode()
    assert f'name="thing" value="{d["hidden"]}"' in page
    # publish the hidden tree with its stream, withdraw the public tree; a foreign id is ignored
    response = client.post(
        "/stadt/marburg/sensordaten/",
        {"thing": [str(d["hidden"]), "999999"], "datastream": [str(d["hidden_stream"]), "abc"]},
    )
    assert response.status_code == 302
    client.logout()
    assert [t["@iot.id"] for t in client.get(f"{BASE}Things").json()["value"]] == [d["hidden"]]
    login(client, outsider)  # administrator of Gießen
    assert client.get("/stadt/marburg/sensordaten/").status_code == 403
    assert client.post("/stadt/marburg/sensordaten/", {"thing": []}).status_code == 403
    assert Thing.objects.get(pk=d["hidden"]).published


@pytest.mark.parametrize(
    "query",
    [
        "Things?$filter=Datastreams/name eq 'Saugspannung 60 cm'",
        "Things?$filter=Datastreams/Observations/result eq 66",
        "Things?$filter=Datastreams/Observations/result eq 66 or Datastreams/name eq 'keiner'",
        "Things?$filter=Datastreams/Sensor/name eq 'Geheimsonde'",
        "Things?$filter=substringof('60 cm', Datastreams/name)",
        "Things?$filter=Datastreams/ObservedProperty/definition eq 'soil-water-tension-60'",
        "Locations?$filter=Things/name eq 'Versuchsbaum'",
        "Sensors?$filter=Datastreams/name eq 'Saugspannung 60 cm'",
    ],
)
def test_filters_do_not_look_through_withheld_entities(client: Any, marburg_data: dict[str, Any], query: str) -> None:
    """A public Thing is not found by the name, sensor or readings of a Datastream its city withholds."""
    anonymous = client.get(f"{BASE}{query}")
    assert anonymous.status_code == 200, anonymous.content
    assert anonymous.json()["value"] == []
    # the city itself, with its key, finds it
    own = client.get(f"{BASE}{query}", HTTP_AUTHORIZATION=f"Api-Key {marburg_data['key']}")
    assert own.status_code == 200 and len(own.json()["value"]) == 1


def test_filters_through_public_entities_still_find(client: Any, marburg_data: dict[str, Any]) -> None:
    found = client.get(f"{BASE}Things?$filter=Datastreams/name eq 'Saugspannung 30 cm'").json()["value"]
    assert [t["@iot.id"] for t in found] == [marburg_data["public"]]
    negated = client.get(f"{BASE}Things?$filter=not (Datastreams/name eq 'Saugspannung 60 cm')").json()["value"]
    assert [t["@iot.id"] for t in negated] == [marburg_data["public"]]
