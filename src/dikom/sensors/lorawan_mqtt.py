"""LoRaWAN uplinks from The Things Stack's MQTT server (instead of, or besides, its webhooks).

The Things Stack (v3) publishes every uplink of an application on
``v3/<application-id>@<tenant-id>/devices/<device-id>/up`` with the same JSON
as its webhooks; the MQTT user name is ``<application-id>@<tenant-id>`` and the
password an API key of the application. Each source is configured per city in
``DIKOM_LORAWAN_MQTT_SOURCES`` as ``<city>=<mqtt or mqtts URL>``, the ``@`` of
the user name written ``%40``::

    fulda=mqtts://fulda-baeume%40ttn:NNSXS.XXXX@eu1.cloud.thethings.network:8883

``manage.py lorawan_mqtt_ingest`` (started by ``manage.py serve`` when sources
are configured) subscribes to the uplinks of each source with QoS 1 and a
persistent session, so the server keeps what arrives while dikom is down, and
stores them like webhook uplinks: mapped devices become Observations, the rest
is held for the city admin (``lorawan.receive``). A redelivered uplink is
recognised by device, frame counter and time.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import orjson

from dikom.municipalities.models import Municipality
from dikom.sensors import lorawan
from dikom.sensors.mqtt_queue import QueuedSubscriber

logger = logging.getLogger(__name__)

TOPIC = re.compile(r"^v3/[^/]+/devices/[^/]+/up$")
MAX_PAYLOAD = lorawan.MAX_BODY


class SourceError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    city: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @property
    def subscription(self) -> str:
        # The Things Stack shows one application per connection; name it when the user name does.
        return f"v3/{self.username}/devices/+/up" if self.username else "v3/+/devices/+/up"


def parse_source(text: str) -> Source:
    """``<city>=mqtt[s]://[user[:password]@]host[:port]`` (SourceError with the reason)."""
    city, sep, url = text.partition("=")
    if not sep or not city.strip() or not url.strip():
        raise SourceError(f"{text!r}: expected <city>=<mqtt or mqtts URL>")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise SourceError(f"{city}: {parts.scheme or 'no'} scheme; use mqtt:// or mqtts:// with a host")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise SourceError(f"{city}: the port is not a number") from None
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return Source(city.strip(), parts.hostname, port, parts.scheme == "mqtts", username, password)


@dataclass
class Outcome:
    stored: int = 0
    held: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


def store_message(municipality: Municipality, source: str, topic: str, payload: bytes, outcome: Outcome) -> None:
    """Store or hold one uplink message; anything malformed is logged and counted, never raised."""
    if not TOPIC.match(topic):
        return
    if len(payload) > MAX_PAYLOAD:
        outcome.refused.append(f"{topic}: payload larger than {MAX_PAYLOAD} bytes")
        return
    try:
        body: Any = orjson.loads(payload)
        uplink = lorawan.parse_tts(body)
    except orjson.JSONDecodeError:
        outcome.refused.append(f"{topic}: not JSON")
        return
    except lorawan.Ignored:
        return
    except lorawan.UplinkError as exc:
        outcome.refused.append(f"{topic}: {exc.message}")
        return
    stored = lorawan.receive(municipality, uplink, source)
    if stored.held is not None:
        outcome.held += 1
    elif stored.duplicate:
        outcome.duplicates += 1
    else:
        outcome.stored += 1


class Listener(QueuedSubscriber):
    """One subscription per source; messages are stored by the caller's thread (``drain``)."""

    def __init__(self, source: Source, client_id: str | None = None) -> None:
        import paho.mqtt.client as mqtt

        municipality = Municipality.objects.filter(slug=source.city).first()
        if municipality is None:
            raise SourceError(f"{source.city}: no such city")
        self.municipality = municipality
        self.source = source
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"dikom-lorawan-{source.city}",
            clean_session=False,
            protocol=mqtt.MQTTv311,  # The Things Stack's MQTT server speaks 3.1.1
            manual_ack=True,
        )
        if source.username:
            self.client.username_pw_set(source.username, source.password)
        if source.tls:
            self.client.tls_set()
        self.client.on_connect = lambda client, *_: client.subscribe(source.subscription, qos=1)
        self.receive_into_queue()
        self.client.connect(source.host, source.port, keepalive=30)
        self.client.loop_start()

    def drain(self, wait: float = 1.0) -> Outcome:
        outcome = Outcome()

        def store(block: list[tuple[str, bytes]]) -> None:
            for topic, payload in block:
                store_message(self.municipality, "tts-mqtt", topic, payload, outcome)

        # One uplink at a time, acknowledged to the network server only once stored, held or refused for good:
        # an uplink received when the database failed is delivered again after a restart (persistent session).
        self.store_arrived(store, wait, batch=1)
        for reason in outcome.refused:
            logger.warning("LoRaWAN uplink over MQTT refused (%s): %s", self.source.city, reason)
        return outcome
