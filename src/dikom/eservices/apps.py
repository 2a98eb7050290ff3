from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "dikom.eservices"
    verbose_name = _("Online services library")

    def ready(self) -> None:
        from dikom.eservices import access  # noqa: F401  (registers the API key scope eservices:read)
        from dikom.lib import periodic

        periodic.register(
            "eservices.codelists", "dikom.eservices.tasks.refresh_configured_codelists", every_seconds=86400
        )
