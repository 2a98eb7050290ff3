"""The demo's live readings: published on the real broker, stored by the MQTT listener (generated demo data)."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from pathlib import Path

import orjson
import pytest

from conftest import skip_or_fail
from dikom.demo.actions import load_demo_cooperation
from dikom.lib import broker
from dikom.sensors.demo import load_demo_sensors
from dikom.sensors.demo_feed import demo_messages
from dikom.sensors.models import Observation
from dikom.sensors.mqtt_ingest import Ingestor


@pytest.mark.django_db
def test_each_demo_stream_gets_its_next_reading() -> None:
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_sensors(days=1)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    messages = demo_messages(now, random.Random(1))
    assert len(messages) == 18  # three demo trees in each of the six founding cities
    for topic, payload in messages:
        body = orjson.loads(payload)
        assert topic.startswith("v1.1/Datastreams(") and topic.endswith(")/Observations")
        assert body["phenomenonTime"] == "2030-01-01T00:00:00Z" and 0 <= body["result"] <= 150


@pytest.mark.django_db(transaction=True)
def test_published_demo_readings_are_stored_through_the_broker(migration_data: None) -> None:
    if not broker.answers("127.0.0.1", 1883):
        skip_or_fail("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    import paho.mqtt.client as mqtt

    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_sensors(days=1)
    before = Observation.objects.count()
    # a client id of this test's own, so that parallel runs do not take each other's session
    ingestor = Ingestor("127.0.0.1", 1883, client_id=f"dikom-test-{uuid.uuid4().hex[:8]}")
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        deadline = time.monotonic() + 15
        while not ingestor.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ingestor.subscribed
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        messages = demo_messages(dt.datetime.now(dt.UTC).replace(microsecond=0), random.Random(2))
        for topic, payload in messages:
            publisher.publish(topic, payload, qos=1).wait_for_publish(10)
        # other test runs may publish on the same broker: look for exactly these readings
        wanted = {
            (int(topic.split("(")[1].split(")")[0]), orjson.loads(payload)["result"]) for topic, payload in messages
        }
        when = orjson.loads(messages[0][1])["phenomenonTime"]

        def found() -> set[tuple[int, float]]:
            rows = Observation.objects.filter(phenomenon_time=dt.datetime.fromisoformat(when))
            return set(rows.values_list("datastream_id", "result_number")) & wanted

        deadline = time.monotonic() + 30
        while found() != wanted and time.monotonic() < deadline:
            ingestor.drain(wait=0.5)
        assert found() == wanted and len(wanted) == 18
        assert Observation.objects.count() >= before + 18
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        ingestor.stop()


def test_serve_plans_to_use_a_running_broker_or_start_mosquitto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from dikom.lib.testing import free_port

    program = broker.mosquitto_program()
    if program is None:
        skip_or_fail("Mosquitto is not installed")
    port = free_port()
    monkeypatch.setattr(broker, "DEFAULT_PORT", port)
    plan = broker.plan(tmp_path)
    assert plan.url == f"mqtt://127.0.0.1:{port}" and plan.command is not None
    config = (tmp_path / "mosquitto" / "mosquitto.conf").read_text()
    assert f"listener {port} 127.0.0.1" in config and "persistence true" in config
    process = subprocess.Popen([*plan.command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        assert broker.wait_until_up(plan.url, 20)
        again = broker.plan(tmp_path)  # now one answers: used, nothing started
        assert again.url == plan.url and again.command is None
    finally:
        process.terminate()
        process.wait(10)
    monkeypatch.setattr(broker, "mosquitto_program", lambda: None)
    assert broker.plan(tmp_path).url is None
