"""Dates outside 2000-01-01..2100-12-31 get a 400 (a form error on pages), never an OverflowError 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from dikom.accounts.models import User
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

pytestmark = pytest.mark.django_db

RANGE_ERROR_DE = "Nur Datumsangaben zwischen 2000-01-01 und 2100-12-31 sind zulässig."

FAR = [
    ("0002-01-01", "0003-01-01"),
    ("0001-01-01", "0001-01-01"),
    ("9999-12-01", "9999-12-31"),
    ("1999-12-31", "2000-01-05"),
]


@pytest.fixture(autouse=True)
def _no_debug(settings: Any) -> Iterator[None]:
    settings.DEBUG = False
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        cache.clear()
        yield
        cache.clear()


@pytest.fixture
def staff_api(owner: User, login: Any) -> APIClient:
    return login(APIClient(), owner)


@pytest.fixture
def service(city_a: Municipality) -> Service:
    return Service.objects.create(
        municipality=city_a, name="Bewohnerparken", external_key="parken", leika_key="99106001012345"
    )


def _assert_date_problem(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(("since", "until"), FAR)
@pytest.mark.parametrize("endpoint", ["overview", "timeseries"])
def test_dashboard_api_refuses_far_dates(
    staff_api: APIClient, city_a: Municipality, endpoint: str, since: str, until: str
) -> None:
    response = staff_api.get(f"/api/v1/analytics/{endpoint}", {"from": since, "to": until, "municipality": city_a.ags})

    _assert_date_problem(response, "from")


@pytest.mark.parametrize(("since", "until"), FAR)
def test_summary_and_comparison_refuse_far_dates(
    staff_api: APIClient, city_a: Municipality, service: Service, since: str, until: str
) -> None:
    summary = staff_api.get(
        "/api/v1/analytics/summary",
        {"service": str(service.uuid), "from": since, "to": until, "municipality": city_a.ags},
    )
    comparison = staff_api.get(
        "/api/v1/analytics/comparison",
        {"leika": service.leika_key, "from": since, "to": until, "municipality": city_a.ags},
    )

    _assert_date_problem(summary, "from")
    _assert_date_problem(comparison, "from")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_audit_api_refuses_far_times(staff_api: APIClient, city_a: Municipality, moment: str) -> None:
    response = staff_api.get("/api/v1/audit-events/", {"municipality": city_a.ags, "since": moment})

    _assert_date_problem(response, "since")


def test_dates_in_the_range_are_accepted(staff_api: APIClient, city_a: Municipality) -> None:
    response = staff_api.get(
        "/api/v1/analytics/overview", {"from": "2025-01-01", "to": "2025-01-31", "municipality": city_a.ags}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(("since", "until"), FAR)
def test_pages_show_a_form_error_for_far_dates(
    client: Client, login: Any, owner: User, city_a: Municipality, service: Service, since: str, until: str
) -> None:
    login(client, owner)
    # (page, query, whether the page shows the filter's errors)
    pages = [
        (f"/analytics/{city_a.slug}/", {"period": "custom", "since": since, "until": until}, True),
        (f"/analytics/vergleich/{city_a.slug}/leika/{service.leika_key}/", {"from": since, "to": until}, False),
        (f"/vorgaenge/{city_a.slug}/statistik/", {"start": since, "end": until}, True),
        (f"/vorgaenge/{city_a.slug}/statistik.csv", {"start": since, "end": until}, False),
        (f"/verwaltung/{city_a.slug}/protokoll/", {"date_from": since, "date_to": until}, True),
    ]
    for url, query, shows_errors in pages:
        response = client.get(url, query)
        assert response.status_code < 500, url
        if shows_errors:
            assert RANGE_ERROR_DE in response.content.decode(), url


@pytest.mark.parametrize("period", ["0000-01", "0001-01", "0000"])
def test_open_data_files_of_impossible_periods_are_404(
    client: Client, login: Any, owner: User, city_a: Municipality, period: str
) -> None:
    login(client, owner)
    client.post(f"/analytics/vergleich/{city_a.slug}/opendata/", {"enabled": "on"})
    client.logout()

    assert client.get(f"/opendata/nutzungsstatistik/{city_a.ags}/{period}.csv").status_code == 404
