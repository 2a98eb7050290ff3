"""New observations reach MQTT subscribers on the real broker (Mosquitto at 127.0.0.1:1883)."""

from __future__ import annotations

import socket
import threading
import uuid
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

from conftest import skip_or_fail
from dikom.lib.testing import run_task_worker
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, key_for, post

BROKER = ("127.0.0.1", 1883)


def broker_up() -> bool:
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError:
        return False
    return True


class Subscriber:
    def __init__(self, topic: str) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.arrived = threading.Event()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect(*BROKER)
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self.messages.append((message.topic, orjson.loads(message.payload)))
        self.arrived.set()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.django_db
def test_created_observations_are_published_to_the_datastream_topic(
    client: Any, city_a: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    if not broker_up():
        skip_or_fail("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    settings.DIKOM_STA_MQTT_URL = "mqtt://127.0.0.1:1883"
    key = key_for(city_a)
    thing = post(client, "Things", {**TREE_THING, "Datastreams": TREE_THING["Datastreams"]}, key).json()
    ds_id = client.get(f"{BASE}Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    marker = str(uuid.uuid4())
    subscriber = Subscriber(f"v1.1/Datastreams({ds_id})/Observations")
    try:
        assert subscriber.ready.wait(10)
        # when an observation arrives through CreateObservations
        bulk = [
            {
                "Datastream": {"@iot.id": ds_id},
                "components": ["phenomenonTime", "result", "parameters"],
                "dataArray": [["2026-09-01T06:00:00Z", 77, {"run": marker}]],
            }
        ]
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, "CreateObservations", bulk, key).status_code == 201
        run_task_worker()
        # then the subscriber of its datastream gets it, as the API shows it
        assert subscriber.arrived.wait(10)
    finally:
        subscriber.stop()
    ours = [body for topic, body in subscriber.messages if (body.get("parameters") or {}).get("run") == marker]
    assert len(ours) == 1
    assert ours[0]["result"] == 77
    assert ours[0]["@iot.selfLink"].endswith(f"/sta/v1.1/Observations({ours[0]['@iot.id']})")
