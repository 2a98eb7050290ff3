"""The only code that changes the smart-city app's data: adoptions, waterings, construction sites, and the
staff's settings (thresholds, the start of the emptying round; both audit logged).

Each action is one transaction. Waterings are idempotent on retry: the form
carries a request key generated when it was rendered, and a second submission
with the same key returns the watering already stored. They are rate limited
per person (``WATERING_GAP`` per tree, ``WATERINGS_PER_DAY`` in all), so a
double click, a reloading browser or a script cannot flood the public log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.municipalities.models import Municipality
from dikom.smartcity.models import Adoption, ConstructionSite, Tree, Watering

WATERING_GAP = dt.timedelta(minutes=10)
WATERINGS_PER_DAY = 20
MAX_LITRES = 500
BACKDATE_LIMIT = dt.timedelta(days=7)
CLOCK_SKEW = dt.timedelta(minutes=5)


class Refused(Exception):
    """A state change the rules do not allow; the message is for the citizen (German UI)."""


@transaction.atomic
def adopt_tree(tree: Tree, user: Any) -> Adoption:
    adoption, _created = Adoption.objects.get_or_create(tree=tree, user=user)
    return adoption


@transaction.atomic
def give_up_tree(tree: Tree, user: Any) -> None:
    Adoption.objects.filter(tree=tree, user=user).delete()


@transaction.atomic
def set_tree_alert(tree: Tree, user: Any, on: bool) -> int:
    """Opt in (or out) of the e-mail when this sponsored tree turns critical; 0 when the user is no sponsor."""
    return Adoption.objects.filter(tree=tree, user=user).update(notify_critical=on)


@transaction.atomic
def set_global_alert(user: Any, on: bool) -> None:
    """Opt in (or out) of the e-mail for every tree the user sponsors, in every city."""
    from dikom.smartcity.models import CriticalAlertOptIn

    if on:
        CriticalAlertOptIn.objects.get_or_create(user=user)
    else:
        CriticalAlertOptIn.objects.filter(user=user).delete()
        Adoption.objects.filter(user=user).update(notify_critical=False)


@dataclass(frozen=True)
class Recorded:
    watering: Watering
    created: bool


def record_watering(tree: Tree, user: Any, litres: int, watered_at: dt.datetime, request_key: uuid.UUID) -> Recorded:
    """Store a watering; the same ``request_key`` again returns the first one (``created`` False)."""
    existing = Watering.objects.filter(request_key=request_key).first()
    if existing is not None:
        if existing.user_id != user.pk or existing.tree_id != tree.pk:
            raise Refused(_("This form was already used. Please reload the page and try again."))
        return Recorded(existing, False)
    now = timezone.now()
    if not 1 <= litres <= MAX_LITRES:
        raise Refused(_("Please enter between 1 and 500 litres."))
    if watered_at > now + CLOCK_SKEW:
        raise Refused(_("The time of the watering lies in the future."))
    if watered_at < now - BACKDATE_LIMIT:
        raise Refused(_("Waterings can be logged for the last seven days only."))
    try:
        with transaction.atomic():
            # Lock the person's recent waterings so two parallel requests cannot both pass the limits.
            recent = list(
                Watering.objects.select_for_update().filter(user=user, created_at__gt=now - dt.timedelta(days=1))
            )
            if len(recent) >= WATERINGS_PER_DAY:
                raise Refused(_("You have logged many waterings today. Please try again tomorrow."))
            if any(w.tree_id == tree.pk and w.created_at > now - WATERING_GAP for w in recent):
                raise Refused(_("You logged a watering of this tree a few minutes ago."))
            watering = Watering.objects.create(
                tree=tree, user=user, litres=litres, watered_at=watered_at, request_key=request_key
            )
    except IntegrityError:
        # A parallel retry with the same key won the race: answer with its watering.
        existing = Watering.objects.filter(request_key=request_key, user=user, tree=tree).first()
        if existing is None:
            raise Refused(_("This form was already used. Please reload the page and try again.")) from None
        return Recorded(existing, False)
    from dikom.smartcity.needs_refresh import refresh_trees

    refresh_trees([tree])  # the map and lists show the new need at once
    return Recorded(watering, True)


@transaction.atomic
def create_construction_site(city: Municipality, **fields: Any) -> ConstructionSite:
    return ConstructionSite.objects.create(municipality=city, **fields)


@transaction.atomic
def delete_construction_site(site: ConstructionSite) -> None:
    site.delete()


@dataclass(frozen=True)
class RainImported:
    station: str
    stored: int
    missing: int
    problems: list[str]
    problem_count: int
    first: dt.date | None
    last: dt.date | None


def import_rain(city: Municipality, data: bytes, actor: Any = None) -> RainImported:
    """Store a DWD daily product file as the city's rain series (a day already stored is overwritten).

    Raises ``rain.RainUnreadable`` for a file that cannot be read at all.
    """
    from dikom.audit.actions import record
    from dikom.smartcity.models import RainDay
    from dikom.smartcity.rain import parse_dwd_daily

    series = parse_dwd_daily(data)
    rows = [RainDay(municipality=city, day=day, millimetres=mm) for day, mm in series.days.items()]
    with transaction.atomic():
        RainDay.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["municipality", "day"],
            update_fields=["millimetres"],
        )
        record(
            "smartcity.rain_imported",
            actor=actor,
            municipality=city,
            changes={"station": series.station, "days": len(rows), "missing": series.missing},
        )
    days = sorted(series.days)
    return RainImported(
        series.station,
        len(rows),
        series.missing,
        series.problems,
        series.problem_count,
        days[0] if days else None,
        days[-1] if days else None,
    )


@transaction.atomic
def save_sensor_alert_settings(
    city: Municipality, *, silent_hours: int, battery_low_percent: int, battery_low_volts: float, actor: Any = None
) -> None:
    from dikom.audit.actions import record
    from dikom.smartcity.models import SensorAlertSettings

    SensorAlertSettings.objects.update_or_create(
        municipality=city,
        defaults={
            "silent_hours": silent_hours,
            "battery_low_percent": battery_low_percent,
            "battery_low_volts": battery_low_volts,
        },
    )
    record(
        "smartcity.sensor_alert_settings",
        actor=actor,
        municipality=city,
        changes={
            "silent_hours": silent_hours,
            "battery_percent": battery_low_percent,
            "battery_volts": battery_low_volts,
        },
    )


THRESHOLD_SELECTORS = ("species", "district", "west", "south", "east", "north", "tree", "litter_bin")
THRESHOLD_LIMITS = ("good_up_to_cbar", "moderate_up_to_cbar", "full_from_percent")


def save_threshold(city: Municipality, *, actor: Any = None, **fields: Any) -> Any:
    """Store a city's threshold; one for the same subject and selection replaces the earlier one (audit logged).

    ``fields`` are the cleaned fields of ``forms_staff.ThresholdForm``; only those of the chosen scope are kept.
    """
    from dikom.audit.actions import record
    from dikom.smartcity.models import Threshold

    scope = fields["scope"]
    subject = fields["subject"]
    keep = {
        Threshold.Scope.CITY: (),
        Threshold.Scope.SPECIES: ("species",),
        Threshold.Scope.DISTRICT: ("district",),
        Threshold.Scope.AREA: ("west", "south", "east", "north"),
        Threshold.Scope.TREE: ("tree",),
        Threshold.Scope.BIN: ("litter_bin",),
    }[Threshold.Scope(scope)]
    empty = {"species": "", "district": ""}  # text columns are blank, the others null
    selection: dict[str, Any] = {
        name: fields.get(name) if name in keep else empty.get(name) for name in THRESHOLD_SELECTORS
    }
    limits: dict[str, Any] = {
        "good_up_to_cbar": fields.get("good_up_to_cbar") if subject == Threshold.Subject.TREES else None,
        "moderate_up_to_cbar": fields.get("moderate_up_to_cbar") if subject == Threshold.Subject.TREES else None,
        "full_from_percent": fields.get("full_from_percent") if subject == Threshold.Subject.BINS else None,
    }
    with transaction.atomic():
        rule, created = Threshold.objects.update_or_create(
            municipality=city,
            subject=subject,
            scope=scope,
            **selection,
            defaults={**limits, "note": fields.get("note", "")},
        )
        record(
            "smartcity.threshold_saved",
            actor=actor,
            municipality=city,
            obj=rule,
            changes={
                "subject": subject,
                "scope": scope,
                "created": created,
                **{k: (v.pk if hasattr(v, "pk") else v) for k, v in selection.items() if v not in (None, "")},
                **{k: v for k, v in limits.items() if v is not None},
            },
        )
    return rule


@transaction.atomic
def delete_threshold(rule: Any, actor: Any = None) -> None:
    from dikom.audit.actions import record

    record(
        "smartcity.threshold_deleted",
        actor=actor,
        municipality=rule.municipality,
        changes={"subject": rule.subject, "scope": rule.scope, "id": rule.pk},
    )
    rule.delete()


@transaction.atomic
def set_route_start(city: Municipality, *, name: str, longitude: float, latitude: float, actor: Any = None) -> None:
    """Store where the city's emptying round starts and ends (audit logged)."""
    from dikom.audit.actions import record
    from dikom.smartcity.models import RouteStart

    RouteStart.objects.update_or_create(
        municipality=city, defaults={"name": name, "longitude": longitude, "latitude": latitude}
    )
    record(
        "smartcity.route_start_saved",
        actor=actor,
        municipality=city,
        changes={"name": name, "longitude": longitude, "latitude": latitude},
    )
