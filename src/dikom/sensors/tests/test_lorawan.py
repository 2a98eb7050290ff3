"""LoRaWAN webhooks: uplinks of The Things Stack v3 and ChirpStack v4 become Observations of the mapped Datastreams.

The sample messages follow the structure the two network servers document for their
webhook / HTTP integration uplinks (written here, values invented).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory
from dikom.sensors.models import Datastream, HeldUplink, Observation
from dikom.sensors.tests.test_sta_api import BASE, key_for, post

pytestmark = pytest.mark.django_db

EUI = "70B3D57ED005A1B2"


def tts_uplink(dev_eui: str = EUI, f_cnt: int = 118, received_at: str = "2026-07-14T05:12:31.482Z") -> dict[str, Any]:
    return {
        "end_device_ids": {
            "device_id": "baum-17-sonde",
            "application_ids": {"application_id": "fulda-baeume"},
            "dev_eui": dev_eui,
            "join_eui": "0000000000000000",
            "dev_addr": "260B4C1D",
        },
        "correlation_ids": ["as:up:01J2ZB3X7Q9", "rpc:/ttn.lorawan.v3.AppAs/SimulateUplink:6a1f"],
        "received_at": "2026-07-14T05:12:31.601Z",
        "uplink_message": {
            "session_key_id": "AZCh3Xk=",
            "f_port": 2,
            "f_cnt": f_cnt,
            "frm_payload": "AZkBDAA=",
            "decoded_payload": {"soil_moisture": 23.4, "battery": 3.61, "temperature": 17.2},
            "rx_metadata": [
                {"gateway_ids": {"gateway_id": "gw-stadtschloss", "eui": "B827EBFFFE61A3C2"}, "rssi": -97, "snr": 6.5},
                {"gateway_ids": {"gateway_id": "gw-dom"}, "rssi": -112, "channel_rssi": -112, "snr": -3.25},
            ],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 9}},
                "frequency": "868100000",
            },
            "received_at": received_at,
            "consumed_airtime": "0.185344s",
        },
    }


def chirpstack_uplink(dev_eui: str = "a84041c5918b7f3e", f_cnt: int = 57) -> dict[str, Any]:
    return {
        "deduplicationId": "3a5f6c1e-8d0b-4b8e-9a51-0cf1b7e2d4a9",
        "time": "2026-07-14T06:00:04.118+00:00",
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Stadt Fulda",
            "applicationId": "4a6d8c2e-0000-4b8e-9a51-0cf1b7e2d4a9",
            "applicationName": "abfall",
            "deviceProfileName": "Füllstandssensor",
            "deviceName": "korb-bahnhof-3",
            "devEui": dev_eui,
            "tags": {},
        },
        "devAddr": "01fa62b3",
        "adr": True,
        "dr": 5,
        "fCnt": f_cnt,
        "fPort": 10,
        "confirmed": False,
        "data": "AIwOMg==",
        "object": {"distance_cm": 38.0, "battery_v": 3.3},
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": 4120, "rssi": -88, "snr": 9.2, "context": "x"}],
        "txInfo": {"frequency": 867300000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}}},
    }


def _datastream(name: str, unit: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": name,
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": f"ucum:{unit}"},
        "Sensor": {"name": "LoRaWAN-Sonde", "description": "Sonde", "encodingType": "text/html", "metadata": "x"},
        "ObservedProperty": {"name": name, "definition": name, "description": name},
    }


def make_device(client: Any, key: str, dev_eui: str, fields: dict[str, str]) -> dict[str, int]:
    """A Thing with one Datastream per payload field, then its mapping set by a PATCH as staff would."""
    thing = {
        "name": f"Gerät {dev_eui}",
        "description": "LoRaWAN",
        "Locations": [
            {
                "name": "Standort",
                "description": "x",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [9.68, 50.55]},
            }
        ],
        "Datastreams": [_datastream(name, "x") for name in fields.values()],
    }
    response = post(client, "Things", thing, key)
    assert response.status_code == 201, response.content
    thing_id = response.json()["@iot.id"]
    ids = {d.name: d.pk for d in Datastream.objects.filter(thing_id=thing_id)}
    mapping = {field: ids[name] for field, name in fields.items()}
    patch = client.patch(
        f"{BASE}Things({thing_id})",
        {"properties": {"lorawan": {"devEui": dev_eui, "fields": mapping}}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert patch.status_code == 200, patch.content
    return mapping


def send(client: Any, city: str, stack: str, body: Any, key: str | None, query: str = "") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, bytes | str) else None
    if data is None:
        return client.post(f"/sta/lorawan/{city}/{stack}{query}", body, content_type="application/json", **headers)
    return client.post(f"/sta/lorawan/{city}/{stack}{query}", data, content_type="application/json", **headers)


@pytest.fixture
def marburg(db: Any) -> Any:
    district = DistrictFactory(key="06534", name="Landkreis Marburg-Biedenkopf")
    return MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=district, population=77000)


def test_tts_uplink_creates_mapped_observations_once(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte", "battery": "Batterie"})
    response = send(client, "fulda", "tts", tts_uplink(), key)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert len(answer["created"]) == 2 and answer["unmappedFields"] == ["temperature"]
    moisture = Observation.objects.get(datastream_id=mapping["soil_moisture"])
    assert moisture.result == 23.4 and moisture.result_number == 23.4
    assert moisture.phenomenon_time.isoformat() == "2026-07-14T05:12:31.482000+00:00"
    assert moisture.parameters["lorawan"] == {
        "devEui": EUI,
        "fCnt": 118,
        "fPort": 2,
        "payload": "0199010c00",
        "deviceId": "baum-17-sonde",
        "rssi": -97,
        "snr": 6.5,
    }
    battery = client.get(f"{BASE}Datastreams({mapping['battery']})/Observations").json()["value"]
    assert [o["result"] for o in battery] == [3.61]
    # the network server retries the webhook: nothing is stored twice
    again = send(client, "fulda", "tts", tts_uplink(), key)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Observation.objects.count() == 2
    # the next frame is new
    later = send(client, "fulda", "tts", tts_uplink(f_cnt=119, received_at="2026-07-14T05:27:31Z"), key)
    assert later.status_code == 201
    assert Observation.objects.count() == 4


def test_tts_frame_counter_zero_is_omitted_and_other_messages_are_acknowledged(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    first = tts_uplink()
    del first["uplink_message"]["f_cnt"]  # protobuf JSON leaves out zero values
    response = send(client, "fulda", "tts", first, key)
    assert response.status_code == 201, response.content
    assert Observation.objects.get().parameters["lorawan"]["fCnt"] == 0
    join = {"end_device_ids": first["end_device_ids"], "join_accept": {"session_key_id": "AZ", "received_at": "x"}}
    assert send(client, "fulda", "tts", join, key).status_code == 204
    assert Observation.objects.count() == 1


def test_chirpstack_up_event_and_other_events(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    mapping = make_device(client, key, "A84041C5918B7F3E", {"distance_cm": "Füllabstand", "battery_v": "Batterie"})
    response = send(client, "fulda", "chirpstack", chirpstack_uplink(), key, "?event=up")
    assert response.status_code == 201, response.content
    assert response.json()["devEui"] == "A84041C5918B7F3E"
    distance = Observation.objects.get(datastream_id=mapping["distance_cm"])
    assert distance.result == 38.0
    assert distance.parameters["lorawan"]["deviceId"] == "korb-bahnhof-3"
    assert send(client, "fulda", "chirpstack", chirpstack_uplink(), key, "?event=up").json()["duplicate"] is True
    status = {"deviceInfo": chirpstack_uplink()["deviceInfo"], "batteryLevel": 87.5, "margin": 7}
    assert send(client, "fulda", "chirpstack", status, key, "?event=status").status_code == 204
    assert Observation.objects.count() == 2


def test_nested_payload_fields(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"tension.cm30": "30 cm", "tension.cm60": "60 cm"})
    body = tts_uplink()
    body["uplink_message"]["decoded_payload"] = {"tension": {"cm30": 41, "cm60": 77}, "battery": 3.5}
    assert send(client, "fulda", "tts", body, key).status_code == 201
    assert Observation.objects.get(datastream_id=mapping["tension.cm60"]).result == 77


def test_city_boundary_fulda_key_cannot_post_for_marburg_device(client: Any, city_a: Any, marburg: Any) -> None:
    fulda_key, marburg_key = key_for(city_a), key_for(marburg)
    make_device(client, marburg_key, EUI, {"soil_moisture": "Bodenfeuchte"})
    # Fulda's key on Marburg's address
    refused = send(client, "marburg", "tts", tts_uplink(), fulda_key)
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    # Fulda's key on its own address: Marburg's device is no device of Fulda
    unknown = send(client, "fulda", "tts", tts_uplink(), fulda_key)
    assert unknown.status_code == 202 and "70B3D57ED005A1B2" in unknown.json()["reason"]
    assert Observation.objects.count() == 0
    held = HeldUplink.objects.get()
    assert held.municipality == city_a and held.stored_at is None
    assert send(client, "marburg", "tts", tts_uplink(), marburg_key).status_code == 201
    assert HeldUplink.objects.filter(municipality=marburg).count() == 0


def test_mapping_to_another_citys_datastream_is_refused(client: Any, city_a: Any, marburg: Any) -> None:
    fulda_key, marburg_key = key_for(city_a), key_for(marburg)
    foreign = make_device(client, marburg_key, "0004A30B001C0530", {"soil_moisture": "Bodenfeuchte"})
    make_device(client, fulda_key, EUI, {"battery": "Batterie"})
    from dikom.sensors.models import Thing

    thing = Thing.objects.get(properties__lorawan__devEui=EUI)
    thing.properties["lorawan"]["fields"]["soil_moisture"] = foreign["soil_moisture"]
    thing.save()
    response = send(client, "fulda", "tts", tts_uplink(), fulda_key)
    assert response.status_code == 202 and "soil_moisture" in response.json()["reason"]
    assert Observation.objects.count() == 0
    assert "name no Datastream of this Thing" in HeldUplink.objects.get().reason


@pytest.mark.parametrize(
    ("mutate", "status", "needle"),
    [
        (lambda b: b"{not json", 400, "not JSON"),
        (lambda b: [1, 2], 400, "JSON object"),
        (lambda b: {"hello": 1}, 400, "uplink_message"),
        (lambda b: {**b, "end_device_ids": {"device_id": "x"}}, 400, "dev_eui"),
        (lambda b: {**b, "end_device_ids": {"dev_eui": "zz"}}, 400, "DevEUI"),
        (lambda b: {**b, "uplink_message": {**b["uplink_message"], "received_at": "gestern"}}, 400, "ISO 8601"),
        (lambda b: {**b, "uplink_message": {**b["uplink_message"], "f_cnt": -4}}, 400, "f_cnt"),
        (
            lambda b: {**b, "uplink_message": {**b["uplink_message"], "decoded_payload": None, "frm_payload": None}},
            400,
            "formatter",
        ),
        (lambda b: {**b, "uplink_message": {**b["uplink_message"], "decoded_payload": "AZk="}}, 400, "JSON object"),
        (lambda b: {**b, "uplink_message": {**b["uplink_message"], "frm_payload": "%%%"}}, 400, "base64"),
        (lambda b: {**b, "uplink_message": {**b["uplink_message"], "frm_payload": "A" * 400}}, 400, "at most 242"),
        (lambda b: {**b, "uplink_message": "x" * 70000}, 413, "larger"),
    ],
)
def test_malformed_uplinks_get_clear_errors(client: Any, city_a: Any, mutate: Any, status: int, needle: str) -> None:
    key = key_for(city_a)
    make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    response = send(client, "fulda", "tts", mutate(copy.deepcopy(tts_uplink())), key)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert needle in response.json()["detail"]
    assert Observation.objects.count() == 0


def test_keys_and_cities(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    assert send(client, "fulda", "tts", tts_uplink(), None).status_code == 401
    assert send(client, "fulda", "tts", tts_uplink(), "dk_wrong").status_code == 401
    reader = key_for(city_a, ["analytics:ingest"])
    assert send(client, "fulda", "tts", tts_uplink(), reader).status_code == 403
    assert send(client, "nirgendwo", "tts", tts_uplink(), key).status_code == 404
    assert client.get("/sta/lorawan/fulda/tts").status_code == 405
    assert Observation.objects.count() == 0


def test_mapping_command_checks_and_keeps_other_properties(client: Any, city_a: Any, marburg: Any) -> None:
    from django.core.management import CommandError, call_command

    from dikom.sensors.models import Thing

    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    response = post(
        client, "Things", {"name": "Korb", "description": "x", "properties": {"street": "Bahnhofstr."}}, key
    )
    thing = Thing.objects.get(pk=response.json()["@iot.id"])
    foreign = make_device(client, key_for(marburg), "0004A30B001C0530", {"level": "Füllstand"})
    with pytest.raises(CommandError, match="no Datastream of Thing"):
        call_command("sta_lorawan_map", "fulda", str(thing.pk), "0004a30b001c0531", f"level={foreign['level']}")
    with pytest.raises(CommandError, match="already has the DevEUI"):
        call_command("sta_lorawan_map", "fulda", str(thing.pk), EUI.lower(), f"x={mapping['soil_moisture']}")
    with pytest.raises(CommandError, match="No Thing"):
        call_command("sta_lorawan_map", "marburg", str(thing.pk), "0004a30b001c0531", "x=1")
    with pytest.raises(CommandError, match="DevEUI"):
        call_command("sta_lorawan_map", "fulda", str(thing.pk), "nope", "x=1")
    # the existing device's Thing re-mapped with the lower-case DevEUI it already has
    owner = Thing.objects.get(properties__lorawan__devEui=EUI)
    call_command("sta_lorawan_map", "fulda", str(owner.pk), EUI.lower(), f"moisture={mapping['soil_moisture']}")
    owner.refresh_from_db()
    assert owner.properties["lorawan"] == {"devEui": EUI, "fields": {"moisture": mapping["soil_moisture"]}}
    body = tts_uplink()
    body["uplink_message"]["decoded_payload"] = {"moisture": 31}
    assert send(client, "fulda", "tts", body, key).status_code == 201
    assert thing.properties == {"street": "Bahnhofstr."}


@pytest.mark.parametrize("target", [2**70, -1, "41", True, {"@iot.id": None}])
def test_broken_mapping_is_a_conflict_not_a_crash(client: Any, city_a: Any, target: Any) -> None:
    from dikom.sensors.models import Thing

    key = key_for(city_a)
    make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    thing = Thing.objects.get(properties__lorawan__devEui=EUI)
    thing.properties["lorawan"]["fields"]["soil_moisture"] = target
    thing.save()
    response = send(client, "fulda", "tts", tts_uplink(), key)
    assert response.status_code == 202, response.content
    assert "soil_moisture" in response.json()["reason"]
    assert HeldUplink.objects.count() == 1


def test_uplink_observations_reach_mqtt_subscribers(
    client: Any, city_a: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Stored through the create path of the API, so announced on the real broker (127.0.0.1:1883) like any other."""
    from conftest import skip_or_fail
    from dikom.lib.testing import run_task_worker
    from dikom.sensors.tests.test_mqtt import Subscriber, broker_up

    if not broker_up():
        skip_or_fail("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    settings.DIKOM_STA_MQTT_URL = "mqtt://127.0.0.1:1883"
    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    subscriber = Subscriber(f"v1.1/Datastreams({mapping['soil_moisture']})/Observations")
    try:
        assert subscriber.ready.wait(10)
        with django_capture_on_commit_callbacks(execute=True):
            assert send(client, "fulda", "tts", tts_uplink(), key).status_code == 201
        run_task_worker()
        assert subscriber.arrived.wait(10)
    finally:
        subscriber.stop()
    ours = [body for _topic, body in subscriber.messages if (body.get("parameters") or {}).get("lorawan")]
    assert len(ours) == 1
    assert ours[0]["result"] == 23.4 and ours[0]["parameters"]["lorawan"]["fCnt"] == 118
