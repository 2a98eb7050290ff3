"""Publishing Observations over MQTT creates them, with per-city broker accounts (a real Mosquitto).

Each test module starts its own Mosquitto (Debian's ``mosquitto`` binary) on a free loopback port with a
password file and the ACL that dikom generates, so the per-city rules are tested as the broker enforces
them. Skipped with a reason only when the binary is missing and CI does not demand it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

from conftest import skip_or_fail
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory
from dikom.sensors.models import Observation
from dikom.sensors.mqtt_ingest import Ingestor, broker_acl
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, key_for, post

pytestmark = pytest.mark.django_db

PASSWORDS = {"dikom": "dikom-geheim", "city-fulda": "fulda-geheim", "city-marburg": "marburg-geheim"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    assert path is not None, name
    return path


class Broker:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        passwd = self.directory / "passwd"
        passwd.touch()
        for user, password in PASSWORDS.items():
            command = [_binary("mosquitto_passwd"), "-b", str(passwd), user, password]
            subprocess.run(command, check=True, capture_output=True)  # noqa: S603  (fixed test input)
        (self.directory / "acl").write_text(broker_acl("dikom"), encoding="utf-8")
        config = self.directory / "mosquitto.conf"
        config.write_text(
            f"user root\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"password_file {passwd}\nacl_file {self.directory / 'acl'}\npersistence false\n",
            encoding="utf-8",
        )
        command = [_binary("mosquitto"), "-c", str(config)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def cities(client: Any, city_a: Any) -> dict[str, int]:
    district = DistrictFactory(key="06534", name="Landkreis Marburg-Biedenkopf")
    marburg = MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=district)
    ids = {}
    for name, city in (("fulda", city_a), ("marburg", marburg)):
        thing = post(client, "Things", {**TREE_THING, "Datastreams": TREE_THING["Datastreams"]}, key_for(city)).json()
        ids[name] = client.get(f"{BASE}Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    return ids


@pytest.fixture
def broker(tmp_path: Path, cities: dict[str, int]) -> Iterator[Broker]:
    if not all(shutil.which(n, path="/usr/sbin:/usr/bin:/usr/local/sbin") for n in ("mosquitto", "mosquitto_passwd")):
        skip_or_fail("Debian's mosquitto is not installed (apt-get install mosquitto)")
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


def publisher(broker: Broker, user: str | None, password: str | None = None) -> tuple[Any, Any]:
    """A connected client and its CONNACK reason code."""
    done = threading.Event()
    result: dict[str, Any] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if user:
        client.username_pw_set(user, password)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert done.wait(10)
    return client, result["reason"]


def publish(client: Any, datastream: int, body: Any) -> None:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    info = client.publish(f"v1.1/Datastreams({datastream})/Observations", payload, qos=1)
    info.wait_for_publish(timeout=10)
    assert info.is_published()


def ingest_until(ingestor: Ingestor, expected: int, seconds: float = 5.0) -> Any:
    """Drain until ``expected`` observations were created (or the time is up); returns the merged outcome."""
    from dikom.sensors.mqtt_ingest import Outcome

    total = Outcome()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(total.created) < expected:
        part = ingestor.drain(wait=0.5)
        total.created += part.created
        total.duplicates += part.duplicates
        total.refused += part.refused
    return total


def test_a_city_publishes_observations_to_its_datastream(broker: Broker, cities: dict[str, int]) -> None:
    ingestor = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    fulda, reason = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        assert not reason.is_failure
        deadline = time.monotonic() + 5
        while not ingestor.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        reading = {"phenomenonTime": "2026-08-01T06:00:00Z", "result": 42.5, "parameters": {"via": "mqtt"}}
        publish(fulda, cities["fulda"], reading)
        outcome = ingest_until(ingestor, 1)
        assert len(outcome.created) == 1
        stored = Observation.objects.get(pk=outcome.created[0])
        assert (stored.datastream_id, stored.result, stored.parameters) == (cities["fulda"], 42.5, {"via": "mqtt"})
        # a retry of the same reading (e.g. a gateway without the broker's acknowledgement) is a duplicate
        publish(fulda, cities["fulda"], reading)
        again = ingest_until(ingestor, 1, seconds=2)
        assert (again.created, again.duplicates) == ([], 1)
        # garbage is refused with a reason, never stored and never fatal
        publish(fulda, cities["fulda"], b"\x00\xffkein json")
        publish(fulda, cities["fulda"], {"result": 1, "phenomenonTime": "gestern"})
        bad = ingest_until(ingestor, 1, seconds=2)
        assert bad.created == [] and len(bad.refused) == 2
        assert Observation.objects.filter(datastream_id=cities["fulda"]).count() == 4  # 3 from the deep insert
    finally:
        fulda.loop_stop()
        ingestor.stop()


def test_a_fulda_account_cannot_write_to_marburgs_datastream(broker: Broker, cities: dict[str, int]) -> None:
    ingestor = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    anonymous, _ = publisher(broker, None)
    try:
        before = Observation.objects.count()
        time.sleep(0.5)
        publish(fulda, cities["marburg"], {"phenomenonTime": "2026-08-01T06:00:00Z", "result": 1})
        publish(anonymous, cities["fulda"], {"phenomenonTime": "2026-08-01T06:00:00Z", "result": 2})
        # the broker drops both (ACL); a message Marburg may send arrives, proving the listener was listening
        marburg, _ = publisher(broker, "city-marburg", PASSWORDS["city-marburg"])
        publish(marburg, cities["marburg"], {"phenomenonTime": "2026-08-01T07:00:00Z", "result": 3})
        outcome = ingest_until(ingestor, 1)
        assert [Observation.objects.get(pk=pk).result for pk in outcome.created] == [3]
        assert Observation.objects.count() == before + 1
        marburg.loop_stop()
        # a wrong password is refused at the door
        _, reason = publisher(broker, "city-fulda", "falsch")
        assert reason.is_failure
    finally:
        fulda.loop_stop()
        anonymous.loop_stop()
        ingestor.stop()


def test_observations_published_while_dikom_is_down_arrive_after_its_restart(
    broker: Broker, cities: dict[str, int]
) -> None:
    first = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    deadline = time.monotonic() + 5
    while not first.subscribed and time.monotonic() < deadline:
        time.sleep(0.05)
    first.stop()  # the persistent session stays on the broker
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        for hour in range(3):
            publish(fulda, cities["fulda"], {"phenomenonTime": f"2026-08-02T0{hour}:00:00Z", "result": 10 + hour})
    finally:
        fulda.loop_stop()
    restarted = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    try:
        outcome = ingest_until(restarted, 3)
        assert sorted(Observation.objects.get(pk=pk).result for pk in outcome.created) == [10, 11, 12]
    finally:
        restarted.stop()


def test_the_acl_gives_each_city_only_its_own_topics(cities: dict[str, int]) -> None:
    acl = broker_acl("dikom")
    fulda_block = acl.split("user city-fulda")[1].split("user ")[0]
    assert f"topic write v1.1/Datastreams({cities['fulda']})/Observations" in fulda_block
    assert f"Datastreams({cities['marburg']})" not in fulda_block
    assert acl.index("topic read v1.1/#") < acl.index("user dikom")


def test_a_message_is_acknowledged_only_once_stored(
    broker: Broker, cities: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from dikom.sensors import mqtt_ingest

    first = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        deadline = time.monotonic() + 5
        while not first.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)

        # given the database fails while the listener stores a received reading
        def database_gone(*_args: Any) -> None:
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(mqtt_ingest, "store_messages", database_gone)
        publish(fulda, cities["fulda"], {"phenomenonTime": "2026-08-03T06:00:00Z", "result": 33})
        with pytest.raises(OperationalError):
            ingest_until(first, 1)
    finally:
        fulda.loop_stop()
        first.stop()  # the listener ends (its supervisor would start it again)
    monkeypatch.undo()
    # then the broker still holds the unacknowledged reading and delivers it to the restarted listener
    restarted = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    try:
        outcome = ingest_until(restarted, 1)
        assert [Observation.objects.get(pk=pk).result for pk in outcome.created] == [33]
    finally:
        restarted.stop()


def test_a_burst_larger_than_the_brokers_default_queue_is_stored_completely(
    broker: Broker, cities: dict[str, int]
) -> None:
    # The test broker runs with Mosquitto's default limits: 20 unacknowledged messages in flight to an
    # MQTT 3.1.1 subscriber and 1 000 queued behind them, the rest dropped although the publisher got its
    # PUBACK. The listener acknowledges only after storing, and it is not storing while the burst arrives,
    # so 3 000 readings survive only because the listener (MQTT 5) announces its own Receive Maximum.
    ingestor = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        deadline = time.monotonic() + 5
        while not ingestor.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        before = Observation.objects.filter(datastream_id=cities["fulda"]).count()
        sent = [
            fulda.publish(
                f"v1.1/Datastreams({cities['fulda']})/Observations",
                orjson.dumps(
                    {"phenomenonTime": f"2026-08-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z", "result": n}
                ),
                qos=1,
            )
            for n in range(3000)
        ]
        for info in sent:
            info.wait_for_publish(timeout=30)
        assert all(info.is_published() for info in sent)
        outcome = ingest_until(ingestor, 3000, seconds=60)
        assert len(outcome.created) == 3000 and outcome.refused == []
        assert Observation.objects.filter(datastream_id=cities["fulda"]).count() == before + 3000
    finally:
        fulda.loop_stop()
        ingestor.stop()


def _readings(n: int, hour: int = 9) -> list[bytes]:
    return [
        orjson.dumps({"phenomenonTime": f"2026-08-02T{hour:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", "result": i})
        for i in range(n)
    ]


def _wait_subscribed(*ingestors: Ingestor) -> None:
    deadline = time.monotonic() + 5
    while not all(i.subscribed for i in ingestors) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(i.subscribed for i in ingestors)


def test_stored_messages_are_acknowledged_so_a_restart_receives_none_of_them_again(
    broker: Broker, cities: dict[str, int]
) -> None:
    # The acknowledgements of a batch go out as one write (FastClient.ack_many): had one been lost,
    # the broker would hand the message to the restarted listener (same persistent session) again.
    first = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        _wait_subscribed(first)
        for payload in _readings(500):
            fulda.publish(f"v1.1/Datastreams({cities['fulda']})/Observations", payload, qos=1)
        outcome = ingest_until(first, 500, seconds=30)
        assert len(outcome.created) == 500
        first.drain(wait=0.5)  # lets the network thread write the last acknowledgements
    finally:
        first.stop()
    restarted = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    try:
        _wait_subscribed(restarted)
        received = 0
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            part = restarted.drain(wait=0.3)
            received += len(part.created) + part.duplicates + len(part.refused)
        assert received == 0
    finally:
        fulda.loop_stop()
        restarted.stop()


def test_listeners_on_a_shared_subscription_take_each_message_once_and_store_each_reading_once(
    broker: Broker, cities: dict[str, int]
) -> None:
    members = [Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"], member=n) for n in (1, 2)]
    fulda, _ = publisher(broker, "city-fulda", PASSWORDS["city-fulda"])
    try:
        _wait_subscribed(*members)
        before = Observation.objects.filter(datastream_id=cities["fulda"]).count()
        readings = _readings(300, hour=10)
        repeats = readings[:100]  # sent twice: may reach either member, stored once
        sent = [
            fulda.publish(f"v1.1/Datastreams({cities['fulda']})/Observations", payload, qos=1)
            for payload in readings + repeats
        ]
        for info in sent:
            info.wait_for_publish(timeout=30)
        received = [0, 0]
        created = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(received) < len(sent):
            for index, member in enumerate(members):
                part = member.drain(wait=0.2)
                received[index] += len(part.created) + part.duplicates + len(part.refused)
                created += len(part.created)
        for index, member in enumerate(members):  # nothing more arrives
            part = member.drain(wait=0.3)
            received[index] += len(part.created) + part.duplicates + len(part.refused)
        # a plain subscription would hand every message to both listeners (800 in all)
        assert sum(received) == 400
        assert all(count > 0 for count in received)
        assert created == 300
        stored = Observation.objects.filter(datastream_id=cities["fulda"])
        assert stored.count() == before + 300
        window = stored.filter(phenomenon_time__gte=dt.datetime(2026, 8, 2, 10, tzinfo=dt.UTC)).filter(
            phenomenon_time__lt=dt.datetime(2026, 8, 2, 11, tzinfo=dt.UTC)
        )
        assert sorted(window.values_list("result", flat=True)) == list(range(300))
    finally:
        fulda.loop_stop()
        for member in members:
            member.stop()


def test_readings_with_and_without_mqtt5_properties_are_both_stored(broker: Broker, cities: dict[str, int]) -> None:
    # A PUBLISH without properties takes the listener's short path (FastClient.on_raw_message); one with
    # properties (here a user property and a content type) paho's own; both end in the same store.
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    ingestor = Ingestor("127.0.0.1", broker.port, "dikom", PASSWORDS["dikom"])
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("city-fulda", PASSWORDS["city-fulda"])
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        _wait_subscribed(ingestor)
        topic = f"v1.1/Datastreams({cities['fulda']})/Observations"
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = ("sensor", "probe-7")
        properties.ContentType = "application/json"
        infos = [
            client.publish(topic, orjson.dumps({"phenomenonTime": "2026-08-03T06:00:00Z", "result": 1}), qos=1),
            client.publish(
                topic,
                orjson.dumps({"phenomenonTime": "2026-08-03T07:00:00Z", "result": 2}),
                qos=1,
                properties=properties,
            ),
            client.publish(topic, orjson.dumps({"phenomenonTime": "2026-08-03T08:00:00Z", "result": 3}), qos=0),
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)
        outcome = ingest_until(ingestor, 3)
        assert sorted(Observation.objects.get(pk=pk).result for pk in outcome.created) == [1, 2, 3]
        assert outcome.refused == []
    finally:
        client.loop_stop()
        ingestor.stop()
