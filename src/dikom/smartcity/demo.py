"""Smart-city data of the demo cooperation: GENERATED DEMO DATA, no real trees, sites or bins.

Per founding city: the three street trees with soil probes that
``dikom.sensors.demo`` put into the SensorThings store, plus
``GENERATED_TREES`` trees without probes (invented numbers, species and
planting years around the town centre), 60 days of rain (a seeded random
series, mostly dry days, a few wet ones, written as a DWD daily product file of the
invented station 99999 and read by the rain import), three construction sites
(two today, one upcoming) and four litter bins whose ultrasonic sensors report
the distance to the waste through ``CreateObservations``. Idempotent: a city
that already has its demo trees is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.sensors.demo import CENTRES
from dikom.smartcity import actions
from dikom.smartcity.models import ConstructionSite, LitterBin, Tree
from dikom.smartcity.needs_refresh import refresh_city
from dikom.smartcity.rain import dwd_text

GENERATED_TREES = 24
SPECIES = [
    ("Winterlinde", "Tilia cordata"),
    ("Spitzahorn", "Acer platanoides"),
    ("Stieleiche", "Quercus robur"),
    ("Platane", "Platanus × hispanica"),
    ("Hainbuche", "Carpinus betulus"),
    ("Gingko", "Ginkgo biloba"),
]
GERMAN = {latin: german for german, latin in SPECIES}
STREETS = ["Bahnhofstraße", "Lindenallee", "Am Stadtpark", "Schulstraße", "Friedrichstraße", "Ringstraße"]
SITES = [
    (
        "Kanalerneuerung",
        "Bahnhofstraße",
        "Vollsperrung zwischen Nr. 10 und 24",
        "Umleitung über die Ringstraße",
        -3,
        20,
    ),
    ("Fahrbahnsanierung", "Friedrichstraße", "Eine Fahrspur gesperrt", "", -10, 5),
    ("Glasfaserausbau", "Schulstraße", "Gehweg gesperrt", "Fußgänger bitte die andere Straßenseite nutzen", 7, 30),
]


@dataclass
class DemoSmartCity:
    trees: int = 0
    sites: int = 0
    bins: int = 0


def load_demo_smartcity() -> DemoSmartCity:
    result = DemoSmartCity()
    for slug, (lon, lat) in CENTRES.items():
        city = Municipality.objects.filter(slug=slug, is_demo=True).first()
        if city is None or Tree.objects.filter(municipality=city, is_demo=True).exists():
            continue
        with transaction.atomic():
            _load_city(city, lon, lat, random.Random(f"dikom-smartcity-{slug}"), result)  # noqa: S311  (demo)
        refresh_city(city)  # the stored need for the map (the periodic job keeps it current)
    return result


def _load_city(city: Municipality, lon: float, lat: float, rng: random.Random, result: DemoSmartCity) -> None:
    today = timezone.localdate()
    for number, (thing, x, y) in enumerate(sensors.demo_tree_things(city), start=1):
        latin = str((thing.properties or {}).get("species", ""))
        Tree.objects.create(
            municipality=city,
            number=f"S-{number:03d}",
            species=GERMAN.get(latin, latin),
            species_latin=latin,
            planting_year=(thing.properties or {}).get("plantingYear"),
            street=STREETS[number % len(STREETS)],
            longitude=x,
            latitude=y,
            sensor_thing_id=thing.pk,
            is_demo=True,
        )
        result.trees += 1
    for number in range(1, GENERATED_TREES + 1):
        german, latin = rng.choice(SPECIES)
        Tree.objects.create(
            municipality=city,
            number=f"B-{number:04d}",
            species=german,
            species_latin=latin,
            planting_year=rng.choice([today.year - rng.randint(1, 9), rng.randint(1950, 2012)]),
            street=rng.choice(STREETS),
            longitude=round(lon + rng.uniform(-0.008, 0.008), 6),
            latitude=round(lat + rng.uniform(-0.005, 0.005), 6),
            is_demo=True,
        )
        result.trees += 1
    # Generated rain in the DWD's daily product format, read by the same import as a real station file.
    rain = {
        today - dt.timedelta(days=back): round(rng.choice([0, 0, 0, 0, 0.2, 1.5, 4.0, 9.0]) * rng.uniform(0.5, 1.5), 1)
        for back in range(60)
    }
    actions.import_rain(city, dwd_text("99999", rain).encode())
    for title, street, restriction, detour, start, length in SITES:
        ConstructionSite.objects.create(
            municipality=city,
            title=f"{title} (Demo)",
            street=street,
            restriction=restriction,
            detour=detour,
            starts_on=today + dt.timedelta(days=start),
            ends_on=today + dt.timedelta(days=start + length),
            longitude=round(lon + rng.uniform(-0.006, 0.006), 6),
            latitude=round(lat + rng.uniform(-0.004, 0.004), 6),
            is_demo=True,
        )
        result.sites += 1
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for number in range(1, 5):
        x, y = round(lon + rng.uniform(-0.005, 0.005), 6), round(lat + rng.uniform(-0.003, 0.003), 6)
        thing = sensors.create_thing(
            {
                "name": f"Abfallbehälter {number} (Demo)",
                "description": "Abfallbehälter mit Ultraschall-Füllstandssensor – generierte Demo-Daten",
                "properties": {"demo": True, "kind": "litter-bin"},
                "Locations": [
                    {
                        "name": f"Abfallbehälter {number}",
                        "description": "erfundene Lage",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [x, y]},
                    }
                ],
                "Datastreams": [
                    {
                        "name": f"Abstand Deckel–Füllgut, Behälter {number}",
                        "description": "Ultraschallmessung vom Deckel bis zum Abfall",
                        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                        "unitOfMeasurement": {"name": "Zentimeter", "symbol": "cm", "definition": "ucum:cm"},
                        "Sensor": {
                            "name": "Ultraschallsensor (Demo)",
                            "description": "Füllstandssensor, simuliert",
                            "encodingType": "text/plain",
                            "metadata": "generated demo sensor",
                        },
                        "ObservedProperty": {
                            "name": "Abstand zum Füllgut",
                            "definition": "https://dikom.de/def/fill-distance",
                            "description": "Abstand vom Deckel bis zum Abfall",
                        },
                    }
                ],
            },
            city,
        )
        datastream = thing.datastreams.get()
        depth, fill, rows = 100, rng.uniform(0, 40), []
        for step in range(24):
            fill = min(100.0, fill + rng.uniform(0, 6 if number < 4 else 9))
            rows.append(
                [(now - dt.timedelta(hours=2 * (24 - step))).isoformat().replace("+00:00", "Z"), round(depth - fill)]
            )
        sensors.create_observations(
            [{"Datastream": {"@iot.id": datastream.pk}, "components": ["phenomenonTime", "result"], "dataArray": rows}],
            city,
        )
        LitterBin.objects.create(
            municipality=city,
            name=f"Abfallbehälter {number} (Demo)",
            street=rng.choice(STREETS),
            longitude=x,
            latitude=y,
            depth_cm=depth,
            datastream_id=datastream.pk,
            is_demo=True,
        )
        result.bins += 1
