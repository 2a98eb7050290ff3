from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, Any]:
    """Values every template may use: demo and 2FA flags."""
    return {
        "DIKOM_DEMO": settings.DIKOM_DEMO,
        "DIKOM_2FA_RELAXED": not settings.DIKOM_REQUIRE_2FA_FOR_STAFF,
    }
