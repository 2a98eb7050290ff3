"""How the STA entity types map onto the models: properties, navigation properties, their ORM names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dikom.sensors import models as m


@dataclass(frozen=True)
class Nav:
    target: str  # entity type name
    orm: str  # ORM relation name on the source model
    many: bool
    reverse: str  # the navigation property pointing back


@dataclass(frozen=True)
class EntityType:
    name: str
    plural: str
    model: Any  # the model class
    # STA property -> ORM field; intervals map to (start, end)
    props: dict[str, str]
    navs: dict[str, Nav] = field(default_factory=dict)
    intervals: dict[str, tuple[str, str]] = field(default_factory=dict)
    geometry: str | None = None  # the STA property holding GeoJSON
    required: tuple[str, ...] = ()
    required_navs: tuple[str, ...] = ()


TYPES: dict[str, EntityType] = {}


def _add(t: EntityType) -> None:
    TYPES[t.name] = t


_add(
    EntityType(
        "Thing",
        "Things",
        m.Thing,
        {"name": "name", "description": "description", "properties": "properties"},
        {
            "Locations": Nav("Location", "locations", True, "Things"),
            "HistoricalLocations": Nav("HistoricalLocation", "historical_locations", True, "Thing"),
            "Datastreams": Nav("Datastream", "datastreams", True, "Thing"),
        },
        required=("name", "description"),
    )
)
_add(
    EntityType(
        "Location",
        "Locations",
        m.Location,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "location": "location",
            "properties": "properties",
        },
        {
            "Things": Nav("Thing", "things", True, "Locations"),
            "HistoricalLocations": Nav("HistoricalLocation", "historical_locations", True, "Locations"),
        },
        geometry="location",
        required=("name", "description", "encodingType", "location"),
    )
)
_add(
    EntityType(
        "HistoricalLocation",
        "HistoricalLocations",
        m.HistoricalLocation,
        {"time": "time"},
        {
            "Thing": Nav("Thing", "thing", False, "HistoricalLocations"),
            "Locations": Nav("Location", "locations", True, "HistoricalLocations"),
        },
        required=("time",),
        required_navs=("Thing",),
    )
)
_add(
    EntityType(
        "Sensor",
        "Sensors",
        m.Sensor,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "metadata": "metadata",
            "properties": "properties",
        },
        {"Datastreams": Nav("Datastream", "datastreams", True, "Sensor")},
        required=("name", "description", "encodingType", "metadata"),
    )
)
_add(
    EntityType(
        "ObservedProperty",
        "ObservedProperties",
        m.ObservedProperty,
        {"name": "name", "definition": "definition", "description": "description", "properties": "properties"},
        {"Datastreams": Nav("Datastream", "datastreams", True, "ObservedProperty")},
        required=("name", "definition", "description"),
    )
)
_add(
    EntityType(
        "Datastream",
        "Datastreams",
        m.Datastream,
        {
            "name": "name",
            "description": "description",
            "observationType": "observation_type",
            "unitOfMeasurement": "unit_of_measurement",
            "observedArea": "observed_area",
            "properties": "properties",
        },
        {
            "Thing": Nav("Thing", "thing", False, "Datastreams"),
            "Sensor": Nav("Sensor", "sensor", False, "Datastreams"),
            "ObservedProperty": Nav("ObservedProperty", "observed_property", False, "Datastreams"),
            "Observations": Nav("Observation", "observations", True, "Datastream"),
        },
        intervals={
            "phenomenonTime": ("phenomenon_time_start", "phenomenon_time_end"),
            "resultTime": ("result_time_start", "result_time_end"),
        },
        required=("name", "description", "observationType", "unitOfMeasurement"),
        required_navs=("Thing", "Sensor", "ObservedProperty"),
    )
)
_add(
    EntityType(
        "Observation",
        "Observations",
        m.Observation,
        {
            "resultTime": "result_time",
            "result": "result",
            "resultQuality": "result_quality",
            "parameters": "parameters",
        },
        {
            "Datastream": Nav("Datastream", "datastream", False, "Observations"),
            "FeatureOfInterest": Nav("FeatureOfInterest", "feature_of_interest", False, "Observations"),
        },
        intervals={
            "phenomenonTime": ("phenomenon_time", "phenomenon_time_end"),
            "validTime": ("valid_time_start", "valid_time_end"),
        },
        required=("result",),
        required_navs=("Datastream",),
    )
)
_add(
    EntityType(
        "FeatureOfInterest",
        "FeaturesOfInterest",
        m.FeatureOfInterest,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "feature": "feature",
            "properties": "properties",
        },
        {"Observations": Nav("Observation", "observations", True, "FeatureOfInterest")},
        geometry="feature",
        required=("name", "description", "encodingType", "feature"),
    )
)

BY_PLURAL: dict[str, EntityType] = {t.plural: t for t in TYPES.values()}

# The municipality of an entity, as an ORM path (every entity has the column; an Observation's copies its
# Datastream's, so that scoping needs no join).
MUNICIPALITY_PATH = dict.fromkeys(TYPES, "municipality")
