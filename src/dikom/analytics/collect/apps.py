from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectConfig(AppConfig):
    name = "dikom.analytics.collect"
    label = "analytics_collect"
    verbose_name = _("Analytics: collection from form systems (Matomo, JavaScript)")
