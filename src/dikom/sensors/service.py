"""The sensors app's public surface for other apps (street trees, open data, staff views).

Keep it small: everything else in ``dikom.sensors`` is private to the app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from dikom.municipalities.models import Municipality
from dikom.sensors.models import Datastream, Observation, Thing


def datastreams_of(municipality: Municipality) -> QuerySet[Datastream]:
    """The city's datastreams with their Thing, Sensor and ObservedProperty loaded."""
    return Datastream.objects.filter(municipality=municipality).select_related("thing", "sensor", "observed_property")


def observations_between(datastream: Datastream, start: Any, end: Any) -> QuerySet[Observation]:
    """Readings of ``datastream`` with ``start <= phenomenonTime < end``, oldest first (uses the index)."""
    return Observation.objects.filter(
        datastream=datastream, phenomenon_time__gte=start, phenomenon_time__lt=end
    ).order_by("phenomenon_time", "pk")


def latest_observation(datastream: Datastream) -> Observation | None:
    return Observation.objects.filter(datastream=datastream).order_by("-phenomenon_time", "-pk").first()


@dataclass(frozen=True)
class Reading:
    datastream_id: int
    time: dt.datetime
    value: float
    unit_symbol: str


def latest_readings(datastream_ids: Iterable[int]) -> dict[int, Reading]:
    """The newest numeric reading of each datastream (one query; datastreams without a reading are left out)."""
    ids = list(datastream_ids)
    if not ids:
        return {}
    newest = Observation.objects.filter(datastream=OuterRef("pk")).order_by("-phenomenon_time", "-pk")
    rows = (
        Datastream.objects.filter(pk__in=ids)
        .annotate(
            last_time=Subquery(newest.values("phenomenon_time")[:1]),
            last_value=Subquery(newest.values("result_number")[:1]),
        )
        .values_list("pk", "last_time", "last_value", "unit_of_measurement")
    )
    out = {}
    for pk, time, value, unit in rows:
        if time is None or value is None:
            continue
        symbol = str((unit or {}).get("symbol", "")) if isinstance(unit, dict) else ""
        out[pk] = Reading(pk, time, float(value), symbol)
    return out


def soil_tension_datastreams(thing_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per Thing, its datastreams of soil water tension (centibar or kilopascal), for the trees' watering need."""
    out: dict[int, list[int]] = {}
    rows = Datastream.objects.filter(thing_id__in=list(thing_ids)).values_list(
        "pk", "thing_id", "observed_property__definition", "observed_property__name", "unit_of_measurement"
    )
    for pk, thing_id, definition, name, unit in rows:
        symbol = str((unit or {}).get("symbol", "")).lower() if isinstance(unit, dict) else ""
        text = f"{definition} {name}".lower()
        if symbol in TENSION_UNITS and ("tension" in text or "spannung" in text):
            out.setdefault(thing_id, []).append(pk)
    return out


TENSION_UNITS = {"cbar", "kpa"}


def create_thing(data: dict[str, Any], municipality: Municipality) -> Thing:
    """Deep insert of a Thing (STA JSON) for ``municipality``, as ``POST /Things`` does."""
    from dikom.sensors import actions
    from dikom.sensors.entities import TYPES

    thing: Thing = actions.create_entity(TYPES["Thing"], data, municipality)
    return thing


def create_observations(blocks: list[dict[str, Any]], municipality: Municipality) -> list[int]:
    """``CreateObservations`` for ``municipality`` (the dataArray form); returns one id per row (a repeated
    reading's is the stored Observation's)."""
    from dikom.sensors import actions

    return actions.create_observations(blocks, municipality)


def demo_tree_things(municipality: Municipality) -> list[tuple[Thing, float, float]]:
    """The city's generated demo trees in the SensorThings store, with the point of their first Location."""
    out = []
    for thing in Thing.objects.filter(municipality=municipality, properties__demo=True).prefetch_related("locations"):
        locations = list(thing.locations.all())
        point = (locations[0].location or {}).get("coordinates") if locations else None
        if isinstance(point, list) and len(point) >= 2 and "species" in (thing.properties or {}):
            out.append((thing, float(point[0]), float(point[1])))
    return out


def things_for_publication(municipality: Municipality) -> list[Thing]:
    """The city's Things with their Datastreams (prefetched), for the staff's publication page."""
    return list(Thing.objects.filter(municipality=municipality).prefetch_related("datastreams").order_by("name", "pk"))


def set_publication(municipality: Municipality, things: set[int], datastreams: set[int]) -> int:
    """Publish exactly these Things and Datastreams of the city (ids of other cities are ignored)."""
    from dikom.sensors import actions

    return actions.set_publication(municipality, things, datastreams)


def published_datastreams(ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that anonymous readers may see (the Datastream and its Thing are published)."""
    return set(
        Datastream.objects.filter(pk__in=list(ids), published=True, thing__published=True).values_list("pk", flat=True)
    )


# --- LoRaWAN devices (staff views) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRow:
    device: Any  # LorawanDevice
    thing: Thing | None
    decoder: str
    decoder_label: Any
    silent_hours: float


def lorawan_devices(municipality: Municipality, now: dt.datetime) -> list[DeviceRow]:
    """The city's LoRaWAN devices with their health and the Thing they are mapped onto (if any)."""
    from dikom.sensors import decoders, lorawan
    from dikom.sensors.models import LorawanDevice

    labels = dict(decoders.choices())
    things = {
        str((t.properties or {}).get("lorawan", {}).get("devEui", "")).upper(): t
        for t in Thing.objects.filter(municipality=municipality, properties__has_key="lorawan")
    }
    rows = []
    for device in LorawanDevice.objects.filter(municipality=municipality).order_by("-last_seen"):
        thing = things.get(device.dev_eui)
        decoder = lorawan._decoder_of(thing) if thing is not None else ""
        silent = (now - device.last_seen).total_seconds() / 3600
        rows.append(DeviceRow(device, thing, decoder, labels.get(decoder, ""), silent))
    return rows


def held_uplinks(municipality: Municipality) -> list[dict[str, Any]]:
    """Per device: the uplinks kept because they could not be stored yet (count, dates, reason, fields seen)."""
    from dikom.sensors import lorawan

    return lorawan.open_held(municipality)


def decoder_choices() -> list[tuple[str, Any]]:
    from dikom.sensors import decoders

    return decoders.choices()


def payload_fields(municipality: Municipality, dev_eui: str, decoder: str) -> list[str]:
    """The value names of the device's newest held uplink: decoded by the network server or by ``decoder``."""
    from dikom.sensors import decoders
    from dikom.sensors.models import HeldUplink

    held = HeldUplink.objects.filter(municipality=municipality, dev_eui=dev_eui, stored_at__isnull=True).last()
    if held is None:
        return []
    values: Any = held.decoded
    if values is None and decoder and held.payload:
        try:
            values = decoders.decode(decoder, bytes(held.payload), held.f_port)
        except decoders.DecodeError:
            values = None
    names: list[str] = []
    for key, value in (values or {}).items():
        if isinstance(value, dict):
            names += [f"{key}.{inner}" for inner, v in value.items() if not isinstance(v, dict | list)]
        elif not isinstance(value, list):
            names.append(key)
    return sorted(names)


def map_lorawan_device(
    municipality: Municipality, thing_id: int, dev_eui: str, fields: dict[str, int], decoder: str
) -> Any:
    """Map the device onto the city's Thing and store its held uplinks (raises lorawan.UplinkError)."""
    from dikom.sensors import lorawan

    thing = Thing.objects.filter(municipality=municipality, pk=thing_id).first()
    if thing is None:
        raise lorawan.UplinkError(f"No Thing {thing_id} in this city", 404)
    lorawan.set_mapping(thing, dev_eui, fields, decoder)
    return lorawan.replay_held(municipality, dev_eui)


def things_with_datastreams(municipality: Municipality) -> QuerySet[Thing]:
    return Thing.objects.filter(municipality=municipality).prefetch_related("datastreams").order_by("name", "pk")


@dataclass(frozen=True)
class DatastreamHealth:
    datastream_id: int
    name: str
    thing_name: str
    last_time: dt.datetime | None
    last_value: float | None
    unit_symbol: str
    #: The datastream reports a battery level (its name or observed property says battery/Batterie).
    is_battery: bool


BATTERY_WORDS = ("battery", "batterie", "akku")


def datastream_health(municipality: Municipality) -> list[DatastreamHealth]:
    """Every datastream of the city with its newest reading (one query), for the staff's alerts."""
    newest = Observation.objects.filter(datastream=OuterRef("pk")).order_by("-phenomenon_time", "-pk")
    rows = (
        Datastream.objects.filter(municipality=municipality)
        .annotate(
            last_time=Subquery(newest.values("phenomenon_time")[:1]),
            last_value=Subquery(newest.values("result_number")[:1]),
        )
        .order_by("thing__name", "name", "pk")
        .values_list(
            "pk", "name", "thing__name", "last_time", "last_value", "unit_of_measurement", "observed_property__name"
        )
    )
    out = []
    for pk, name, thing_name, time, value, unit, prop in rows:
        symbol = str((unit or {}).get("symbol", "")) if isinstance(unit, dict) else ""
        words = f"{name} {prop}".lower()
        out.append(
            DatastreamHealth(
                pk,
                name,
                thing_name,
                time,
                float(value) if value is not None else None,
                symbol,
                any(word in words for word in BATTERY_WORDS),
            )
        )
    return out


def readings_export(
    municipality: Municipality,
    datastream_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    fmt: str,
    decimal_comma: bool = False,
) -> tuple[int, Iterator[bytes]]:
    """A streamed export of the city's readings (``export.py``): the number of datastreams and the file's pieces.

    ``fmt`` is ``csv`` or ``json``; ids of another city's datastreams are left out.
    """
    from dikom.sensors import export

    streams = export.streams_info(municipality, datastream_ids)
    rows = export.export_rows(municipality, streams, start, end)
    if fmt == "json":
        return len(streams), export.json_chunks(municipality, streams, start, end, rows)
    return len(streams), export.csv_chunks(rows, decimal_comma)
