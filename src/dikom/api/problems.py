"""RFC 9457 problem details for every API error.

Every error the API answers is ``application/problem+json`` with ``type``,
``title``, ``status`` and ``detail``; validation errors add ``errors`` (one
entry per field: ``{"field": ..., "message": ..., "code": ...}``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_BASE = "https://dikom.de/problems/"
CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(status_code: int, detail: str, type_: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_ or str(status_code)),
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    body.update(extra)
    return body


def problem_response(status_code: int, detail: str, type_: str | None = None, **extra: Any) -> JsonResponse:
    """A problem+json answer for plain Django views (outside DRF)."""
    response = JsonResponse(problem(status_code, detail, type_, **extra), status=status_code)
    response["Content-Type"] = CONTENT_TYPE
    return response


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix
            errors.extend(_flatten(value, name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                errors.extend(_flatten(value, f"{prefix}[{index}]" if prefix else f"[{index}]"))
            else:
                errors.extend(_flatten(value, prefix))
    else:
        errors.append({"field": prefix, "message": str(detail), "code": getattr(detail, "code", "invalid") or "invalid"})
    return errors


TYPES = {
    exceptions.NotAuthenticated: "not-authenticated",
    exceptions.AuthenticationFailed: "authentication-failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.ParseError: "malformed-request",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "rate-limited",
    exceptions.ValidationError: "validation-error",
    exceptions.NotAcceptable: "not-acceptable",
}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    type_ = next((name for cls, name in TYPES.items() if isinstance(exc, cls)), str(response.status_code))
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = "The request contains invalid values."
        extra["errors"] = _flatten(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else "Request failed."
    else:
        detail = str(exc)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        extra["retry_after"] = int(exc.wait) + (0 if float(exc.wait).is_integer() else 1)
    response.data = problem(response.status_code, detail, type_, **extra)
    response.content_type = CONTENT_TYPE
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(status.HTTP_404_NOT_FOUND, f"No API endpoint at {request.path}.", "not-found")
