"""The sensors app's public surface for other apps (street trees, open data, staff views).

Keep it small: everything else in ``dikom.sensors`` is private to the app.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dikom.municipalities.models import Municipality
from dikom.sensors.models import Datastream, Observation


def datastreams_of(municipality: Municipality) -> QuerySet[Datastream]:
    """The city's datastreams with their Thing, Sensor and ObservedProperty loaded."""
    return Datastream.objects.filter(municipality=municipality).select_related("thing", "sensor", "observed_property")


def observations_between(datastream: Datastream, start: Any, end: Any) -> QuerySet[Observation]:
    """Readings of ``datastream`` with ``start <= phenomenonTime < end``, oldest first (uses the index)."""
    return Observation.objects.filter(
        datastream=datastream, phenomenon_time__gte=start, phenomenon_time__lt=end
    ).order_by("phenomenon_time", "pk")


def latest_observation(datastream: Datastream) -> Observation | None:
    return Observation.objects.filter(datastream=datastream).order_by("-phenomenon_time", "-pk").first()
