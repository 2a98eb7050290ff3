"""API key scope of the SensorThings API."""

from django.utils.translation import gettext_lazy as _

from dikom.accounts.scopes import register_scope

SENSORS_WRITE = register_scope(
    "sensors:write", _("Create, change and delete the city's sensor data (SensorThings API)")
)
