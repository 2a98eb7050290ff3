"""LoRaWAN uplinks from The Things Stack (v3) and ChirpStack (v4) webhooks, stored as Observations.

A network server posts every uplink of a city's devices to
``/sta/lorawan/<city>/tts`` or ``/sta/lorawan/<city>/chirpstack`` with an API
key of that city (scope ``sensors:write``). The device is found by its DevEUI
among the city's Things, whose ``properties`` carry the mapping::

    {"lorawan": {"devEui": "70B3D57ED005A1B2",
                 "fields": {"soil_moisture": 41, "battery": 42, "sensors.depth_30": 43}}}

Each key of ``fields`` names a value in the decoded payload (dots walk into
nested objects), each value the ``@iot.id`` of one of the Thing's own
Datastreams. Staff set it with a PATCH of the Thing (SensorThings API) or in
the admin. Every mapped value becomes one Observation through
``actions.create_entity`` (the validation and MQTT notification of
``POST /Observations``); its ``phenomenonTime`` is the uplink's reception
time, its ``parameters`` keep devEui, fCnt, fPort and the best RSSI/SNR.

A retried webhook creates nothing twice: an uplink whose device, frame
counter and time are already stored is answered as a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from dikom.municipalities.models import Municipality
from dikom.sensors import actions
from dikom.sensors import models as m
from dikom.sensors.entities import TYPES

MAX_BODY = 64 * 1024
_EUI = re.compile(r"^[0-9A-F]{16}$")
#: The Things Stack's other message types on a webhook: acknowledged and ignored.
TTS_OTHER_MESSAGES = frozenset(
    {
        "join_accept",
        "downlink_ack",
        "downlink_nack",
        "downlink_sent",
        "downlink_failed",
        "downlink_queued",
        "downlink_queue_invalidated",
        "location_solved",
        "service_data",
    }
)


class UplinkError(Exception):
    """The body is no uplink that can be stored; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Ignored(Exception):
    """A message of another type than an uplink (join, status, ack): acknowledged, nothing stored."""


@dataclass
class Uplink:
    dev_eui: str
    time: dt.datetime
    decoded: dict[str, Any]
    f_cnt: int
    f_port: int | None
    device_id: str = ""
    rssi: float | None = None
    snr: float | None = None


@dataclass
class Stored:
    created: list[int] = field(default_factory=list)
    duplicate: bool = False
    unmapped: list[str] = field(default_factory=list)


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UplinkError(f"{name} must be a JSON object")
    return value


def _eui(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise UplinkError(f"{name} is missing")
    text = value.replace("-", "").replace(":", "").strip().upper()
    if not _EUI.match(text):
        # ChirpStack's protobuf JSON may carry it base64-encoded
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 8:
            raise UplinkError(f"{name} is no DevEUI (16 hexadecimal digits): {value!r}")
        text = raw.hex().upper()
    return text


def _time(value: Any, name: str) -> dt.datetime:
    try:
        return actions._time(value, name)
    except actions.StaError as exc:
        raise UplinkError(exc.message) from None


def _count(value: Any, name: str) -> int:
    # protobuf JSON omits zero values and may write 64-bit numbers as strings
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UplinkError(f"{name} must be a non-negative integer")
    return value


def _best_signal(rx: Any, rssi_key: str, snr_key: str) -> tuple[float | None, float | None]:
    if not isinstance(rx, list):
        return None, None
    rssi = [g[rssi_key] for g in rx if isinstance(g, dict) and isinstance(g.get(rssi_key), int | float)]
    snr = [g[snr_key] for g in rx if isinstance(g, dict) and isinstance(g.get(snr_key), int | float)]
    return (max(rssi) if rssi else None), (max(snr) if snr else None)


def _decoded(value: Any) -> dict[str, Any]:
    if value is None:
        raise UplinkError(
            "The uplink carries no decoded payload: configure a payload formatter (codec) for the device "
            "so that the network server sends the values as JSON"
        )
    return _object(value, "The decoded payload")


def parse_tts(body: Any) -> Uplink:
    """An uplink message of The Things Stack v3 (``end_device_ids``, ``uplink_message``)."""
    body = _object(body, "The message")
    if "uplink_message" not in body:
        if TTS_OTHER_MESSAGES & body.keys():
            raise Ignored
        raise UplinkError("The message has no uplink_message")
    ids = _object(body.get("end_device_ids"), "end_device_ids")
    uplink = _object(body["uplink_message"], "uplink_message")
    rssi, snr = _best_signal(uplink.get("rx_metadata"), "rssi", "snr")
    f_port = uplink.get("f_port")
    return Uplink(
        dev_eui=_eui(ids.get("dev_eui"), "end_device_ids.dev_eui"),
        device_id=str(ids.get("device_id") or ""),
        time=_time(uplink.get("received_at") or body.get("received_at"), "received_at"),
        decoded=_decoded(uplink.get("decoded_payload")),
        f_cnt=_count(uplink.get("f_cnt"), "uplink_message.f_cnt"),
        f_port=_count(f_port, "uplink_message.f_port") if f_port is not None else None,
        rssi=rssi,
        snr=snr,
    )


def parse_chirpstack(body: Any, event: str | None) -> Uplink:
    """An ``up`` event of ChirpStack v4's HTTP integration (JSON encoding)."""
    if event is not None and event != "up":
        raise Ignored
    body = _object(body, "The event")
    info = _object(body.get("deviceInfo"), "deviceInfo")
    rssi, snr = _best_signal(body.get("rxInfo"), "rssi", "snr")
    f_port = body.get("fPort")
    return Uplink(
        dev_eui=_eui(info.get("devEui"), "deviceInfo.devEui"),
        device_id=str(info.get("deviceName") or ""),
        time=_time(body.get("time"), "time"),
        decoded=_decoded(body.get("object")),
        f_cnt=_count(body.get("fCnt"), "fCnt"),
        f_port=_count(f_port, "fPort") if f_port is not None else None,
        rssi=rssi,
        snr=snr,
    )


def _lookup(decoded: dict[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = decoded
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def device_thing(municipality: Municipality, dev_eui: str) -> m.Thing | None:
    """The city's Thing whose ``properties.lorawan.devEui`` is this DevEUI (any case), or None."""
    candidates = m.Thing.objects.filter(municipality=municipality, properties__lorawan__devEui__iexact=dev_eui)
    return candidates.order_by("pk").first()


def _mapping(thing: m.Thing) -> dict[str, int]:
    config = (thing.properties or {}).get("lorawan")
    fields = config.get("fields") if isinstance(config, dict) else None
    if not isinstance(fields, dict) or not fields:
        raise UplinkError(f"Thing {thing.pk} maps no payload field to a Datastream (properties.lorawan.fields)", 409)
    mapping: dict[str, int] = {}
    for name, target in fields.items():
        pk = target.get("@iot.id") if isinstance(target, dict) else target
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
            raise UplinkError(f"properties.lorawan.fields.{name} of Thing {thing.pk} is no Datastream @iot.id", 409)
        mapping[name] = pk
    own = set(thing.datastreams.filter(pk__in=mapping.values()).values_list("pk", flat=True))
    foreign = sorted(name for name, pk in mapping.items() if pk not in own)
    if foreign:
        raise UplinkError(
            f"properties.lorawan.fields {', '.join(foreign)} of Thing {thing.pk} name no Datastream of this Thing", 409
        )
    return mapping


def store_uplink(municipality: Municipality, uplink: Uplink) -> Stored:
    """Store the mapped values of one uplink as Observations of the city's device (all or nothing)."""
    with transaction.atomic():
        thing = device_thing(municipality, uplink.dev_eui)
        if thing is None:
            raise UplinkError(f"No device with DevEUI {uplink.dev_eui} in this city", 404)
        # serialises concurrent retries of one device's uplink
        m.Thing.objects.select_for_update().filter(pk=thing.pk).first()
        mapping = _mapping(thing)
        stored = Stored(unmapped=sorted(set(uplink.decoded) - {p.split(".")[0] for p in mapping}))
        seen = m.Observation.objects.filter(
            datastream_id__in=mapping.values(),
            phenomenon_time=uplink.time,
            parameters__lorawan__devEui=uplink.dev_eui,
            parameters__lorawan__fCnt=uplink.f_cnt,
        )
        if seen.exists():
            stored.duplicate = True
            return stored
        parameters: dict[str, Any] = {"devEui": uplink.dev_eui, "fCnt": uplink.f_cnt}
        if uplink.f_port is not None:
            parameters["fPort"] = uplink.f_port
        if uplink.device_id:
            parameters["deviceId"] = uplink.device_id
        if uplink.rssi is not None:
            parameters["rssi"] = uplink.rssi
        if uplink.snr is not None:
            parameters["snr"] = uplink.snr
        when = uplink.time.isoformat().replace("+00:00", "Z")
        for path, datastream_id in sorted(mapping.items()):
            present, value = _lookup(uplink.decoded, path)
            if not present or value is None:
                continue
            body = {
                "phenomenonTime": when,
                "resultTime": when,
                "result": value,
                "parameters": {"lorawan": parameters},
                "Datastream": {"@iot.id": datastream_id},
            }
            try:
                observation = actions.create_entity(TYPES["Observation"], body, municipality)
            except actions.StaError as exc:
                raise UplinkError(f"{path}: {exc.message}", exc.status) from None
            stored.created.append(int(observation.pk))
        if not stored.created:
            raise UplinkError(
                f"The decoded payload has none of the mapped fields ({', '.join(sorted(mapping))}); "
                f"it has {', '.join(sorted(uplink.decoded)) or 'no fields'}"
            )
    return stored


def set_mapping(thing: m.Thing, dev_eui: str, fields: dict[str, int]) -> None:
    """Map a device onto ``thing`` (checked: a DevEUI, Datastreams of this Thing, the DevEUI unused in the city)."""
    eui = _eui(dev_eui, "DevEUI")
    if not fields or not all(0 < pk < 2**63 for pk in fields.values()):
        raise UplinkError("Name at least one payload field and its Datastream (a positive @iot.id)")
    other = device_thing(thing.municipality, eui)
    if other is not None and other.pk != thing.pk:
        raise UplinkError(f"Thing {other.pk} of this city already has the DevEUI {eui}", 409)
    own = set(thing.datastreams.values_list("pk", flat=True))
    foreign = sorted(name for name, pk in fields.items() if pk not in own)
    if foreign:
        raise UplinkError(f"{', '.join(foreign)}: no Datastream of Thing {thing.pk}")
    with transaction.atomic():
        row = m.Thing.objects.select_for_update().get(pk=thing.pk)
        row.properties = {**(row.properties or {}), "lorawan": {"devEui": eui, "fields": dict(fields)}}
        row.save(update_fields=["properties", "updated_at"])
        thing.properties = row.properties
