from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dikom.analytics.dashboards"
    label = "analytics_dashboards"
    verbose_name = _("Analytics: dashboards and reports")
