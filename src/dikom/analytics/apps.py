from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "dikom.analytics"
    verbose_name = _("Usage analytics (eGovSAD)")

    def ready(self) -> None:
        from dikom.analytics import scopes  # noqa: F401  (registers the API key scopes)
