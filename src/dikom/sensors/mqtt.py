"""MQTT notifications of the SensorThings API (STA 1.1, chapter 14, the subscribe half).

Every Observation stored, however it arrived (POST, deep insert,
``CreateObservations``, the demo), is published after the commit, by a
background task, to the topics a subscriber of FROST-Server would use:
``v1.1/Datastreams(<id>)/Observations``, ``v1.1/Observations`` and
``v1.1/FeaturesOfInterest(<id>)/Observations`` (QoS 1, with the same JSON as
a GET of the Observation). The database is the record: a broker that is down
makes the task fail and retry (``dikom.lib.tasks``), nothing is lost.

The publish half (clients publishing Observations to create them) is in
``mqtt_ingest.py``.
"""

from __future__ import annotations

import logging
import urllib.parse

import orjson
from django.conf import settings

from dikom.sensors.entities import TYPES
from dikom.sensors.models import Observation
from dikom.sensors.serialize import entity_json

logger = logging.getLogger(__name__)

VERSION = "v1.1"
PUBLISH_TIMEOUT_SECONDS = 10


def broker() -> tuple[str, int] | None:
    url = settings.DIKOM_STA_MQTT_URL
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def credentials() -> tuple[str, str | None] | None:
    """dikom's own broker account, from the URL (``mqtt://dikom:secret@host:1883``), if it names one."""
    parts = urllib.parse.urlsplit(settings.DIKOM_STA_MQTT_URL or "")
    if not parts.username:
        return None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return urllib.parse.unquote(parts.username), password


def observation_messages(ids: list[int]) -> list[tuple[str, bytes]]:
    base = f"{(settings.SITE_URL or '').rstrip('/')}/sta/{VERSION}/"
    messages = []
    # The broker's topics are public: unpublished datastreams are not announced (``visibility.py``).
    public = Observation.objects.filter(pk__in=ids, datastream__published=True, datastream__thing__published=True)
    for obs in public.order_by("pk"):
        payload = orjson.dumps(entity_json(TYPES["Observation"], obs, base, None))
        for topic in (
            f"{VERSION}/Datastreams({obs.datastream_id})/Observations",
            f"{VERSION}/FeaturesOfInterest({obs.feature_of_interest_id})/Observations",
            f"{VERSION}/Observations",
        ):
            messages.append((topic, payload))
    return messages


def publish_observations(ids: list[int]) -> int:
    """Publish the observations ``ids``; returns the number of messages. Raises when the broker is unreachable
    or does not acknowledge every message within ``PUBLISH_TIMEOUT_SECONDS``.

    The client runs without paho's network thread: each ``publish`` writes its packet at once, and the loop
    below reads the broker's PUBACKs (many per read, ``FastClient``). There is no limit on unacknowledged
    messages (paho's default of 20 would make a task of 3 000 messages wait for the broker 150 times, and
    paho's bookkeeping of a larger limit walks all waiting messages at every acknowledgement)."""
    address = broker()
    if address is None:
        return 0
    import time

    import paho.mqtt.client as mqtt

    from dikom.sensors.mqtt_client import FastClient

    messages = observation_messages(ids)
    if not messages:
        return 0
    client = FastClient(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    client.connect_timeout = 5
    client.max_inflight_messages_set(0)  # no limit
    if (account := credentials()) is not None:
        client.username_pw_set(*account)
    client.connect(*address, keepalive=30)
    deadline = time.monotonic() + PUBLISH_TIMEOUT_SECONDS
    try:
        while not client.is_connected():
            if time.monotonic() > deadline or client.loop(timeout=0.2) != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise ConnectionError("The MQTT broker did not accept the connection")
        with client.corked():  # one write for all
            infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        waiting = [info for info in infos if not info.is_published()]
        while waiting:
            if time.monotonic() > deadline or client.loop(timeout=0.2) != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise ConnectionError("The MQTT broker did not acknowledge an observation")
            waiting = [info for info in waiting if not info.is_published()]
    finally:
        client.disconnect()
    return len(messages)
