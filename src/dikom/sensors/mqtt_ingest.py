"""Creating Observations from MQTT (STA 1.1, chapter 14, the publish half) with per-city broker accounts.

A client publishes an Observation (the JSON of a POST, without ``@iot.id``)
to ``v1.1/Datastreams(<id>)/Observations``; ``manage.py sta_mqtt_ingest``
subscribes to ``v1.1/+/Observations`` and stores it through the same action
as ``POST /Observations``, for the Datastream's city.

Who may publish where is decided by the broker, since MQTT 3.1.1 does not tell
a subscriber who published a message: every city has a broker account
(``city-<slug>``, passwords managed with ``mosquitto_passwd`` by the
operator), and ``broker_acl`` writes Mosquitto's ACL file from dikom's data —
a city's account may write only to the topics of its own Datastreams; reading
``v1.1/#`` is open to everyone, writing to it only to dikom's own account.
Regenerate the file (``manage.py sta_mqtt_acl``) when Datastreams are added
and send the broker SIGHUP to reload it. A message the broker refused never
reaches dikom.

Delivery: dikom subscribes with QoS 1 and a persistent session (fixed client
id, ``clean_session`` off), so the broker keeps messages that arrive while
dikom is down and redelivers what was not acknowledged. Messages are queued by
paho's network thread and stored by the caller's thread (``drain``), which
keeps database work out of the network loop. A redelivered message creates no
second Observation: a reading with the same Datastream, phenomenonTime and
result is taken as a duplicate.
"""

from __future__ import annotations

import logging
import queue
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from dikom.municipalities.models import Municipality
from dikom.sensors import actions
from dikom.sensors import models as m
from dikom.sensors.entities import TYPES

logger = logging.getLogger(__name__)

SUBSCRIPTION = "v1.1/+/Observations"
TOPIC = re.compile(r"^v1\.[01]/Datastreams\((\d{1,18})\)/Observations$")
MAX_PAYLOAD = 64 * 1024
CLIENT_ID = "dikom-sta-ingest"


@dataclass
class Outcome:
    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


def store_message(topic: str, payload: bytes, outcome: Outcome) -> None:
    """Store one published Observation; anything malformed is logged and counted, never raised."""
    match = TOPIC.match(topic)
    if match is None:
        return  # other entity topics: notifications dikom itself publishes, or nothing to create
    if len(payload) > MAX_PAYLOAD:
        outcome.refused.append(f"{topic}: payload too large")
        return
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        outcome.refused.append(f"{topic}: not JSON")
        return
    if not isinstance(data, dict):
        outcome.refused.append(f"{topic}: not a JSON object")
        return
    if "@iot.id" in data:
        return  # dikom's own notification of a stored Observation
    datastream = m.Datastream.objects.select_related("municipality").filter(pk=int(match.group(1))).first()
    if datastream is None:
        outcome.refused.append(f"{topic}: no such Datastream")
        return
    if "phenomenonTime" in data and "result" in data and _duplicate(datastream, data):
        outcome.duplicates += 1
        return
    body = {**data, "Datastream": {"@iot.id": datastream.pk}}
    city: Municipality = datastream.municipality
    try:
        observation = actions.create_entity(TYPES["Observation"], body, city)
    except (actions.StaError, ValueError, TypeError) as exc:
        outcome.refused.append(f"{topic}: {getattr(exc, 'message', exc)}")
        return
    outcome.created.append(int(observation.pk))


def _duplicate(datastream: m.Datastream, data: dict[str, Any]) -> bool:
    try:
        start, _end = actions._interval(data["phenomenonTime"], "phenomenonTime")
    except actions.StaError:
        return False
    if start is None:
        return False
    existing = m.Observation.objects.filter(datastream=datastream, phenomenon_time=start).values_list(
        "result", flat=True
    )
    return any(result == data["result"] for result in existing)


class Ingestor:
    """Subscribes on the broker and hands messages to ``drain`` (run by the caller's thread)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        client_id: str = CLIENT_ID,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.subscribed = False
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda client, *_: client.subscribe(SUBSCRIPTION, qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed = True

    def drain(self, wait: float = 1.0) -> Outcome:
        """Store the messages that arrived (waiting up to ``wait`` seconds for the first)."""
        outcome = Outcome()
        try:
            topic, payload = self.messages.get(timeout=wait)
        except queue.Empty:
            return outcome
        while True:
            store_message(topic, payload, outcome)
            try:
                topic, payload = self.messages.get_nowait()
            except queue.Empty:
                break
        for reason in outcome.refused:
            logger.warning("MQTT observation refused: %s", reason)
        return outcome

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def broker_acl(dikom_user: str = "dikom") -> str:
    """Mosquitto's ACL file: each city's account writes only to its Datastreams' topics; everyone reads."""
    lines = [
        "# Generated by dikom (manage.py sta_mqtt_acl); do not edit by hand.",
        "# Everyone (also anonymous clients) may read the SensorThings topics.",
        "topic read v1.1/#",
        "topic read v1.0/#",
        "",
        f"user {dikom_user}",
        "topic readwrite v1.1/#",
        "topic readwrite v1.0/#",
    ]
    rows = m.Datastream.objects.order_by("municipality__slug", "pk").values_list("municipality__slug", "pk")
    current = None
    for slug, pk in rows:
        if slug != current:
            lines += ["", f"user city-{slug}", "topic read v1.1/#"]
            current = slug
        lines.append(f"topic write v1.1/Datastreams({pk})/Observations")
    return "\n".join(lines) + "\n"
