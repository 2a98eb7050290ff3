from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "dikom.web"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        from dikom.web import german_everywhere

        german_everywhere.install()
