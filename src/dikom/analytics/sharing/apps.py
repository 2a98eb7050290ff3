from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "dikom.analytics.sharing"
    label = "analytics_sharing"
    verbose_name = _("Analytics: city comparison and open data")
