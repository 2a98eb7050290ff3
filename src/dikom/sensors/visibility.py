"""What a reader of the SensorThings API may see: published data of every city, and all of its own city's.

A city decides per Thing and per Datastream what is public (``published``;
new entities are published, as the SensorThings data of a smart city is
meant to be open, and staff withdraw what should not be). A Datastream is
public when it and its Thing are; Observations follow their Datastream;
Locations (present or past) and HistoricalLocations their Things; Sensors, ObservedProperties
and FeaturesOfInterest are public when a public Datastream (or Observation,
or Location) uses them. Anonymous readers see public data only; a request
with a valid API key of a city also sees everything of that city.

The reader is kept in a context variable for the duration of one request
(set by the API view), so that every query the request runs — the entity
set, navigation paths, ``$expand`` and the MQTT notifications' payloads —
applies the same rule without threading a parameter through the serializer.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.db.models import Exists, OuterRef, Q

from dikom.sensors import models as m

#: The municipality id of the reading API key, or None for an anonymous reader.
reader_city: contextvars.ContextVar[int | None] = contextvars.ContextVar("sta_reader_city", default=None)

PUBLIC_DATASTREAM = Q(published=True, thing__published=True)


def _public(type_name: str) -> Q:
    if type_name == "Thing":
        return Q(published=True)
    if type_name == "Datastream":
        return PUBLIC_DATASTREAM
    if type_name == "Observation":
        return Q(datastream__published=True, datastream__thing__published=True)
    if type_name == "HistoricalLocation":
        return Q(thing__published=True)
    if type_name == "Location":
        # where a published Thing stands, or stood (its HistoricalLocations are public)
        now = m.Location.things.through.objects.filter(location=OuterRef("pk"), thing__published=True)
        before = m.HistoricalLocation.locations.through.objects.filter(
            location=OuterRef("pk"), historicallocation__thing__published=True
        )
        return Q(Exists(now)) | Q(Exists(before))
    if type_name in ("Sensor", "ObservedProperty"):
        field = "sensor" if type_name == "Sensor" else "observed_property"
        return Q(Exists(m.Datastream.objects.filter(PUBLIC_DATASTREAM, **{field: OuterRef("pk")})))
    if type_name == "FeatureOfInterest":
        used = m.Observation.objects.filter(
            feature_of_interest=OuterRef("pk"), datastream__published=True, datastream__thing__published=True
        )
        generated = m.Location.things.through.objects.filter(
            location=OuterRef("source_location"), thing__published=True
        )
        return Q(Exists(used)) | Q(Exists(generated))
    raise KeyError(type_name)


def visible(type_name: str, city_id: int | None = None) -> Q:
    """The condition for rows of ``type_name`` the current reader may see."""
    city_id = reader_city.get() if city_id is None else city_id
    condition = _public(type_name)
    if city_id is not None:
        condition |= Q(municipality_id=city_id)
    return condition


def filter_visible(type_name: str, queryset: Any) -> Any:
    return queryset.filter(visible(type_name))


#: Navigations whose targets are visible exactly when their (visible) source is: an Observation is
#: public when its Datastream is, and carries its Datastream's municipality, so the Observations of a
#: Datastream the reader sees need no condition of their own (and the query no join to the Datastream
#: and its Thing).
FOLLOW_SOURCE = frozenset({("Datastream", "Observations")})


def filter_navigation(source: str, nav: str, type_name: str, queryset: Any) -> Any:
    """``queryset`` (the targets of ``nav`` from one visible ``source`` entity) narrowed to what the reader sees."""
    if (source, nav) in FOLLOW_SOURCE:
        return queryset
    return filter_visible(type_name, queryset)
