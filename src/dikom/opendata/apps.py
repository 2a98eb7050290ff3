from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "dikom.opendata"
    label = "opendata"
    verbose_name = _("Open data portal")

    def ready(self) -> None:
        from dikom.opendata import scopes  # noqa: F401  (registers the API key scope)
