"""Entities as SensorThings JSON, with self and navigation links."""

from __future__ import annotations

from typing import Any

from django.db import models

from dikom.sensors.entities import TYPES, EntityType


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def interval(start: Any, end: Any) -> str | None:
    if start is None:
        return None
    if end is None:
        return iso(start)
    return f"{iso(start)}/{iso(end)}"


def self_link(base: str, etype: EntityType, pk: int) -> str:
    return f"{base}{etype.plural}({pk})"


def entity_json(etype: EntityType, obj: models.Model, base: str, select: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wanted = set(select) if select else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    if want("id") or want("@iot.id"):
        out["@iot.id"] = obj.pk
    link = self_link(base, etype, obj.pk)
    if wanted is None or "@iot.selfLink" in wanted:
        out["@iot.selfLink"] = link
    for name, field in etype.props.items():
        if want(name):
            value = getattr(obj, field)
            if name in ("resultTime", "time"):
                value = iso(value)
            out[name] = value
    for name, (start, end) in etype.intervals.items():
        if want(name):
            out[name] = interval(getattr(obj, start), getattr(obj, end))
    if etype.name == "HistoricalLocation" and want("time"):
        out["time"] = iso(obj.time)  # type: ignore[attr-defined]
    for name in etype.navs:
        if wanted is None or name in wanted:
            out[f"{name}@iot.navigationLink"] = f"{link}/{name}"
    return out


__all__ = ["TYPES", "entity_json", "interval", "iso", "self_link"]
