"""Sensor data of the demo cooperation: GENERATED DEMO DATA, no real measurements.

Each founding city gets three street trees (``Thing``, invented names near
the town centre) with a soil water tension probe at 30 cm (``Datastream`` in
centibar) and readings every six hours for the last ``days`` days: a slow
drying with rain days that wet the soil again (a seeded random walk). Stored
through the SensorThings actions (deep insert, ``CreateObservations``), so
the demo exercises the same path as a gateway. Idempotent: a city that
already has its demo trees is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.sensors import actions
from dikom.sensors.entities import TYPES
from dikom.sensors.models import Thing

# Approximate town centres (longitude, latitude) of the founding cities.
CENTRES = {
    "fulda": (9.6756, 50.5558),
    "giessen": (8.6784, 50.5841),
    "limburg": (8.0627, 50.3836),
    "marburg": (8.7708, 50.8021),
    "offenbach": (8.7665, 50.0956),
    "wetzlar": (8.5039, 50.5585),
}
TREES = [
    ("Winterlinde", "Tilia cordata", 2019),
    ("Spitzahorn", "Acer platanoides", 2021),
    ("Stieleiche", "Quercus robur", 2016),
]
TENSION_TYPE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


@dataclass
class DemoSensors:
    things: int = 0
    observations: int = 0


def load_demo_sensors(days: int = 14) -> DemoSensors:
    result = DemoSensors()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for slug, (lon, lat) in CENTRES.items():
        city = Municipality.objects.filter(slug=slug, is_demo=True).first()
        if city is None or Thing.objects.filter(municipality=city, properties__demo=True).exists():
            continue
        rng = random.Random(f"dikom-sensors-{slug}")  # noqa: S311  (demo data, not security)
        for number, (german, latin, planted) in enumerate(TREES, start=1):
            point = [round(lon + rng.uniform(-0.004, 0.004), 6), round(lat + rng.uniform(-0.003, 0.003), 6)]
            thing = actions.create_entity(
                TYPES["Thing"],
                {
                    "name": f"{german} Nr. {number} (Demo)",
                    "description": "Straßenbaum mit Bodenfeuchtesonde – generierte Demo-Daten",
                    "properties": {"demo": True, "species": latin, "plantingYear": planted},
                    "Locations": [
                        {
                            "name": f"Baumstandort {number}",
                            "description": "Baumscheibe (erfundene Lage)",
                            "encodingType": "application/geo+json",
                            "location": {"type": "Point", "coordinates": point},
                        }
                    ],
                    "Datastreams": [
                        {
                            "name": f"Saugspannung 30 cm – {german} {number}",
                            "description": "Bodenwasserspannung in 30 cm Tiefe",
                            "observationType": TENSION_TYPE,
                            "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
                            "Sensor": {
                                "name": "Tensiometer (Demo)",
                                "description": "Watermark-Sonde, simuliert",
                                "encodingType": "text/plain",
                                "metadata": "generated demo sensor",
                            },
                            "ObservedProperty": {
                                "name": "Bodenwasserspannung",
                                "definition": "https://dikom.de/def/soil-water-tension",
                                "description": "Saugspannung des Bodens (1 cbar = 1 kPa)",
                            },
                        }
                    ],
                },
                city,
            )
            datastream = thing.datastreams.get()
            tension, rows = rng.uniform(8, 25), []
            for step in range(days * 4):
                when = now - dt.timedelta(hours=6 * (days * 4 - step))
                tension = 6.0 if rng.random() < 0.03 else min(150.0, tension * rng.uniform(1.0, 1.06) + 0.3)
                rows.append([when.isoformat().replace("+00:00", "Z"), round(tension, 1)])
            block = {
                "Datastream": {"@iot.id": datastream.pk},
                "components": ["phenomenonTime", "result"],
                "dataArray": rows,
            }
            result.observations += len(actions.create_observations([block], city))
            result.things += 1
    return result
