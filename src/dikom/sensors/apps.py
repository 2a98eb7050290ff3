from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensorsConfig(AppConfig):
    name = "dikom.sensors"
    verbose_name = _("Sensors (SensorThings API)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dikom.lib import periodic
        from dikom.sensors import scopes  # noqa: F401  (registers the API key scope)

        # PostgreSQL: the monthly observation partitions, three months ahead; the retention (if any) drops old ones.
        periodic.register(
            "sensors.partitions", "dikom.sensors.tasks.maintain_observation_partitions", every_seconds=86400
        )
