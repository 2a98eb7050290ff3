"""The city staff's sensor alerts: datastreams silent for longer than the city allows, batteries running low.

Thresholds are per city (``SensorAlertSettings``; 24 hours, 20 % and 3.3 V
until the city sets its own). A battery reading counts as a percentage when
its unit symbol is ``%``, as volts when it is ``V``; other units are not
judged. Pure reading of ``sensors.service.datastream_health``; nothing stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.smartcity.models import SensorAlertSettings


@dataclass(frozen=True)
class Alert:
    kind: str  # "silent" or "battery"
    datastream_id: int
    thing_name: str
    datastream_name: str
    last_time: dt.datetime | None
    text: str


def settings_for(city: Municipality) -> SensorAlertSettings:
    found = SensorAlertSettings.objects.filter(municipality=city).first()
    return found or SensorAlertSettings(municipality=city)


def alerts_for(city: Municipality, now: dt.datetime | None = None) -> tuple[list[Alert], int]:
    """The city's alerts (silent first, then battery) and the number of datastreams looked at."""
    now = now or timezone.now()
    limits = settings_for(city)
    silent_after = dt.timedelta(hours=limits.silent_hours)
    health = sensors.datastream_health(city)
    silent: list[Alert] = []
    battery: list[Alert] = []
    for item in health:
        if item.last_time is None:
            silent.append(Alert("silent", item.datastream_id, item.thing_name, item.name, None, _("No reading yet.")))
        elif now - item.last_time > silent_after:
            hours = int((now - item.last_time).total_seconds() // 3600)
            silent.append(
                Alert(
                    "silent",
                    item.datastream_id,
                    item.thing_name,
                    item.name,
                    item.last_time,
                    _("Silent for %(hours)d hours.") % {"hours": hours},
                )
            )
        if item.is_battery and item.last_value is not None:
            low = (item.unit_symbol == "%" and item.last_value < limits.battery_low_percent) or (
                item.unit_symbol.upper() == "V" and item.last_value < limits.battery_low_volts
            )
            if low:
                battery.append(
                    Alert(
                        "battery",
                        item.datastream_id,
                        item.thing_name,
                        item.name,
                        item.last_time,
                        _("Battery low: %(value)s %(unit)s.")
                        % {"value": f"{item.last_value:g}", "unit": item.unit_symbol},
                    )
                )
    return silent + battery, len(health)
