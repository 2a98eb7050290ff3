from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "dikom.opendata"
    label = "opendata"
    verbose_name = _("Open data portal")

    def ready(self) -> None:
        from dikom.lib import periodic
        from dikom.opendata import scopes  # noqa: F401  (registers the API key scope)

        # Harvest sources whose schedule is due are queued every five minutes (idempotent, see tasks.py).
        periodic.register("opendata.harvest", "dikom.opendata.tasks.harvest_due_sources", every_seconds=300)
