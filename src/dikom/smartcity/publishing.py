"""The smart-city data as open datasets of each city in the open data portal.

Four generated datasets per city, each published through the portal's hook
(``dikom.opendata.service.publish_generated_dataset``, the only part of the
portal used here) as soon as the city has such data, and withdrawn when it has
none any more:

- ``smartcity:sensor-days`` — daily aggregates (count, minimum, mean, maximum per
  UTC day) of every Datastream the city has published in its SensorThings API
  (the Thing and the Datastream both published), the last 365 days;
- ``smartcity:trees`` — the street tree inventory with today's watering need
  (GeoJSON and CSV);
- ``smartcity:waterings`` — the anonymous watering log: per day and street, how
  many trees were watered how often with how many litres. No account, no time of
  day; a day and street with waterings by fewer than ``MIN_PEOPLE`` different
  people is left out, so that no one's habits can be read from it;
- ``smartcity:sites`` — the construction sites (GeoJSON and CSV).

The files are served live under ``/stadt/<city>/offene-daten/`` (``publishing_views``);
the dataset's metadata (temporal coverage, modification) follows the data, and the
hook writes nothing when it is unchanged, so the hourly job ``smartcity.open_data``
(``refresh_all``) only changes the portal when new data has arrived.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Max, Min
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dikom.lib.tasks import retrying_task
from dikom.municipalities.models import Municipality
from dikom.opendata import service as portal
from dikom.sensors.models import Datastream, Observation
from dikom.smartcity.models import ConstructionSite, Tree, Watering
from dikom.smartcity.need import needs_for

LICENCE = "dl-zero-de/2.0"
SENSOR_DAYS = 365
#: A day and street whose waterings come from fewer different people is not published.
MIN_PEOPLE = 3

KEYS = {
    "sensors": "smartcity:sensor-days",
    "trees": "smartcity:trees",
    "waterings": "smartcity:waterings",
    "sites": "smartcity:sites",
}

SENSOR_COLUMNS = [
    "day",
    "thing",
    "datastream",
    "observed_property",
    "unit",
    "count",
    "minimum",
    "mean",
    "maximum",
]
TREE_COLUMNS = [
    "tree_number",
    "species",
    "species_latin",
    "planting_year",
    "street",
    "longitude",
    "latitude",
    "need",
    "need_method",
]
WATERING_COLUMNS = ["day", "street", "trees", "waterings", "litres"]
SITE_COLUMNS = ["title", "street", "restriction", "detour", "starts_on", "ends_on", "longitude", "latitude"]


# --- the data ---------------------------------------------------------------------------------------


def published_datastreams(city: Municipality) -> Any:
    return Datastream.objects.filter(municipality=city, published=True, thing__published=True)


def _sensor_since(today: dt.date) -> dt.datetime:
    return dt.datetime.combine(today - dt.timedelta(days=SENSOR_DAYS), dt.time(), tzinfo=dt.UTC)


def sensor_days(city: Municipality, today: dt.date | None = None) -> Iterator[list[Any]]:
    """One row per published Datastream and complete UTC day (today's readings wait for tomorrow)."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    streams = {d.pk: d for d in published_datastreams(city).select_related("thing", "observed_property").order_by("pk")}
    if not streams:
        return
    rows = (
        Observation.objects.filter(
            datastream_id__in=list(streams),
            phenomenon_time__gte=_sensor_since(today),
            phenomenon_time__lt=dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC),
            result_number__isnull=False,
        )
        .annotate(day=TruncDate("phenomenon_time", tzinfo=dt.UTC))
        .values("day", "datastream_id")
        .annotate(n=Count("pk"), low=Min("result_number"), mean=Avg("result_number"), high=Max("result_number"))
        .order_by("day", "datastream_id")
    )
    for row in rows:
        stream = streams[row["datastream_id"]]
        unit = stream.unit_of_measurement if isinstance(stream.unit_of_measurement, dict) else {}
        yield [
            row["day"].isoformat(),
            stream.thing.name,
            stream.name,
            stream.observed_property.name,
            str(unit.get("symbol") or unit.get("name") or ""),
            row["n"],
            _number(row["low"]),
            _number(row["mean"]),
            _number(row["high"]),
        ]


def _number(value: Any) -> Any:
    return None if value is None else round(float(value), 3)


def tree_rows(city: Municipality) -> list[list[Any]]:
    trees = list(Tree.objects.filter(municipality=city).order_by("number"))
    needs = needs_for(trees)
    return [
        [
            tree.number,
            tree.species,
            tree.species_latin,
            tree.planting_year,
            tree.street,
            round(tree.longitude, 6),
            round(tree.latitude, 6),
            str(needs[tree.pk].level),
            needs[tree.pk].method,
        ]
        for tree in trees
    ]


def watering_rows(city: Municipality) -> list[list[Any]]:
    """Per local day and street: trees watered, waterings, litres; groups of fewer than MIN_PEOPLE people left out."""
    groups: dict[tuple[dt.date, str], dict[str, Any]] = defaultdict(
        lambda: {"trees": set(), "people": set(), "count": 0, "litres": 0}
    )
    rows = Watering.objects.filter(tree__municipality=city).values_list(
        "pk", "watered_at", "tree_id", "tree__street", "user_id", "litres"
    )
    for pk, watered_at, tree_id, street, user_id, litres in rows.iterator():
        group = groups[(timezone.localdate(watered_at), street or "")]
        group["trees"].add(tree_id)
        # A watering without an account (deleted since) counts as a person of its own.
        group["people"].add(("user", user_id) if user_id is not None else ("watering", pk))
        group["count"] += 1
        group["litres"] += litres
    return [
        [day.isoformat(), street, len(group["trees"]), group["count"], group["litres"]]
        for (day, street), group in sorted(groups.items())
        if len(group["people"]) >= MIN_PEOPLE
    ]


def site_rows(city: Municipality) -> list[list[Any]]:
    return [
        [s.title, s.street, s.restriction, s.detour, s.starts_on.isoformat(), s.ends_on.isoformat(),
         round(s.longitude, 6), round(s.latitude, 6)]
        for s in ConstructionSite.objects.filter(municipality=city).order_by("starts_on", "street", "pk")
    ]  # fmt: skip


def geojson(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """Point features from rows that have ``longitude`` and ``latitude`` columns; the rest are properties."""
    lon, lat = columns.index("longitude"), columns.index("latitude")
    features = []
    for row in rows:
        properties = {c: v for c, v in zip(columns, row, strict=True) if c not in ("longitude", "latitude")}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row[lon], row[lat]]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- the datasets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the metadata depends on: whether there is data, and its time span and newest change."""

    exists: bool
    first: dt.date | None = None
    last: dt.date | None = None
    modified: dt.datetime | None = None


def facts(city: Municipality, kind: str) -> Facts:
    if kind == "sensors":
        today = timezone.now().astimezone(dt.UTC).date()
        observations = Observation.objects.filter(
            datastream__in=published_datastreams(city),
            phenomenon_time__gte=_sensor_since(today),
            phenomenon_time__lt=dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC),
            result_number__isnull=False,
        )
        span = observations.aggregate(first=Min("phenomenon_time"), last=Max("phenomenon_time"))
        if span["last"] is None:
            return Facts(False)
        last = span["last"].astimezone(dt.UTC).date()
        end_of_last = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return Facts(True, span["first"].astimezone(dt.UTC).date(), last, end_of_last)
    if kind == "trees":
        trees = Tree.objects.filter(municipality=city).aggregate(n=Count("pk"), changed=Max("updated_at"))
        return Facts(bool(trees["n"]), modified=trees["changed"])
    if kind == "waterings":
        rows = watering_rows(city)
        if not rows:
            return Facts(False)
        logged = Watering.objects.filter(tree__municipality=city).aggregate(changed=Max("created_at"))
        return Facts(
            True, dt.date.fromisoformat(rows[0][0]), max(dt.date.fromisoformat(r[0]) for r in rows), logged["changed"]
        )
    sites = ConstructionSite.objects.filter(municipality=city).aggregate(
        n=Count("pk"), changed=Max("updated_at"), first=Min("starts_on"), last=Max("ends_on")
    )
    return Facts(bool(sites["n"]), sites["first"], sites["last"], sites["changed"])


def _url(name: str, city: Municipality) -> str:
    return portal.site_url() + reverse(f"smartcity:{name}", args=[city.slug])


def _resource(name: str, url: str, fmt: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "url": url, "format": fmt, "description": description, "license_id": LICENCE}


def metadata(city: Municipality, kind: str, known: Facts) -> dict[str, Any]:
    """The CKAN package dictionary of one of the city's smart-city datasets (German, whatever the caller's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        name = city.name
        columns = _("Columns: %(columns)s.")
        if kind == "sensors":
            data = {
                "name": f"{city.slug}-sensordaten-tageswerte",
                "title": _("Sensor readings, daily values: %(city)s") % {"city": name},
                "notes": "\n\n".join(
                    [
                        _(
                            "Daily aggregates of the sensor readings that %(city)s publishes in its SensorThings "
                            "API: number of readings, minimum, mean and maximum per datastream and day (UTC), "
                            "for the last %(days)s days."
                        )
                        % {"city": name, "days": SENSOR_DAYS},
                        columns % {"columns": ", ".join(SENSOR_COLUMNS)},
                    ]
                ),
                "tags": ["Sensoren", "Messwerte", "Smart City", "Umwelt"],
                "groups": ["envi"],
                "frequency": "DAILY",
                "resources": [_resource(_("Daily values (CSV)"), _url("open_data_sensors", city), "CSV")],
            }
        elif kind == "trees":
            data = {
                "name": f"{city.slug}-strassenbaeume-wasserbedarf",
                "title": _("Street trees and their watering need: %(city)s") % {"city": name},
                "notes": "\n\n".join(
                    [
                        _(
                            "The street tree inventory of %(city)s with species, planting year and location, and "
                            "each tree's watering need today (from soil probes where a tree has them, otherwise "
                            "estimated from age, rain and waterings of the last 30 days)."
                        )
                        % {"city": name},
                        columns % {"columns": ", ".join(TREE_COLUMNS)},
                    ]
                ),
                "tags": ["Baumkataster", "Bäume", "Stadtgrün", "Bewässerung"],
                "groups": ["envi"],
                "frequency": "DAILY",
                "resources": [
                    _resource(_("Trees (GeoJSON)"), _url("open_data_trees_geojson", city), "GEOJSON"),
                    _resource(_("Trees (CSV)"), _url("open_data_trees_csv", city), "CSV"),
                ],
            }
        elif kind == "waterings":
            data = {
                "name": f"{city.slug}-giessprotokoll",
                "title": _("Tree watering log (anonymous): %(city)s") % {"city": name},
                "notes": "\n\n".join(
                    [
                        _(
                            "How many street trees citizens of %(city)s watered, per day and street, how often and "
                            "with how many litres. Anonymous: no names or accounts, no time of day; a day and "
                            "street with waterings by fewer than %(people)s different people is left out."
                        )
                        % {"city": name, "people": MIN_PEOPLE},
                        columns % {"columns": ", ".join(WATERING_COLUMNS)},
                    ]
                ),
                "tags": ["Gießprotokoll", "Bäume", "Stadtgrün", "Bürgerbeteiligung"],
                "groups": ["envi", "soci"],
                "frequency": "DAILY",
                "resources": [_resource(_("Watering log (CSV)"), _url("open_data_waterings", city), "CSV")],
            }
        else:
            data = {
                "name": f"{city.slug}-baustellen",
                "title": _("Construction sites: %(city)s") % {"city": name},
                "notes": "\n\n".join(
                    [
                        _(
                            "Construction sites in %(city)s with their period, traffic restriction and detour, "
                            "as entered by the city."
                        )
                        % {"city": name},
                        columns % {"columns": ", ".join(SITE_COLUMNS)},
                    ]
                ),
                "tags": ["Baustellen", "Verkehr", "Straßen"],
                "groups": ["tran"],
                "frequency": "DAILY",
                "resources": [
                    _resource(_("Construction sites (GeoJSON)"), _url("open_data_sites_geojson", city), "GEOJSON"),
                    _resource(_("Construction sites (CSV)"), _url("open_data_sites_csv", city), "CSV"),
                ],
            }
        extras = [{"key": "frequency", "value": data.pop("frequency")}]
        if known.first:
            extras.append({"key": "temporal_start", "value": known.first.isoformat()})
        if known.last:
            extras.append({"key": "temporal_end", "value": known.last.isoformat()})
        if known.modified:
            extras.append({"key": "modified", "value": known.modified.astimezone(dt.UTC).isoformat()})
        return {
            **data,
            "license_id": LICENCE,
            "url": portal.site_url() + reverse("smartcity:city", args=[city.slug]),
            "tags": [{"name": tag} for tag in data["tags"]],
            "groups": [{"name": group} for group in data["groups"]],
            "extras": extras,
        }


def refresh(city: Municipality) -> dict[str, str]:
    """Publish, update or withdraw the city's four datasets; returns what happened to each."""
    done = {}
    for kind, key in KEYS.items():
        known = facts(city, kind)
        if not known.exists:
            done[kind] = "withdrawn" if portal.withdraw_generated_dataset(city, key, actor="smartcity") else "none"
            continue
        portal.publish_generated_dataset(city, key, metadata(city, kind, known), actor="smartcity")
        done[kind] = "published"
    return done


def cities_with_data() -> list[Municipality]:
    """Every city with trees, construction sites, published sensor data, or a dataset published before."""
    ids: set[int] = set(Tree.objects.values_list("municipality_id", flat=True).distinct())
    ids |= set(ConstructionSite.objects.values_list("municipality_id", flat=True).distinct())
    ids |= set(
        Datastream.objects.filter(published=True, thing__published=True)
        .values_list("municipality_id", flat=True)
        .distinct()
    )
    for key in KEYS.values():
        ids |= {m for m in portal.generated_dataset_municipalities(key) if m is not None}
    return list(Municipality.objects.filter(pk__in=ids).order_by("pk"))


def refresh_all() -> int:
    cities = cities_with_data()
    for city in cities:
        refresh(city)
    return len(cities)


@retrying_task(backoff_seconds=300)
def refresh_open_data() -> None:
    """Periodic (hourly, registered in ``apps.py``): new smart-city data appears in the open data portal."""
    refresh_all()
