from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartcityConfig(AppConfig):
    name = "dikom.smartcity"
    verbose_name = _("Smart city (trees, construction sites, litter bins)")
    default_auto_field = "django.db.models.BigAutoField"
