import logging
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

logger = logging.getLogger("dikom.security")


def create_cache_tables(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """``migrate`` also creates the database cache table (rate limits), so that a
    fresh installation never answers its first API request with an error."""
    from django.conf import settings
    from django.core.management import call_command

    if any(str(cache["BACKEND"]).endswith("DatabaseCache") for cache in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)


class ConfConfig(AppConfig):
    name = "dikom.conf"
    label = "dikom_conf"
    verbose_name = "Configuration"

    def ready(self) -> None:
        post_migrate.connect(create_cache_tables, sender=self, dispatch_uid="dikom_create_cache_tables")
        warn_about_unsafe_overrides()


def warn_about_unsafe_overrides() -> None:
    """Say at every start which safety a production installation was explicitly allowed to drop."""
    from django.conf import settings

    if settings.IS_PRODUCTION and not settings.DIKOM_REQUIRE_2FA_FOR_STAFF:
        logger.warning(
            "DIKOM_REQUIRE_2FA_FOR_STAFF is off in production (allowed by DIKOM_ALLOW_STAFF_WITHOUT_2FA): "
            "staff and platform administrators can sign in with a password alone."
        )
