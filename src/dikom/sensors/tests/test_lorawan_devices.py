"""LoRaWAN beyond the happy path: payload decoders, uplinks held for unknown devices, device health,
The Things Stack's MQTT uplinks on the real broker, and the staff pages — with two cities."""

from __future__ import annotations

import base64
import copy
import time
import uuid
from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.sensors import decoders, lorawan
from dikom.sensors.lorawan_mqtt import Listener, SourceError, parse_source
from dikom.sensors.models import HeldUplink, LorawanDevice, Observation, Thing
from dikom.sensors.tests.test_lorawan import EUI, make_device, marburg, send, tts_uplink  # noqa: F401
from dikom.sensors.tests.test_sta_api import key_for

pytestmark = pytest.mark.django_db


def b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode()


def raw_uplink(payload_hex: str, f_cnt: int = 7, received_at: str = "2026-07-14T05:12:31.482Z") -> dict[str, Any]:
    """A TTS uplink of a network server without payload formatter: only the bytes."""
    body = tts_uplink(f_cnt=f_cnt, received_at=received_at)
    del body["uplink_message"]["decoded_payload"]
    body["uplink_message"]["frm_payload"] = b64(payload_hex)
    return body


# --- decoders ---------------------------------------------------------------------------------------------


def test_cayenne_lpp_reads_the_documented_types() -> None:
    # tension probe: analog inputs on channels 30/60/90 (kPa), temperature on 1, humidity on 2, pressure on 3
    payload = bytes.fromhex("1e02" + "1004" + "3c02" + "1e14" + "5a02" + "2710" + "0167ffd7" + "026861" + "0373276c")
    assert decoders.decode("cayenne-lpp", payload, 1) == {
        "analog_in_30": 41.0,
        "analog_in_60": 77.0,
        "analog_in_90": 100.0,
        "temperature_1": -4.1,
        "relative_humidity_2": 48.5,
        "barometric_pressure_3": 1009.2,
    }
    gps = decoders.decode("cayenne-lpp", bytes.fromhex("018806765ff2960a0003e8"), 1)
    assert gps == {"gps_1": {"latitude": 42.3519, "longitude": -87.9094, "altitude": 10.0}}


@pytest.mark.parametrize(
    ("hex_payload", "needle"),
    [
        ("1e", "without its type"),
        ("1e0210", "cut off"),
        ("1e99", "unknown data type 153"),
        ("0167011001670120", "twice"),
    ],
)
def test_cayenne_lpp_refuses_broken_bytes_with_the_reason(hex_payload: str, needle: str) -> None:
    with pytest.raises(decoders.DecodeError, match=needle):
        decoders.decode("cayenne-lpp", bytes.fromhex(hex_payload), 1)


def test_dragino_decoders() -> None:
    # LSE01: 3.3 V, DS18B20 21.5 °C, 29 % moisture, -1.0 °C soil, 200 µS/cm, sensor found
    assert decoders.decode("dragino-lse01", bytes.fromhex("0ce400d70b54ff9c00c810"), 2) == {
        "battery_v": 3.3,
        "temperature_ds18b20": 21.5,
        "sensor_found": True,
        "interrupt": 0,
        "soil_moisture_percent": 29.0,
        "soil_temperature_c": -1.0,
        "soil_conductivity_us_cm": 200,
    }
    # LDDS75 (8-byte firmware): 2.885 V, 1500 mm, 25.0 °C; the flag bits above the voltage are ignored
    assert decoders.decode("dragino-ldds75", bytes.fromhex("cb4505dc0000fa01"), 2) == {
        "battery_v": 2.885,
        "interrupt": 0,
        "temperature_c": 25.0,
        "sensor_found": True,
        "distance_mm": 1500,
        "distance_cm": 150.0,
    }
    assert decoders.decode("dragino-ldds75", bytes.fromhex("0b45000000"), 2)["distance_status"] == "no sensor"
    with pytest.raises(decoders.DecodeError, match="11 bytes"):
        decoders.decode("dragino-lse01", b"\x01\x02", 2)
    with pytest.raises(decoders.DecodeError, match="port 2"):
        decoders.decode("dragino-ldds75", bytes.fromhex("0b4505dc00"), 5)
    with pytest.raises(decoders.DecodeError, match="unknown payload decoder"):
        decoders.decode("nope", b"\x00", 2)


# --- decoding, holding, replaying -----------------------------------------------------------------------------


def test_raw_bytes_are_decoded_with_the_devices_decoder(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"soil_moisture_percent": "Bodenfeuchte", "battery_v": "Batterie"})
    thing = Thing.objects.get(properties__lorawan__devEui=EUI)
    lorawan.set_mapping(thing, EUI, mapping, "dragino-lse01")
    response = send(client, "fulda", "tts", raw_uplink("0ce400d70b54ff9c00c810"), key)
    assert response.status_code == 201, response.content
    moisture = Observation.objects.get(datastream_id=mapping["soil_moisture_percent"])
    assert moisture.result == 29.0
    assert moisture.parameters["lorawan"]["payload"] == "0ce400d70b54ff9c00c810"
    device = LorawanDevice.objects.get(municipality=city_a, dev_eui=EUI)
    assert (device.battery_volts, device.rssi, device.snr, device.f_cnt, device.uplinks) == (3.3, -97, 6.5, 7, 1)
    # garbage bytes from the gateway: held with the reason, nothing stored, nothing lost
    garbage = send(client, "fulda", "tts", raw_uplink("ffff", f_cnt=8), key)
    assert garbage.status_code == 202 and "cannot be decoded" in garbage.json()["reason"]
    assert Observation.objects.count() == 2 and bytes(HeldUplink.objects.get().payload) == b"\xff\xff"


def test_unknown_device_is_held_then_mapped_and_replayed_in_order(client: Any, city_a: Any) -> None:
    key = key_for(city_a)
    other = "0004A30B001C0530"
    times = ["2026-07-14T05:00:00Z", "2026-07-14T06:00:00Z", "2026-07-14T07:00:00Z"]
    for f_cnt, when in enumerate(times):
        body = tts_uplink(dev_eui=other, f_cnt=f_cnt, received_at=when)
        body["uplink_message"]["decoded_payload"] = {"tension": {"cm30": 30 + f_cnt}, "battery": 3.4}
        assert send(client, "fulda", "tts", body, key).status_code == 202
    # a retried webhook is held once
    assert send(client, "fulda", "tts", body, key).status_code == 202
    assert HeldUplink.objects.filter(dev_eui=other).count() == 3
    assert Observation.objects.count() == 0
    rows = lorawan.open_held(city_a)
    assert rows[0]["count"] == 3 and rows[0]["fields"] == ["battery", "tension"] and other in rows[0]["reason"]
    mapping = make_device(client, key, "70B3D57ED0000001", {"x": "Saugspannung 30 cm"})
    thing = Thing.objects.get(properties__lorawan__devEui="70B3D57ED0000001")
    thing.properties = {}
    thing.save()
    result = lorawan.replay_held(city_a, other)
    assert (result.stored, result.still_held) == (0, 3)  # still unmapped: kept
    lorawan.set_mapping(thing, other, {"tension.cm30": mapping["x"]})
    result = lorawan.replay_held(city_a, other)
    assert (result.stored, result.still_held, result.observations) == (3, 0, 3)
    stored = Observation.objects.filter(datastream_id=mapping["x"]).order_by("phenomenon_time")
    assert [o.result for o in stored] == [30, 31, 32]
    assert HeldUplink.objects.filter(stored_at__isnull=True).count() == 0
    assert lorawan.replay_held(city_a, other).stored == 0  # nothing twice


# --- The Things Stack over MQTT, on the real broker ---------------------------------------------------------


def test_source_settings_are_checked() -> None:
    source = parse_source("fulda=mqtts://fulda-baeume%40ttn:NNSXS.ABC@eu1.cloud.thethings.network")
    assert (source.username, source.password, source.port, source.tls) == ("fulda-baeume@ttn", "NNSXS.ABC", 8883, True)
    assert source.subscription == "v3/fulda-baeume@ttn/devices/+/up"
    for bad in ("fulda", "fulda=http://x", "fulda=mqtt://", "fulda=mqtt://h:port"):
        with pytest.raises(SourceError):
            parse_source(bad)


@pytest.mark.django_db(transaction=True)
def test_uplinks_published_on_the_broker_are_stored(city_a: Any) -> None:
    import paho.mqtt.client as mqtt

    from conftest import skip_or_fail
    from dikom.sensors.tests.test_mqtt import broker_up

    if not broker_up():
        skip_or_fail("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    application = f"test-{uuid.uuid4().hex[:8]}@ttn"
    source = parse_source("fulda=mqtt://127.0.0.1:1883")
    source = type(source)(source.city, source.host, source.port, False, application, None)
    from django.test import Client

    client = Client()
    key = key_for(city_a)
    mapping = make_device(client, key, EUI, {"soil_moisture": "Bodenfeuchte"})
    listener = Listener(source, client_id=f"dikom-test-{uuid.uuid4().hex[:8]}")
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        deadline = time.monotonic() + 15
        while not listener.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.subscribed
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        known = tts_uplink()
        unknown = copy.deepcopy(known)
        unknown["end_device_ids"]["dev_eui"] = "0004A30B001C0999"
        import orjson

        for body in (known, unknown, known):  # the third is a redelivery
            publisher.publish(f"v3/{application}/devices/baum-17-sonde/up", orjson.dumps(body), qos=1).wait_for_publish(
                10
            )
        publisher.publish(f"v3/{application}/devices/x/up", b"{garbage", qos=1).wait_for_publish(10)
        totals = {"stored": 0, "held": 0, "duplicates": 0, "refused": 0}
        deadline = time.monotonic() + 20
        while sum(totals.values()) < 4 and time.monotonic() < deadline:
            outcome = listener.drain(wait=0.5)
            totals["stored"] += outcome.stored
            totals["held"] += outcome.held
            totals["duplicates"] += outcome.duplicates
            totals["refused"] += len(outcome.refused)
        assert totals == {"stored": 1, "held": 1, "duplicates": 1, "refused": 1}
        assert Observation.objects.get(datastream_id=mapping["soil_moisture"]).result == 23.4
        assert HeldUplink.objects.get().source == "tts-mqtt"
        assert LorawanDevice.objects.filter(municipality=city_a).count() == 2
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        listener.stop()


@pytest.mark.django_db(transaction=True)
def test_an_uplink_is_acknowledged_to_the_network_server_only_once_stored(
    city_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orjson
    import paho.mqtt.client as mqtt
    from django.db import OperationalError
    from django.test import Client

    from conftest import skip_or_fail
    from dikom.sensors import lorawan_mqtt
    from dikom.sensors.tests.test_mqtt import broker_up

    if not broker_up():
        skip_or_fail("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    application = f"test-{uuid.uuid4().hex[:8]}@ttn"
    plain = parse_source("fulda=mqtt://127.0.0.1:1883")
    source = type(plain)(plain.city, plain.host, plain.port, False, application, None)
    mapping = make_device(Client(), key_for(city_a), EUI, {"soil_moisture": "Bodenfeuchte"})
    client_id = f"dikom-test-{uuid.uuid4().hex[:8]}"
    first = Listener(source, client_id=client_id)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        deadline = time.monotonic() + 15
        while not first.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.subscribed
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()

        # given the database fails while the listener stores a received uplink
        def database_gone(*_args: Any) -> None:
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(lorawan_mqtt, "store_message", database_gone)
        topic = f"v3/{application}/devices/baum-17-sonde/up"
        publisher.publish(topic, orjson.dumps(tts_uplink()), qos=1).wait_for_publish(10)
        with pytest.raises(OperationalError):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                first.drain(wait=0.5)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        first.stop()  # the listener ends (its supervisor would start it again)
    monkeypatch.undo()
    # then the broker still holds the unacknowledged uplink and delivers it to the restarted listener
    restarted = Listener(source, client_id=client_id)
    try:
        stored = 0
        deadline = time.monotonic() + 15
        while stored < 1 and time.monotonic() < deadline:
            stored += restarted.drain(wait=0.5).stored
        assert stored == 1
        assert Observation.objects.get(datastream_id=mapping["soil_moisture"]).result == 23.4
    finally:
        restarted.stop()


# --- staff pages, two cities ------------------------------------------------------------------------------------


def test_staff_see_their_devices_and_map_a_held_one(client: Any, city_a: Any, marburg: Any, login: Any) -> None:  # noqa: F811
    key = key_for(city_a)
    make_device(client, key, EUI, {"battery": "Batterie"})
    target = make_device(client, key, "70B3D57ED0000001", {"moisture": "Bodenfeuchte", "battery": "Batterie"})
    thing = Thing.objects.get(properties__lorawan__devEui="70B3D57ED0000001")
    thing.properties = {}  # a Thing ready for the new device
    thing.save()
    other = "0004A30B001C0530"
    body = raw_uplink("0ce400d70b54ff9c00c810", f_cnt=3)
    body["end_device_ids"]["dev_eui"] = other
    assert send(client, "fulda", "tts", body, key).status_code == 202
    assert send(client, "fulda", "tts", tts_uplink(), key).status_code == 201

    admin = MembershipFactory(municipality=city_a, role=Role.MUNICIPALITY_ADMIN).user
    login(client, admin)
    assert "/stadt/fulda/geraete/" in client.get("/stadt/fulda/").content.decode()
    page = client.get("/stadt/fulda/geraete/").content.decode()
    assert other in page and EUI in page and "3,61 V" in page and "-97 dBm" in page
    assert f"/stadt/fulda/geraete/{other}/zuordnen/" in page
    form = client.get(f"/stadt/fulda/geraete/{other}/zuordnen/?thing={thing.pk}&decoder=dragino-lse01")
    assert form.status_code == 200
    fields = [name for _i, name in form.context["fields"]]
    assert "soil_moisture_percent" in fields and "battery_v" in fields
    url = f"/stadt/fulda/geraete/{other}/zuordnen/"
    empty = client.post(url, {"thing": thing.pk, "decoder": "dragino-lse01"})
    assert empty.status_code == 400 and "mindestens" in empty.content.decode().lower()
    mapped = client.post(
        url,
        {
            "thing": thing.pk,
            "decoder": "dragino-lse01",
            f"field-{fields.index('soil_moisture_percent')}": target["moisture"],
            f"field-{fields.index('battery_v')}": target["battery"],
        },
    )
    assert mapped.status_code == 302
    assert Observation.objects.get(datastream_id=target["moisture"]).result == 29.0
    assert Observation.objects.get(datastream_id=target["battery"]).result == 3.3
    assert HeldUplink.objects.get().stored_at is not None
    thing.refresh_from_db()
    assert thing.properties["lorawan"]["decoder"] == "dragino-lse01"

    # Marburg's administrator sees nothing of Fulda's devices and cannot map them
    outsider = MembershipFactory(municipality=marburg, role=Role.MUNICIPALITY_ADMIN).user
    login(client, outsider)
    assert client.get("/stadt/fulda/geraete/").status_code == 403
    assert client.post(url, {"thing": thing.pk}).status_code == 403
    assert other not in client.get("/stadt/marburg/geraete/").content.decode()
    assert LorawanDevice.objects.filter(municipality=marburg).count() == 0
