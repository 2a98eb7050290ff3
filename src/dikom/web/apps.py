from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "dikom.web"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        from django.contrib import admin

        # The Django admin is for platform administrators only (superusers, with 2FA).
        admin.site.site_header = "dikom · Plattform-Administration"
        admin.site.site_title = "dikom"
        admin.site.has_permission = lambda request: bool(  # type: ignore[method-assign]
            request.user.is_active and request.user.is_superuser
        )
