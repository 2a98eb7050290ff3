from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthprovidersConfig(AppConfig):
    name = "dikom.authproviders"
    verbose_name = _("Citizen sign-in providers")

    def ready(self) -> None:
        from dikom.authproviders import checks  # noqa: F401 - registers the system checks
