"""Fixtures for the account tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    # The manifest storage of production needs ``collectstatic``; tests use the plain one.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_login_throttles() -> None:
    """The sign-in throttles count in the cache; every test starts without earlier failures."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def no_otp_throttling(settings: Any) -> None:
    """django-otp backs off for seconds after a wrong code; tests that enter a right code right
    after a wrong one switch that off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
