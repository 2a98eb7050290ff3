from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.smartcity.models import LitterBin, Tree


def make_tree(city: Municipality, number: str = "B-0001", **fields: Any) -> Tree:
    values: dict[str, Any] = {
        "species": "Winterlinde",
        "species_latin": "Tilia cordata",
        "planting_year": timezone.localdate().year - 3,
        "street": "Lindenallee",
        "longitude": 9.68,
        "latitude": 50.55,
    }
    values.update(fields)
    return Tree.objects.create(municipality=city, number=number, **values)


def probe_thing(city: Municipality, readings: list[tuple[dt.datetime, float]], depth: int = 30) -> int:
    """A Thing with one soil water tension probe and the given readings, through the SensorThings store."""
    thing = sensors.create_thing(
        {
            "name": "Baum mit Sonde",
            "description": "Test",
            "Locations": [
                {
                    "name": "Standort",
                    "description": "Test",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [9.68, 50.55]},
                }
            ],
            "Datastreams": [
                {
                    "name": f"Saugspannung {depth} cm",
                    "description": "Bodenwasserspannung",
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
                    "Sensor": {
                        "name": "Watermark",
                        "description": "Tensiometer",
                        "encodingType": "text/plain",
                        "metadata": "x",
                    },
                    "ObservedProperty": {
                        "name": "Bodenwasserspannung",
                        "definition": "soil-water-tension",
                        "description": "kPa",
                    },
                }
            ],
        },
        city,
    )
    if readings:
        ds = thing.datastreams.get()
        rows = [[t.isoformat(), v] for t, v in readings]
        sensors.create_observations(
            [{"Datastream": {"@iot.id": ds.pk}, "components": ["phenomenonTime", "result"], "dataArray": rows}], city
        )
    return int(thing.pk)


def bin_with_reading(city: Municipality, value: float, unit: str = "cm", depth: int = 120) -> LitterBin:
    thing = sensors.create_thing(
        {
            "name": "Behälter",
            "description": "Test",
            "Locations": [
                {
                    "name": "Standort",
                    "description": "Test",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [9.68, 50.55]},
                }
            ],
            "Datastreams": [
                {
                    "name": "Füllstand",
                    "description": "Ultraschall",
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": "ucum"},
                    "Sensor": {
                        "name": "US",
                        "description": "Ultraschall",
                        "encodingType": "text/plain",
                        "metadata": "x",
                    },
                    "ObservedProperty": {"name": "Abstand", "definition": "fill-distance", "description": "cm"},
                    "Observations": [{"phenomenonTime": timezone.now().isoformat(), "result": value}],
                }
            ],
        },
        city,
    )
    return LitterBin.objects.create(
        municipality=city,
        name=f"Behälter {value}{unit}",
        street="Marktplatz",
        longitude=9.68,
        latitude=50.55,
        depth_cm=depth,
        datastream_id=thing.datastreams.get().pk,
    )
