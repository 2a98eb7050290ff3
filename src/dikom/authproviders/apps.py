from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthprovidersConfig(AppConfig):
    name = "dikom.authproviders"
    verbose_name = _("Citizen sign-in providers")

    def ready(self) -> None:
        from dikom.authproviders import checks  # noqa: F401 - registers the system checks
        from dikom.lib import periodic

        periodic.register(
            "authproviders.assertion_markers",
            "dikom.authproviders.tasks.delete_expired_assertion_markers",
            every_seconds=3600,
        )
