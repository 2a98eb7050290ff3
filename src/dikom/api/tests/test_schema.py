"""The OpenAPI document and the documentation page."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import translation
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from dikom.api.schema import EnglishSchemaGenerator

pytestmark = pytest.mark.django_db

ERROR_CODES = {"400", "401", "403", "404", "429"}


@pytest.fixture
def schema(api: APIClient) -> dict[str, Any]:
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_served_schema_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    validate(schema)

    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/municipalities/",
        "/api/v1/municipalities/{ags}/",
        "/api/v1/municipalities/{ags}/org-units/",
        "/api/v1/audit-events/",
        "/api/v1/me/",
    } <= set(schema["paths"])


def test_yaml_is_served_too(api: APIClient) -> None:
    response = api.get("/api/v1/schema/")

    assert response.status_code == 200
    validate(yaml.safe_load(response.content))


def test_api_key_security_scheme_is_described(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Api-Key <key>`: a key of one municipality, created by its administrators.",
    }
    org_units = schema["paths"]["/api/v1/municipalities/{ags}/org-units/"]["get"]
    assert {"ApiKey": []} in org_units["security"]


def test_errors_reference_the_problem_component(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            errors = {code: body for code, body in operation["responses"].items() if code.startswith(("4", "5"))}
            assert errors, path
            for code, body in errors.items():
                assert set(body["content"]) == {"application/problem+json"}, (path, code)
                ref = body["content"]["application/problem+json"]["schema"]["$ref"]
                component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
                # Problem, ValidationProblem or an extension of them: always the RFC 9457 members.
                assert {"type", "title", "status", "detail"} <= set(component["required"]), (path, code, ref)
    org_units = schema["paths"]["/api/v1/municipalities/{ags}/org-units/"]["get"]["responses"]
    assert set(org_units) >= ERROR_CODES
    assert {"type", "title", "status", "detail"} <= set(schema["components"]["schemas"]["Problem"]["required"])


def test_schema_generator_writes_english_even_when_german_is_active() -> None:
    # The committed openapi.yaml must not depend on the default language or on compiled catalogs.
    with translation.override("de"):
        generated = str(EnglishSchemaGenerator().get_schema(request=None, public=True))

    assert "Number of results to return per page." in generated
    assert "Anzahl der pro Seite" not in generated


def test_docs_page_loads_swagger_ui_without_inline_scripts(client: Client) -> None:
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the page loads its scripts"
    assert all(" src=" in tag for tag in scripts), scripts
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "no inline script body"
    # Nothing comes from a CDN.
    assert "cdn." not in html
    assert "https://" not in " ".join(scripts)
    assert "<style" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]


def test_docs_init_script_is_served_as_javascript(client: Client) -> None:
    response = client.get("/api/v1/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()
    assert "/api/v1/schema/" in response.content.decode()


def test_swagger_assets_are_vendored(client: Client) -> None:
    html = client.get("/api/v1/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="/static/([^"?]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        assert finders.find(asset), asset
