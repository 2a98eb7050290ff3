from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartcityConfig(AppConfig):
    name = "dikom.smartcity"
    verbose_name = _("Smart city (trees, construction sites, litter bins)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dikom.lib import periodic
        from dikom.smartcity.needs_refresh import REFRESH_SECONDS

        periodic.register("smartcity.needs", "dikom.smartcity.tasks.refresh_needs", every_seconds=REFRESH_SECONDS)

        # Trees, waterings, construction sites and published sensor data appear in the open data portal
        # within the hour (publishing.py; idempotent: unchanged metadata writes nothing).
        periodic.register("smartcity.open_data", "dikom.smartcity.publishing.refresh_open_data", every_seconds=3600)
