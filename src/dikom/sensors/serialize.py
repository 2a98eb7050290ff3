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


#: The columns ``observations_json`` reads (in this order), instead of whole model instances.
OBSERVATION_COLUMNS = (
    "pk",
    "result_time",
    "result",
    "result_quality",
    "parameters",
    "phenomenon_time",
    "phenomenon_time_end",
    "valid_time_start",
    "valid_time_end",
)


def observations_json(rows: list[tuple[Any, ...]], base: str) -> list[dict[str, Any]]:
    """Observations (rows of ``OBSERVATION_COLUMNS``) as ``entity_json`` writes them without ``$select``: a
    page of a time window is the API's most frequent answer, and this skips a model instance and the
    generic property loop per row (``test_sta_api`` compares both)."""
    prefix = f"{base}{TYPES['Observation'].plural}("
    out = []
    for pk, result_time, result, quality, parameters, start, end, valid_start, valid_end in rows:
        link = f"{prefix}{pk})"
        out.append(
            {
                "@iot.id": pk,
                "@iot.selfLink": link,
                "resultTime": iso(result_time),
                "result": result,
                "resultQuality": quality,
                "parameters": parameters,
                "phenomenonTime": interval(start, end),
                "validTime": interval(valid_start, valid_end),
                "Datastream@iot.navigationLink": f"{link}/Datastream",
                "FeatureOfInterest@iot.navigationLink": f"{link}/FeatureOfInterest",
            }
        )
    return out


__all__ = ["OBSERVATION_COLUMNS", "TYPES", "entity_json", "interval", "iso", "observations_json", "self_link"]
