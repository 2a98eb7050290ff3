"""Django's admin app with the platform's admin site (see ``admin_site``)."""

from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    default_site = "dikom.accounts.admin_site.PlatformAdminSite"

    def ready(self) -> None:
        # Before the admin modules are discovered: each ModelAdmin copies the widget defaults when registered.
        from dikom.web.admin_widgets import install

        install()
        super().ready()
