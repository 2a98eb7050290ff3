from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "dikom.analytics"
    verbose_name = _("Usage analytics (eGovSAD)")

    def ready(self) -> None:
        from dikom.analytics import scopes  # noqa: F401  (registers the API key scopes)
        from dikom.lib import periodic

        # Expired salts and raw events are deleted hourly (the clock started by `manage.py serve`).
        periodic.register("analytics.housekeeping", "dikom.analytics.tasks.analytics_housekeeping", every_seconds=3600)
        # PostgreSQL: the monthly partitions of the usage events, three months ahead (dropped by housekeeping).
        periodic.register(
            "analytics.partitions", "dikom.analytics.tasks.maintain_event_partitions", every_seconds=86400
        )
