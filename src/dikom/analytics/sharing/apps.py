from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "dikom.analytics.sharing"
    label = "analytics_sharing"
    verbose_name = _("Analytics: city comparison and open data")

    def ready(self) -> None:
        from dikom.lib import periodic

        # New complete months appear in the open data portal within the hour (idempotent, see tasks.py).
        periodic.register(
            "analytics.usage_dataset", "dikom.analytics.sharing.tasks.refresh_usage_datasets", every_seconds=3600
        )
