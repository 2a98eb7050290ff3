from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiguresConfig(AppConfig):
    name = "dikom.analytics.figures"
    label = "analytics_figures"
    verbose_name = _("Analytics: aggregated figures (uploads)")
