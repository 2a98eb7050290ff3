import pytest
from django.db import connection

from dikom.conf.apps import ConfConfig, create_cache_tables


@pytest.mark.django_db
def test_migrate_creates_the_database_cache_table(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t_cache"}}
    assert "t_cache" not in connection.introspection.table_names()

    create_cache_tables(sender=ConfConfig, using="default")

    assert "t_cache" in connection.introspection.table_names()
