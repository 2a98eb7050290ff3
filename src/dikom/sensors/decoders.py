"""Payload decoders for LoRaWAN devices whose network server sends only the raw bytes.

A network server with a payload formatter sends the decoded values as JSON
(``decoded_payload`` of The Things Stack, ``object`` of ChirpStack) and dikom
takes them as they are. Without one, the uplink carries only the bytes
(``frm_payload`` / ``data``, base64); a device whose mapping names a decoder
(``properties.lorawan.decoder``) is then decoded here. Decoders are plugins
behind :data:`REGISTRY`: a function ``(payload, f_port) -> dict`` that raises
:class:`DecodeError` with a specific message for bytes it cannot read.

Shipped, each from the byte layout its maker documents:

``cayenne-lpp``
    Cayenne Low Power Payload, the generic format of many nodes (soil water
    tension probes with one analogue input per depth, weather stations): a
    sequence of (channel, type, value). Field names are the type and the
    channel, e.g. ``analog_in_30`` or ``temperature_1``. Convention here for
    tension probes: the channel is the depth in cm, the value in kPa (cbar).
``dragino-lse01``
    Dragino LSE01 soil moisture and EC sensor (11 bytes on port 2): battery,
    soil moisture (%), soil temperature (°C), conductivity (µS/cm).
``dragino-ldds75``
    Dragino LDDS75 ultrasonic distance sensor as a litter-bin fill-level
    sensor (port 2; 5 bytes, or 8 with temperature): battery and the distance
    from the lid in mm and cm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

Decoded = dict[str, Any]


class DecodeError(ValueError):
    """The bytes are not what the decoder reads; the message says what is wrong."""


@dataclass(frozen=True)
class Decoder:
    key: str
    label: Any  # a lazy translation
    decode: Callable[[bytes, int | None], Decoded]


REGISTRY: dict[str, Decoder] = {}


def register(key: str, label: Any) -> Callable[[Callable[[bytes, int | None], Decoded]], Callable[..., Decoded]]:
    def wrap(function: Callable[[bytes, int | None], Decoded]) -> Callable[[bytes, int | None], Decoded]:
        if key in REGISTRY:
            raise ValueError(f"decoder {key!r} registered twice")
        REGISTRY[key] = Decoder(key, label, function)
        return function

    return wrap


def choices() -> list[tuple[str, Any]]:
    return [(decoder.key, decoder.label) for decoder in sorted(REGISTRY.values(), key=lambda d: d.key)]


def decode(key: str, payload: bytes, f_port: int | None) -> Decoded:
    """Decode ``payload`` with the decoder ``key`` (DecodeError for an unknown key or unreadable bytes)."""
    decoder = REGISTRY.get(key)
    if decoder is None:
        raise DecodeError(f"unknown payload decoder {key!r} (known: {', '.join(sorted(REGISTRY))})")
    if not payload:
        raise DecodeError("the uplink carries no payload bytes")
    return decoder.decode(payload, f_port)


def _unsigned(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=False)


def _signed(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


# --- Cayenne LPP ---------------------------------------------------------------------------------------

# type -> (name, size in bytes, signed, resolution); GPS and the three-axis types are handled apart.
_LPP_SCALARS: dict[int, tuple[str, int, bool, float]] = {
    0: ("digital_in", 1, False, 1),
    1: ("digital_out", 1, False, 1),
    2: ("analog_in", 2, True, 0.01),
    3: ("analog_out", 2, True, 0.01),
    101: ("luminosity", 2, False, 1),
    102: ("presence", 1, False, 1),
    103: ("temperature", 2, True, 0.1),
    104: ("relative_humidity", 1, False, 0.5),
    115: ("barometric_pressure", 2, False, 0.1),
}
_LPP_AXES: dict[int, tuple[str, float]] = {113: ("accelerometer", 0.001), 134: ("gyrometer", 0.01)}
_LPP_GPS = 136


@register("cayenne-lpp", _("Cayenne LPP (generic: soil water tension per depth, weather stations)"))
def cayenne_lpp(payload: bytes, f_port: int | None) -> Decoded:
    values: Decoded = {}
    position = 0
    while position < len(payload):
        if position + 2 > len(payload):
            raise DecodeError(f"Cayenne LPP: byte {position} starts a value without its type")
        channel, kind = payload[position], payload[position + 1]
        position += 2
        if kind in _LPP_SCALARS:
            name, size, signed, resolution = _LPP_SCALARS[kind]
            chunk = payload[position : position + size]
            if len(chunk) < size:
                raise DecodeError(f"Cayenne LPP: {name} on channel {channel} is cut off")
            raw = _signed(chunk) if signed else _unsigned(chunk)
            value: Any = raw if resolution == 1 else round(raw * resolution, 4)
        elif kind in _LPP_AXES:
            name, resolution = _LPP_AXES[kind]
            size = 6
            chunk = payload[position : position + size]
            if len(chunk) < size:
                raise DecodeError(f"Cayenne LPP: {name} on channel {channel} is cut off")
            value = {
                axis: round(_signed(chunk[i : i + 2]) * resolution, 4) for axis, i in zip("xyz", (0, 2, 4), strict=True)
            }
        elif kind == _LPP_GPS:
            name, size = "gps", 9
            chunk = payload[position : position + size]
            if len(chunk) < size:
                raise DecodeError(f"Cayenne LPP: gps on channel {channel} is cut off")
            value = {
                "latitude": round(_signed(chunk[0:3]) * 0.0001, 4),
                "longitude": round(_signed(chunk[3:6]) * 0.0001, 4),
                "altitude": round(_signed(chunk[6:9]) * 0.01, 2),
            }
        else:
            raise DecodeError(f"Cayenne LPP: unknown data type {kind} on channel {channel} (byte {position - 1})")
        key = f"{name}_{channel}"
        if key in values:
            raise DecodeError(f"Cayenne LPP: {key} occurs twice")
        values[key] = value
        position += size
    return values


# --- Dragino ---------------------------------------------------------------------------------------------


def _battery_volts(payload: bytes) -> float:
    # the two top bits carry status flags; the rest is the voltage in mV
    return round((_unsigned(payload[0:2]) & 0x3FFF) / 1000, 3)


@register("dragino-lse01", _("Dragino LSE01 soil moisture and EC sensor"))
def dragino_lse01(payload: bytes, f_port: int | None) -> Decoded:
    if f_port not in (None, 2):
        raise DecodeError(f"Dragino LSE01: readings come on port 2, this uplink came on port {f_port}")
    if len(payload) != 11:
        raise DecodeError(f"Dragino LSE01: a reading has 11 bytes, this one {len(payload)}")
    flags = payload[10]
    values: Decoded = {
        "battery_v": _battery_volts(payload),
        "temperature_ds18b20": round(_signed(payload[2:4]) / 10, 2),
        "sensor_found": bool((flags >> 4) & 0x01),
        "interrupt": flags & 0x0F,
    }
    if (flags >> 7) & 0x01 == 0:
        values["soil_moisture_percent"] = round(_unsigned(payload[4:6]) / 100, 2)
        values["soil_temperature_c"] = round(_signed(payload[6:8]) / 100, 2)
        values["soil_conductivity_us_cm"] = _unsigned(payload[8:10])
    else:  # raw mode
        values["soil_dielectric_constant"] = round(_unsigned(payload[4:6]) / 10, 1)
        values["soil_moisture_raw"] = _unsigned(payload[6:8])
        values["soil_conductivity_raw"] = _unsigned(payload[8:10])
    return values


@register("dragino-ldds75", _("Dragino LDDS75 distance sensor (litter-bin fill level)"))
def dragino_ldds75(payload: bytes, f_port: int | None) -> Decoded:
    if f_port not in (None, 2):
        raise DecodeError(f"Dragino LDDS75: readings come on port 2, this uplink came on port {f_port}")
    if len(payload) not in (5, 8):
        raise DecodeError(f"Dragino LDDS75: a reading has 5 or 8 bytes, this one {len(payload)}")
    distance = _unsigned(payload[2:4])
    values: Decoded = {"battery_v": _battery_volts(payload), "interrupt": payload[4]}
    if len(payload) == 8:
        values["temperature_c"] = round(_signed(payload[5:7]) / 10, 1)
        values["sensor_found"] = bool(payload[7])
    if distance == 0:
        values["distance_status"] = "no sensor"
    elif distance < 20:
        values["distance_status"] = "invalid reading"
    else:
        values["distance_mm"] = distance
        values["distance_cm"] = round(distance / 10, 1)
    return values
