"""Django's admin app with the platform's admin site (see ``admin_site``)."""

from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    default_site = "dikom.accounts.admin_site.PlatformAdminSite"
