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
keeps database work out of the network loop: what has arrived is stored in one
transaction (up to ``BATCH`` messages, rows of plain form with one ``COPY`` per
Datastream) and acknowledged to the broker only after the commit, so a message
is never acknowledged before it is stored. A redelivered message creates no
second Observation: a reading with the same Datastream, phenomenonTime and
result is taken as a duplicate. The listener speaks MQTT 5 and announces a Receive Maximum
of 65 535: a broker sends an MQTT 3.1.1 subscriber at most ``max_inflight_messages``
unacknowledged messages (Mosquitto: 20 by default) and drops what overflows its queue
behind them (``max_queued_messages``, 1 000), so with acknowledgement after the commit a
burst would be lost on a broker with default settings; an MQTT 5 client's own Receive Maximum
takes the place of that limit. See ``docs/sensors.md``.

Several listeners: ``sta_mqtt_ingest --member N`` (N = 1, 2, …) subscribes to the shared
subscription ``$share/dikom-sta-ingest/v1.1/+/Observations`` with a persistent session of its own
(client id ``dikom-sta-ingest-N``); the broker hands each message to one member, which acknowledges
it after its commit as above; what a stopped member had not acknowledged stays in its session until
it comes back, so members are numbered and restarted with the same number (do not lower their
count without letting the dropped ones drain). Duplicates are found across members: the check runs
under the Datastream's row lock, and every listener locks Datastreams in the order of their ids.
The transport work per message (reading packets, acknowledging) is done by
``dikom.sensors.mqtt_client.FastClient``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from django.db import transaction
from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.sensors import actions, bulk
from dikom.sensors import models as m
from dikom.sensors.entities import TYPES
from dikom.sensors.mqtt_queue import QueuedSubscriber, Received

logger = logging.getLogger(__name__)

SUBSCRIPTION = "v1.1/+/Observations"
TOPIC = re.compile(r"^v1\.[01]/Datastreams\((\d{1,18})\)/Observations$")
MAX_PAYLOAD = 64 * 1024
CLIENT_ID = "dikom-sta-ingest"
#: The shared subscription's group when several listeners run (``sta_mqtt_ingest --member N``).
SHARE_GROUP = "dikom-sta-ingest"


@dataclass
class Outcome:
    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


#: Messages stored in one transaction at most (what has arrived is taken, up to this many).
BATCH = 2000
#: Unacknowledged messages the broker may hand the listener at once (MQTT 5 Receive Maximum, the
#: protocol's largest value): a burst waits in the listener's memory, not in the broker's bounded queue.
RECEIVE_MAXIMUM = 65535
#: The persistent session outlives a stop of the listener (MQTT 5 Session Expiry Interval; this
#: value means "never", as an MQTT 3.1.1 session without clean session).
SESSION_EXPIRY = 0xFFFFFFFF
#: The keys of a published Observation that the bulk path takes; anything else (a deep-inserted
#: FeatureOfInterest, unknown keys) goes through ``create_entity`` one by one.
_SIMPLE = bulk.PROPERTIES - {"FeatureOfInterest/id"}


def store_message(topic: str, payload: bytes, outcome: Outcome) -> None:
    """Store one published Observation; anything malformed is logged and counted, never raised."""
    store_messages([(topic, payload)], outcome)


def _parse(topic: str, payload: bytes, outcome: Outcome) -> tuple[int, dict[str, Any]] | None:
    match = TOPIC.match(topic)
    if match is None:
        return None  # other entity topics: notifications dikom itself publishes, or nothing to create
    if len(payload) > MAX_PAYLOAD:
        outcome.refused.append(f"{topic}: payload too large")
        return None
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        outcome.refused.append(f"{topic}: not JSON")
        return None
    if not isinstance(data, dict):
        outcome.refused.append(f"{topic}: not a JSON object")
        return None
    if "@iot.id" in data:
        return None  # dikom's own notification of a stored Observation
    return int(match.group(1)), data


def _simple(data: dict[str, Any]) -> dict[str, Any] | None:
    """The message as a bulk row's properties, or None when it needs the full create (deep insert)."""
    feature = data.get("FeatureOfInterest")
    if any(key not in _SIMPLE and key != "FeatureOfInterest" for key in data):
        return None
    if feature is None:
        return data
    if isinstance(feature, dict) and set(feature) == {"@iot.id"} and isinstance(feature["@iot.id"], int):
        rest = {key: value for key, value in data.items() if key != "FeatureOfInterest"}
        return {**rest, "FeatureOfInterest/id": feature["@iot.id"]}
    return None


def store_messages(messages: list[tuple[str, bytes]], outcome: Outcome) -> None:
    """Store published Observations in one transaction: readings of plain form per Datastream in bulk
    (``dikom.sensors.bulk``: repeats of a stored reading are duplicates), the rest one by one. Anything
    malformed is logged and counted, never raised; a database error is raised (nothing was stored)."""
    parsed = [(topic, item) for topic, payload in messages if (item := _parse(topic, payload, outcome))]
    if not parsed:
        return
    datastreams = m.Datastream.objects.select_related("municipality").in_bulk({pk for _t, (pk, _d) in parsed})
    groups: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    single: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for topic, (pk, data) in parsed:
        if pk not in datastreams:
            outcome.refused.append(f"{topic}: no such Datastream")
        elif (plain := _simple(data)) is not None:
            groups.setdefault(pk, []).append((topic, plain))
        else:
            single.setdefault(pk, []).append((topic, data))
    now = timezone.now()
    with transaction.atomic():
        # Datastreams locked in the order of their ids: several listeners never wait for each other in a circle
        for pk in sorted(groups.keys() | single.keys()):
            if pk in groups:
                _store_group(datastreams[pk], groups[pk], now, outcome)
            for topic, data in single.get(pk, ()):
                _store_one(topic, datastreams[pk], data, outcome)


def _store_group(datastream: m.Datastream, items: list[tuple[str, dict[str, Any]]], now: Any, outcome: Outcome) -> None:
    city: Municipality = datastream.municipality
    rows: list[bulk.Row] = []
    for topic, data in items:
        try:
            rows.append(bulk.row_from(data, now))
        except bulk.RowError as exc:
            outcome.refused.append(f"{topic}: {exc}")
    features = {row.feature_id for row in rows} - {None}
    if features:
        owned = set(
            actions.owned(TYPES["FeatureOfInterest"], city).filter(pk__in=features).values_list("pk", flat=True)
        )
        for row in [row for row in rows if row.feature_id is not None and row.feature_id not in owned]:
            outcome.refused.append(f"Datastream {datastream.pk}: no FeatureOfInterest {row.feature_id} of this city")
            rows.remove(row)
    if not rows:
        return
    try:
        with transaction.atomic():
            _ids, new_ids = actions.store_observation_rows(datastream, rows, city)
    except actions.StaError as exc:
        outcome.refused += [f"Datastream {datastream.pk}: {exc.message}"] * len(rows)
        return
    actions.announce(new_ids)
    outcome.created += new_ids
    outcome.duplicates += len(rows) - len(new_ids)


def _store_one(topic: str, datastream: m.Datastream, data: dict[str, Any], outcome: Outcome) -> None:
    if "phenomenonTime" in data and "result" in data and _duplicate(datastream, data):
        outcome.duplicates += 1
        return
    body = {**data, "Datastream": {"@iot.id": datastream.pk}}
    try:
        observation = actions.create_entity(TYPES["Observation"], body, datastream.municipality)
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


class Ingestor(QueuedSubscriber):
    """Subscribes on the broker and hands messages to ``drain`` (run by the caller's thread).

    Acknowledged only once stored: the client acknowledges by hand (``manual_ack``), after the
    batch's transaction committed (or after a message was refused for good). A message that was
    received but not stored when dikom stopped is delivered again by the broker (persistent session).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        client_id: str = CLIENT_ID,
        member: int | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from dikom.sensors.mqtt_client import FastClient

        subscription = SUBSCRIPTION
        if member is not None:  # one of several listeners: a shared subscription, a session of its own
            subscription = f"$share/{SHARE_GROUP}/{SUBSCRIPTION}"
            client_id = f"{client_id}-{member}"
        self.client = FastClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        connect_properties = Properties(PacketTypes.CONNECT)
        connect_properties.ReceiveMaximum = RECEIVE_MAXIMUM
        connect_properties.SessionExpiryInterval = SESSION_EXPIRY
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda client, *_: client.subscribe(subscription, qos=1)
        self.receive_into_queue()
        # FastClient hands plain messages over without paho's message objects
        self.client.on_raw_message = lambda topic, payload, mid, qos: self.messages.put((topic, payload, mid, qos))
        self.client.connect(host, port, keepalive=30, clean_start=False, properties=connect_properties)
        self.client.loop_start()

    def acknowledge(self, block: list[Received]) -> None:
        """All QoS 1 acknowledgements of a stored block in one write (QoS 2 one by one)."""
        from dikom.sensors.mqtt_client import FastClient

        client = cast(FastClient, self.client)  # made so in __init__
        client.ack_many([mid for _topic, _payload, mid, qos in block if qos == 1])
        for _topic, _payload, mid, qos in block:
            if qos == 2:
                self.client.ack(mid, qos)

    def drain(self, wait: float = 1.0, batch: int = BATCH) -> Outcome:
        """Store the messages that arrived (waiting up to ``wait`` seconds for the first), ``batch`` per
        transaction, and acknowledge them once committed."""
        outcome = Outcome()
        self.store_arrived(lambda block: store_messages(block, outcome), wait, batch)
        for reason in outcome.refused:
            logger.warning("MQTT observation refused: %s", reason)
        return outcome


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
