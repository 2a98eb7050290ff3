from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthprovidersConfig(AppConfig):
    name = "dikom.authproviders"
    verbose_name = _("Citizen sign-in providers")
