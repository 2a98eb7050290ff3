"""Helpers for the sharing tests: rollup rows, API keys, another handful of cities."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from dikom.accounts.actions import create_api_key
from dikom.analytics.models import Service, ServiceDailyStats
from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory


def key_for(municipality: Municipality, *scopes: str) -> str:
    return create_api_key(municipality=municipality, name="Testquelle", scopes=list(scopes)).token


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {token}"}


def stats(service: Service, day: date, **counts: Any) -> ServiceDailyStats:
    """A daily rollup row, as the rollup task writes it (the sharing app only ever reads rollups)."""
    return ServiceDailyStats.objects.create(
        municipality=service.municipality, service=service, day=day, channel="web", built_at=timezone.now(), **counts
    )


def city(name: str, ags: str, population: int, district_key: str | None = None) -> Municipality:
    key = district_key or ags[:5]
    district = DistrictFactory(key=key, name=f"Kreis {key}") if not _district_exists(key) else _district(key)
    return MunicipalityFactory(name=name, slug=name.lower(), ags=ags, district=district, population=population)


def _district_exists(key: str) -> bool:
    from dikom.municipalities.models import District

    return District.objects.filter(key=key).exists()


def _district(key: str) -> Any:
    from dikom.municipalities.models import District

    return District.objects.get(key=key)
