"""OpenAPI descriptions shared by all endpoints: the problem+json error bodies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
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
    409: (ValidationProblemSerializer, "Conflicts with a stored object, e.g. a key that is already taken."),
    429: (ProblemSerializer, "Rate limit exceeded; retry after the seconds in the `Retry-After` header."),
}


def problems(*codes: int) -> dict[Any, OpenApiResponse]:
    """OpenAPI responses for the given error status codes, all ``application/problem+json``."""
    return {
        (code, CONTENT_TYPE): OpenApiResponse(response=DESCRIPTIONS[code][0], description=DESCRIPTIONS[code][1])
        for code in codes
    }


def _blank(field: serializers.CharField) -> bool:
    """Whether ``field`` may hold "": it allows blank input, or it reads a model field with ``blank=True``
    (DRF drops ``allow_blank`` from read-only fields, so the model is asked)."""
    if getattr(field, "allow_blank", False):
        return True
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:
        return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus what it leaves out about blank strings.

    A serializer whose endpoint refuses unknown fields says so with
    ``rejects_unknown_fields = True``; its request schema then has
    ``additionalProperties: false``. A list that must not be empty
    (``many=True, allow_empty=False``) gets ``minItems: 1``.

    A blank-allowed e-mail or URL field (``EmailField(blank=True)`` in a model)
    holds "" where nothing is recorded; drf-spectacular documents it with
    ``format: email`` / ``uri`` only, which "" does not satisfy. Such a field is
    documented as "the format, or empty".
    """

    def _map_basic_serializer(self, serializer: Any, direction: str) -> Any:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "rejects_unknown_fields", False):
            schema["additionalProperties"] = False
        properties = schema.get("properties", {})
        for name, field in serializer.fields.items():
            prop = properties.get(name)
            if isinstance(field, serializers.ListSerializer) and not field.allow_empty and isinstance(prop, dict):
                prop.setdefault("minItems", 1)
            if (
                isinstance(field, serializers.CharField)
                and isinstance(prop, dict)
                and "format" in prop
                and _blank(field)
            ):
                prop["anyOf"] = [{"format": prop.pop("format")}, {"maxLength": 0}]
        return schema


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
