"""Naming another municipality is refused with 403 on every operation of the API.

The operations come from the served OpenAPI document, so an endpoint added
later is covered without touching this file: every operation an API key may
call is asked with another city's AGS, slug and id in ``?municipality=`` (and
in an ``{ags}`` path parameter), by a key of Fulda carrying every scope, and
every operation a session may call is asked by Fulda's administrator naming
Gießen. Each must answer 403 problem+json and change nothing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from dikom.accounts.actions import create_api_key
from dikom.accounts.scopes import SCOPES
from dikom.analytics.figures.models import MonthlyFigure
from dikom.analytics.models import Service, UsageEvent
from dikom.api.tests.conftest import auth
from dikom.audit.models import AuditEvent
from dikom.municipalities.models import Municipality

pytestmark = pytest.mark.django_db

#: Operations known today; the test fails if the schema stops listing them (so it cannot pass by finding nothing).
KNOWN_KEY_OPERATIONS = {
    "analytics_figures_submit",
    "analytics_figures_list",
    "analytics_services_create",
    "analytics_services_list",
    "analytics_events_create",
    "analytics_summary_retrieve",
    "audit_events_list",
    "eservices_adoptions_list",
    "municipalities_org_units_list",
    "me_retrieve",
}


def _schema(api: APIClient) -> dict[str, Any]:
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any], scheme: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation that ``scheme`` may call and that is not public."""
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            security = operation.get("security", schema.get("security", []))
            if {} in security or not any(scheme in requirement for requirement in security):
                continue
            found.append((method, path, operation))
    return found


def _url(path: str, operation: dict[str, Any], ags: str) -> str:
    """``path`` with ``ags`` for ``{ags}`` and a well-formed value for any other path parameter."""
    kinds = {
        parameter["name"]: parameter.get("schema", {})
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "path"
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ags":
            return ags
        kind = kinds.get(name, {})
        if kind.get("format") == "uuid":
            return str(uuid.uuid4())
        if kind.get("type") == "integer":
            return "1"
        return "x"

    return re.sub(r"\{([^}]+)\}", value, path)


def _call(api: APIClient, method: str, url: str, **extra: Any) -> Any:
    if method == "get":
        return api.get(url, **extra)
    return getattr(api, method)(url, data={}, format="json", **extra)


def _state() -> tuple[int, ...]:
    return (
        AuditEvent.objects.count(),
        Service.objects.count(),
        MonthlyFigure.objects.count(),
        UsageEvent.objects.count(),
    )


def _assert_refused(response: Any, what: str) -> None:
    assert response.status_code == 403, (what, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/problem+json"), what
    assert response.json()["status"] == 403, what


def test_an_api_key_naming_another_city_is_refused_on_every_operation(
    api: APIClient, city_a: Municipality, city_b: Municipality
) -> None:
    schema = _schema(api)
    operations = _operations(schema, "ApiKey")
    assert {operation["operationId"] for _m, _p, operation in operations} >= KNOWN_KEY_OPERATIONS
    key = create_api_key(municipality=city_a, name="Alles", scopes=list(SCOPES))
    before = _state()

    for method, path, operation in operations:
        name = f"{method.upper()} {path}"
        assert "403" in operation["responses"], f"{name} does not document 403"
        for other in (city_b.ags, city_b.slug, str(city_b.pk)):
            url = _url(path, operation, city_a.ags)
            response = _call(api, method, f"{url}?municipality={other}", **auth(key))
            _assert_refused(response, f"{name} ?municipality={other}")
            # The parameter given twice: the other city hidden behind the key's own.
            twice = f"{url}?municipality={city_a.ags}&municipality={other}"
            _assert_refused(_call(api, method, twice, **auth(key)), f"{name} twice")
        if "{ags}" in path:
            _assert_refused(_call(api, method, _url(path, operation, city_b.ags), **auth(key)), f"{name} path")
        # Its own city is not refused: the 403 above is about the other city, not the key.
        own = _call(api, method, f"{_url(path, operation, city_a.ags)}?municipality={city_a.ags}", **auth(key))
        assert own.status_code != 403, (name, own.content[:300])

    # Empty bodies: the calls naming its own city are refused as invalid, so nothing changed anywhere.
    assert _state() == before


def test_a_refused_key_writes_nothing_to_its_own_city(
    api: APIClient, city_a: Municipality, city_b: Municipality
) -> None:
    key = create_api_key(municipality=city_a, name="Zahlen", scopes=["analytics:ingest", "analytics:manage"])
    rows = {"rows": [{"month": "2025-10", "leika": "99050012104000", "metric": "transactions", "value": 5}]}

    for other in (city_b.ags, city_b.slug, str(city_b.pk)):
        response = api.post(f"/api/v1/analytics/figures?municipality={other}", rows, format="json", **auth(key))
        _assert_refused(response, other)
        created = api.post(
            f"/api/v1/analytics/services/?municipality={other}",
            {"name": "Hundesteuer", "external_key": "hund"},
            format="json",
            **auth(key),
        )
        _assert_refused(created, other)

    assert MonthlyFigure.objects.count() == 0
    assert Service.objects.count() == 0
    # Without the parameter, or naming its own city, the key works as before.
    assert api.post("/api/v1/analytics/figures", rows, format="json", **auth(key)).status_code == 200
    own = api.post(f"/api/v1/analytics/figures?municipality={city_a.ags}", rows, format="json", **auth(key))
    assert own.status_code == 200
    assert set(MonthlyFigure.objects.values_list("municipality_id", flat=True)) == {city_a.pk}


def test_a_person_naming_a_city_without_a_role_there_is_refused_on_every_operation(
    api: APIClient, city_a: Municipality, city_b: Municipality, owner: Any, login: Any
) -> None:
    schema = _schema(api)
    operations = _operations(schema, "cookieAuth")
    assert operations
    login(api, owner)  # administrator of Fulda, no role in Gießen
    before = _state()

    for method, path, operation in operations:
        name = f"{method.upper()} {path}"
        url = _url(path, operation, city_b.ags)
        _assert_refused(_call(api, method, f"{url}?municipality={city_b.ags}"), name)

    assert _state() == before


def test_a_platform_administrator_may_name_any_city(
    api: APIClient, city_a: Municipality, city_b: Municipality, platform_admin: Any, login: Any
) -> None:
    login(api, platform_admin)
    for path in ("/api/v1/analytics/services/", "/api/v1/audit-events/", "/api/v1/eservices/adoptions/"):
        assert api.get(f"{path}?municipality={city_b.ags}").status_code == 200, path
