"""OpenAPI descriptions shared by all endpoints: the problem+json error bodies."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from dikom.api.problems import CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem details object."""

    type = serializers.URLField(help_text="URI identifying the problem type.")
    title = serializers.CharField(help_text="Short, human-readable summary of the problem type (English).")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="Explanation of this occurrence, in the requested language.")
    retry_after = serializers.IntegerField(
        required=False, help_text="Only on 429: seconds to wait before the next request (also the Retry-After header)."
    )


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Name of the invalid parameter or field (dotted for nested ones).")
    message = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid` or `required`.")


class ValidationProblemSerializer(ProblemSerializer):
    """A problem details object for invalid input, with one entry per invalid field."""

    errors = FieldErrorSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


DESCRIPTIONS = {
    400: (ValidationProblemSerializer, "Invalid input: `errors` names each invalid field."),
    401: (ProblemSerializer, "No or invalid credentials (see the `WWW-Authenticate` header)."),
    403: (ProblemSerializer, "The credentials do not allow this: another municipality, a missing scope or role."),
    404: (ProblemSerializer, "Not found."),
    429: (ProblemSerializer, "Rate limit exceeded; retry after the seconds in the `Retry-After` header."),
}


def problems(*codes: int) -> dict[Any, OpenApiResponse]:
    """OpenAPI responses for the given error status codes, all ``application/problem+json``."""
    return {
        (code, CONTENT_TYPE): OpenApiResponse(response=DESCRIPTIONS[code][0], description=DESCRIPTIONS[code][1])
        for code in codes
    }


class EnglishSchemaGenerator(SchemaGenerator):
    """Generates the OpenAPI document in English, whatever language is active.

    Descriptions come partly from translatable strings (choice labels, help
    texts, DRF's pagination parameters). Without a fixed language the committed
    ``openapi.yaml`` would depend on the default language and on whether the
    message catalogs happen to be compiled, and the CI drift check would flap.
    """

    def get_schema(self, *args: Any, **kwargs: Any) -> Any:
        with translation.override("en"):
            return super().get_schema(*args, **kwargs)


# Problem answers every operation may give, whatever its own description lists:
# input checks (400), credentials (401, 403), unknown objects (404) and the rate
# limit (429). Documented once here, so a new check in any endpoint stays inside
# the published contract; ``default`` covers the rarer ones (405, 406, 413, 415).
GENERIC_PROBLEMS = {
    "400": ("ValidationProblem", DESCRIPTIONS[400][1]),
    "401": ("Problem", DESCRIPTIONS[401][1]),
    "403": ("Problem", DESCRIPTIONS[403][1]),
    "404": ("Problem", DESCRIPTIONS[404][1]),
    "429": ("Problem", DESCRIPTIONS[429][1]),
    "default": ("Problem", "Any other error, as RFC 9457 problem details."),
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def add_generic_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation documents the generic problem answers."""
    schemas = result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, (component, description) in GENERIC_PROBLEMS.items():
                if code in responses or component not in schemas:
                    continue
                responses[code] = {
                    "content": {CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{component}"}}},
                    "description": description,
                }
    return result
