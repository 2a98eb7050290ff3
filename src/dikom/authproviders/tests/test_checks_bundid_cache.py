"""The BundID sign-in needs a cache shared by all processes in production."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error

from dikom.authproviders.checks import check_auth_providers


def errors(settings: Any, backend: str) -> list[str]:
    settings.DIKOM_AUTH_PROVIDERS = ["bundid"]
    settings.IS_PRODUCTION = True
    settings.CACHES = {"default": {"BACKEND": backend}}
    return [m.id for m in check_auth_providers() if isinstance(m, Error)]


def test_per_process_caches_are_refused_in_production(settings: Any) -> None:
    assert "authproviders.E003" in errors(settings, "django.core.cache.backends.locmem.LocMemCache")
    assert "authproviders.E003" in errors(settings, "django.core.cache.backends.dummy.DummyCache")


def test_a_shared_cache_passes(settings: Any) -> None:
    assert "authproviders.E003" not in errors(settings, "django.core.cache.backends.redis.RedisCache")
