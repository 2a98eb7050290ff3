"""The API answers as its OpenAPI document says (findings of a schemathesis run, one test each).

``make api-fuzz`` checks the whole API against the document; these tests pin
the individual fixes so they cannot come back unnoticed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from django.test import Client, RequestFactory
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from rest_framework.test import APIClient

from dikom.accounts.scopes import AUDIT_READ, MUNICIPALITY_READ
from dikom.analytics.figures.models import FigureUpload
from dikom.api.problems import csrf_failure
from dikom.api.schema import EnglishSchemaGenerator
from dikom.api.tests.conftest import auth, key_for
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality, OrgUnit

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return EnglishSchemaGenerator().get_schema(request=None, public=True)


def matches(schema: dict[str, Any], fragment: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` satisfies ``fragment``, a part of the OpenAPI document whose $refs point into it."""
    try:
        # OpenAPI 3.0 dialect (``nullable``, ``readOnly``), not plain JSON Schema.
        OAS30Validator({**fragment, "components": schema["components"]}, format_checker=oas30_format_checker).validate(
            value
        )
    except jsonschema.ValidationError:
        return False
    return True


def component_property(schema: dict[str, Any], component: str, name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][component]["properties"][name]


def operation(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return schema["paths"][path][method]


def parameter(schema: dict[str, Any], path: str, name: str, method: str = "get") -> dict[str, Any]:
    return next(p for p in operation(schema, path, method)["parameters"] if p["name"] == name)


def errors_of(response: Any, status: int) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return json.loads(response.content)["errors"]


def test_a_body_that_is_not_json_is_a_400_with_errors(api: APIClient, city_a: Municipality) -> None:
    token = key_for(city_a, "analytics:manage")

    response = api.generic(
        "POST", "/api/v1/analytics/unassigned/assign", "{", content_type="application/json", **auth(token)
    )

    # The documented 400 (ValidationProblem) always has `errors`; here it names the whole request.
    errors = errors_of(response, 400)
    assert errors and errors[0]["field"] == ""


@pytest.mark.parametrize(
    "query, field",
    [
        ("offset=null", "offset"),
        ("offset=-1", "offset"),
        ("offset=10000000000", "offset"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("limit=true", "limit"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_limit_and_offset_that_the_schema_refuses_are_400(
    api: APIClient, city_a: Municipality, query: str, field: str
) -> None:
    errors = errors_of(api.get(f"/api/v1/municipalities/?{query}"), 400)

    assert [e["field"] for e in errors] == [field]


def test_a_limit_above_the_ceiling_is_cut_not_refused(api: APIClient, city_a: Municipality, schema: Any) -> None:
    response = api.get("/api/v1/municipalities/?limit=5000&offset=0")

    assert response.status_code == 200
    assert matches(schema, parameter(schema, "/api/v1/municipalities/", "limit")["schema"], 5000)


def test_an_empty_query_value_is_a_400_not_a_missing_parameter(api: APIClient, city_a: Municipality) -> None:
    token = key_for(city_a, AUDIT_READ)

    errors = errors_of(api.get("/api/v1/audit-events/?until=", **auth(token)), 400)

    assert [e["field"] for e in errors] == ["until"]


def test_the_ags_rule_is_in_the_schema_and_an_unknown_key_is_404(
    api: APIClient, city_a: Municipality, schema: Any
) -> None:
    pattern = parameter(schema, "/api/v1/municipalities/{ags}/", "ags")["schema"]["pattern"]

    # 23 is no German state: the document says so, and the answer agrees.
    assert not re.search(pattern, "23032694")
    assert api.get("/api/v1/municipalities/23032694/").status_code == 400
    # A well-formed key that names no member is not found, not invalid.
    assert re.search(pattern, "06999999")
    assert api.get("/api/v1/municipalities/06999999/").status_code == 404
    assert api.get(f"/api/v1/municipalities/{city_a.ags}/").status_code == 200


def test_the_unassigned_keys_are_a_plain_list_as_documented(api: APIClient, city_a: Municipality, schema: Any) -> None:
    token = key_for(city_a, "analytics:read")

    response = api.get("/api/v1/analytics/unassigned/", **auth(token))

    documented = operation(schema, "/api/v1/analytics/unassigned/")["responses"]["200"]
    assert response.status_code == 200
    assert matches(schema, documented["content"]["application/json"]["schema"], response.json())


def test_blank_website_email_and_kind_are_within_the_schema(api: APIClient, city_a: Municipality, schema: Any) -> None:
    city_a.website = ""
    city_a.save(update_fields=["website"])
    OrgUnit.objects.create(municipality=city_a, name="Ohne Angaben", kind="", email="")
    token = key_for(city_a, MUNICIPALITY_READ)

    municipality = api.get(f"/api/v1/municipalities/{city_a.ags}/").json()
    units = api.get(f"/api/v1/municipalities/{city_a.ags}/org-units/", **auth(token)).json()["results"]

    assert municipality["website"] == ""
    assert matches(schema, {"$ref": "#/components/schemas/Municipality"}, municipality)
    assert matches(schema, {"$ref": "#/components/schemas/OrgUnit"}, units[0])
    # Still a URL when there is one: "" is the only other value.
    assert component_property(schema, "Municipality", "website")["anyOf"] == [{"format": "uri"}, {"maxLength": 0}]


def test_audit_events_of_automation_rules_are_within_the_schema(
    api: APIClient, city_a: Municipality, schema: Any
) -> None:
    audit.record("case.decided", municipality=city_a, changes={"rule": "Regel"}, source="automation")
    token = key_for(city_a, AUDIT_READ)

    events = api.get("/api/v1/audit-events/?action=case.", **auth(token)).json()["results"]

    assert [e["source"] for e in events] == ["automation"]
    assert matches(schema, {"$ref": "#/components/schemas/AuditEvent"}, events[0])


def test_a_json_value_of_the_wrong_type_is_refused(api: APIClient, city_a: Municipality) -> None:
    token = key_for(city_a, "analytics:manage")
    body = {"name": "Hundesteuer", "external_key": "hundesteuer", "ozg_topic": 0}

    response = api.post("/api/v1/analytics/services/", body, format="json", **auth(token))

    # DRF would store the number as the string "0"; the schema says string.
    assert [e["field"] for e in errors_of(response, 400)] == ["ozg_topic"]


def test_the_figures_upload_checks_its_municipality_parameter(api: APIClient, city_a: Municipality) -> None:
    token = key_for(city_a, "analytics:ingest")
    body = {"rows": [{"month": "2025-10", "leika": "99050012104000", "metric": "transactions", "value": 1}]}

    response = api.post(
        "/api/v1/analytics/figures?municipality=066310091&dry_run=1", body, format="json", **auth(token)
    )

    # An API key may name only its own city: anything else, malformed values included, is the documented 403.
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == PROBLEM
    assert not FigureUpload.objects.exists()


def test_a_post_to_an_unknown_api_path_is_a_404_problem_even_without_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post("/api/v1/no-such-endpoint/", {"a": 1})

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_a_failed_csrf_check_under_api_is_a_problem_elsewhere_the_page() -> None:
    factory = RequestFactory()

    api_answer = csrf_failure(factory.post("/api/v1/anything/"), reason="CSRF cookie not set.")
    page = csrf_failure(factory.post("/konto/anmelden/"), reason="CSRF cookie not set.")

    assert api_answer.status_code == 403 and api_answer["Content-Type"] == PROBLEM
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_every_operation_documents_the_generic_problem_answers(schema: Any) -> None:
    for path, item in schema["paths"].items():
        for method, op in item.items():
            missing = {"400", "401", "403", "404", "429", "default"} - set(op["responses"])
            assert not missing, f"{method.upper()} {path} lacks {sorted(missing)}"
            bad_request = op["responses"]["400"]["content"][PROBLEM]["schema"]
            assert bad_request == {"$ref": "#/components/schemas/ValidationProblem"}
