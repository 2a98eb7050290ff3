"""Live demo readings: the demo's simulated sensors keep publishing over MQTT while ``make run`` runs.

GENERATED DEMO DATA. Every Datastream of a demo Thing (``properties.demo = true``) gets a
new reading per round, continuing from its latest one — soil water tension (cbar) dries
slowly and drops after a simulated rain, litter-bin distances (cm) shrink as bins fill and
jump back when one is emptied, anything else varies a little. The readings are *published*
to ``v1.1/Datastreams(<id>)/Observations`` like a gateway would, so they reach dikom
through the broker and the MQTT listener (``sta_mqtt_ingest``), not through the database.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import orjson

from dikom.sensors.models import Datastream, Observation

BIN_DEPTH_CM = 100.0


def _next(unit: str, last: float | None, rng: random.Random) -> float:
    if unit == "cbar":
        if last is None:
            return round(rng.uniform(8, 25), 1)
        if rng.random() < 0.02:  # rain
            return 6.0
        return round(min(150.0, last * rng.uniform(1.0, 1.01) + 0.05), 1)
    if unit == "cm":
        if last is None or last < 10 or rng.random() < 0.01:  # emptied
            return round(BIN_DEPTH_CM - rng.uniform(0, 5))
        return round(max(0.0, last - rng.uniform(0, 1.5)), 1)
    base = 0.0 if last is None else last
    return round(base + rng.uniform(-0.5, 0.5), 2)


def demo_messages(now: dt.datetime, rng: random.Random) -> list[tuple[str, bytes]]:
    """One (topic, payload) per demo Datastream: the next simulated reading at ``now``."""
    messages = []
    streams = Datastream.objects.filter(thing__properties__demo=True).order_by("pk")
    for datastream in streams.only("pk", "unit_of_measurement"):
        latest: Any = (
            Observation.objects.filter(datastream_id=datastream.pk)
            .order_by("-phenomenon_time", "-pk")
            .values_list("result_number", flat=True)
            .first()
        )
        unit = str((datastream.unit_of_measurement or {}).get("symbol", ""))
        value = _next(unit, latest, rng)
        body = {"phenomenonTime": now.isoformat().replace("+00:00", "Z"), "result": value}
        messages.append((f"v1.1/Datastreams({datastream.pk})/Observations", orjson.dumps(body)))
    return messages
