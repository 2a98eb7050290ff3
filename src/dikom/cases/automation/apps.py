from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "dikom.cases.automation"
    label = "cases_automation"
    verbose_name = _("Case automation rules")
