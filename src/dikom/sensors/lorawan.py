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

Nothing a network server delivered is dropped: an uplink of a device the city
has not mapped yet, of a device without mapping, or whose payload cannot be
read is kept as a :class:`~dikom.sensors.models.HeldUplink` (answered 202)
until a city admin maps the device; :func:`replay_held` then stores them in
the order they arrived. A network server without payload formatter sends only
the bytes: the mapping may name a decoder of :mod:`dikom.sensors.decoders`
(``properties.lorawan.decoder``). Every uplink, stored or held, updates the
device's health (:class:`~dikom.sensors.models.LorawanDevice`: last seen,
frame counter, best signal, battery).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.sensors import actions, decoders
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
    decoded: dict[str, Any] | None
    f_cnt: int
    f_port: int | None
    device_id: str = ""
    rssi: float | None = None
    snr: float | None = None
    payload: bytes = b""
    battery_percent: float | None = None


@dataclass
class Stored:
    created: list[int] = field(default_factory=list)
    duplicate: bool = False
    unmapped: list[str] = field(default_factory=list)
    #: Set when the uplink could not be stored yet and was kept for the city admin.
    held: m.HeldUplink | None = None
    reason: str = ""


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


NO_DECODED = (
    "The uplink carries no decoded payload: configure a payload formatter (codec) for the device "
    "so that the network server sends the values as JSON, or choose a payload decoder for the device in dikom"
)
#: LoRaWAN's largest application payload is 242 bytes; anything longer is no uplink.
MAX_PAYLOAD_BYTES = 256


def _decoded(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return _object(value, "The decoded payload")


def _payload(value: Any, name: str) -> bytes:
    if value in (None, ""):
        return b""
    if not isinstance(value, str):
        raise UplinkError(f"{name} must be base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise UplinkError(f"{name} is not base64") from None
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise UplinkError(f"{name} has {len(raw)} bytes; a LoRaWAN uplink carries at most 242")
    return raw


def _require_content(uplink: Uplink) -> Uplink:
    if uplink.decoded is None and not uplink.payload:
        raise UplinkError(NO_DECODED)
    return uplink


def _percentage(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
        return float(value)
    return None


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
    return _require_content(
        Uplink(
            dev_eui=_eui(ids.get("dev_eui"), "end_device_ids.dev_eui"),
            device_id=str(ids.get("device_id") or "")[:100],
            time=_time(uplink.get("received_at") or body.get("received_at"), "received_at"),
            decoded=_decoded(uplink.get("decoded_payload")),
            f_cnt=_count(uplink.get("f_cnt"), "uplink_message.f_cnt"),
            f_port=_count(f_port, "uplink_message.f_port") if f_port is not None else None,
            rssi=rssi,
            snr=snr,
            payload=_payload(uplink.get("frm_payload"), "uplink_message.frm_payload"),
            battery_percent=_percentage(uplink.get("last_battery_percentage")),
        )
    )


def parse_chirpstack(body: Any, event: str | None) -> Uplink:
    """An ``up`` event of ChirpStack v4's HTTP integration (JSON encoding)."""
    if event is not None and event != "up":
        raise Ignored
    body = _object(body, "The event")
    info = _object(body.get("deviceInfo"), "deviceInfo")
    rssi, snr = _best_signal(body.get("rxInfo"), "rssi", "snr")
    f_port = body.get("fPort")
    return _require_content(
        Uplink(
            dev_eui=_eui(info.get("devEui"), "deviceInfo.devEui"),
            device_id=str(info.get("deviceName") or "")[:100],
            time=_time(body.get("time"), "time"),
            decoded=_decoded(body.get("object")),
            f_cnt=_count(body.get("fCnt"), "fCnt"),
            f_port=_count(f_port, "fPort") if f_port is not None else None,
            rssi=rssi,
            snr=snr,
            payload=_payload(body.get("data"), "data"),
        )
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


def _decoder_of(thing: m.Thing) -> str:
    config = (thing.properties or {}).get("lorawan")
    key = config.get("decoder") if isinstance(config, dict) else None
    return key if isinstance(key, str) else ""


def _values(thing: m.Thing, uplink: Uplink) -> dict[str, Any]:
    """The decoded payload: the network server's, or the device's decoder applied to the bytes."""
    if uplink.decoded is not None:
        return uplink.decoded
    key = _decoder_of(thing)
    if not key:
        raise UplinkError(NO_DECODED, 409)
    try:
        return decoders.decode(key, uplink.payload, uplink.f_port)
    except decoders.DecodeError as exc:
        raise UplinkError(f"The payload bytes {uplink.payload.hex()} cannot be decoded: {exc}", 422) from None


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
        values = _values(thing, uplink)
        stored = Stored(unmapped=sorted(set(values) - {p.split(".")[0] for p in mapping}))
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
        if uplink.payload:
            parameters["payload"] = uplink.payload.hex()
        when = uplink.time.isoformat().replace("+00:00", "Z")
        for path, datastream_id in sorted(mapping.items()):
            present, value = _lookup(values, path)
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
                f"it has {', '.join(sorted(values)) or 'no fields'}"
            )
    return stored


def set_mapping(thing: m.Thing, dev_eui: str, fields: dict[str, int], decoder: str = "") -> None:
    """Map a device onto ``thing`` (checked: a DevEUI, Datastreams of this Thing, the DevEUI unused in the city).

    ``decoder`` names a payload decoder for network servers that send only the bytes ("" for none).
    """
    eui = _eui(dev_eui, "DevEUI")
    if decoder and decoder not in decoders.REGISTRY:
        raise UplinkError(f"Unknown payload decoder {decoder!r} (known: {', '.join(sorted(decoders.REGISTRY))})")
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
        config: dict[str, Any] = {"devEui": eui, "fields": dict(fields)}
        if decoder:
            config["decoder"] = decoder
        row.properties = {**(row.properties or {}), "lorawan": config}
        row.save(update_fields=["properties", "updated_at"])
        thing.properties = row.properties


# --- Held uplinks and device health ---------------------------------------------------------------------

_BATTERY_VOLT_KEYS = ("battery_v", "BatV", "battery_voltage", "battery", "bat_v", "batt", "vbat")
_BATTERY_PERCENT_KEYS = ("battery_percent", "battery_level", "batteryLevel", "battery_pct")


def _battery(values: dict[str, Any] | None) -> tuple[float | None, float | None]:
    volts = percent = None
    for key in _BATTERY_VOLT_KEYS:
        value = (values or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 10:
            volts = float(value)
            break
    for key in _BATTERY_PERCENT_KEYS:
        percent = _percentage((values or {}).get(key))
        if percent is not None:
            break
    return volts, percent


def record_health(municipality: Municipality, uplink: Uplink) -> None:
    """Update the device's last-seen time, frame counter, signal and battery (the newest uplink wins)."""
    values = uplink.decoded
    if values is None and uplink.payload:
        thing = device_thing(municipality, uplink.dev_eui)
        key = _decoder_of(thing) if thing is not None else ""
        if key:
            try:
                values = decoders.decode(key, uplink.payload, uplink.f_port)
            except decoders.DecodeError:
                values = None
    volts, percent = _battery(values)
    percent = uplink.battery_percent if uplink.battery_percent is not None else percent
    for _attempt in range(2):
        try:
            with transaction.atomic():
                device, created = m.LorawanDevice.objects.select_for_update().get_or_create(
                    municipality=municipality,
                    dev_eui=uplink.dev_eui,
                    defaults={"last_seen": uplink.time, "device_id": uplink.device_id, "f_cnt": uplink.f_cnt},
                )
                device.uplinks += 1
                if created or uplink.time >= device.last_seen:
                    device.last_seen = uplink.time
                    device.f_cnt = uplink.f_cnt
                    device.device_id = uplink.device_id or device.device_id
                    device.rssi, device.snr = uplink.rssi, uplink.snr
                    if volts is not None:
                        device.battery_volts = volts
                    if percent is not None:
                        device.battery_percent = percent
                device.save()
            return
        except IntegrityError:
            continue  # another request created the row at the same moment: update it instead


def hold(municipality: Municipality, uplink: Uplink, source: str, reason: str) -> m.HeldUplink:
    """Keep an uplink that cannot be stored yet (a retried one is kept once)."""
    defaults = {
        "source": source,
        "device_id": uplink.device_id,
        "f_port": uplink.f_port,
        "payload": uplink.payload,
        "decoded": uplink.decoded,
        "rssi": uplink.rssi,
        "snr": uplink.snr,
        "reason": reason,
    }
    key = {"municipality": municipality, "dev_eui": uplink.dev_eui, "f_cnt": uplink.f_cnt, "received_at": uplink.time}
    try:
        with transaction.atomic():
            held, created = m.HeldUplink.objects.get_or_create(**key, defaults=defaults)
    except IntegrityError:
        held, created = m.HeldUplink.objects.get(**key), False
    if not created and held.stored_at is None and held.reason != reason:
        held.reason = reason
        held.save(update_fields=["reason"])
    return held


def receive(municipality: Municipality, uplink: Uplink, source: str) -> Stored:
    """Store an uplink, or hold it with the reason when it cannot be stored yet; records the device's health."""
    record_health(municipality, uplink)
    try:
        return store_uplink(municipality, uplink)
    except UplinkError as exc:
        return Stored(held=hold(municipality, uplink, source, exc.message), reason=exc.message)


def _from_held(held: m.HeldUplink) -> Uplink:
    return Uplink(
        dev_eui=held.dev_eui,
        time=held.received_at,
        decoded=held.decoded,
        f_cnt=held.f_cnt,
        f_port=held.f_port,
        device_id=held.device_id,
        rssi=held.rssi,
        snr=held.snr,
        payload=bytes(held.payload or b""),
    )


@dataclass
class Replayed:
    stored: int = 0
    still_held: int = 0
    observations: int = 0


def replay_held(municipality: Municipality, dev_eui: str) -> Replayed:
    """Store the held uplinks of one device in the order they arrived (after its mapping was set)."""
    eui = _eui(dev_eui, "DevEUI")
    result = Replayed()
    pending = m.HeldUplink.objects.filter(municipality=municipality, dev_eui=eui, stored_at__isnull=True)
    for held in pending.order_by("received_at", "pk"):
        try:
            stored = store_uplink(municipality, _from_held(held))
        except UplinkError as exc:
            result.still_held += 1
            if held.reason != exc.message:
                held.reason = exc.message
                held.save(update_fields=["reason"])
            continue
        held.stored_at = timezone.now()
        held.save(update_fields=["stored_at"])
        result.stored += 1
        result.observations += len(stored.created)
    return result


def open_held(municipality: Municipality) -> list[dict[str, Any]]:
    """Per DevEUI with held uplinks: count, first and last arrival, the latest reason (for the admin page)."""
    rows: dict[str, dict[str, Any]] = {}
    pending = m.HeldUplink.objects.filter(municipality=municipality, stored_at__isnull=True).order_by("received_at")
    for held in pending.only("dev_eui", "device_id", "received_at", "reason", "payload", "decoded"):
        row = rows.setdefault(
            held.dev_eui,
            {"dev_eui": held.dev_eui, "device_id": held.device_id, "count": 0, "first": held.received_at},
        )
        row["count"] += 1
        row["last"] = held.received_at
        row["reason"] = held.reason
        row["device_id"] = held.device_id or row["device_id"]
        row["fields"] = sorted(held.decoded) if isinstance(held.decoded, dict) else []
        row["payload"] = bytes(held.payload or b"").hex()
    return list(rows.values())
