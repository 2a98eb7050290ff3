"""RFC 9457 problem details for every API error.

Every error the API answers is ``application/problem+json`` with ``type``,
``title``, ``status`` and ``detail``; validation errors add ``errors`` (one
entry per field: ``{"field": ..., "message": ..., "code": ...}``), rate-limit
errors add ``retry_after`` (seconds, also sent as the ``Retry-After`` header).

``title`` is a short English summary of the problem type, as RFC 9457 intends;
``detail`` is translated into the language the client asked for.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://dikom.de/problems/"
CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"

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


class ContentTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than this server accepts.")
    default_code = "content_too_large"


class Conflict(exceptions.APIException):
    """The request is valid but clashes with what is stored, e.g. a key that must be unique is taken."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This clashes with an existing object.")
    default_code = "conflict"

    def __init__(self, detail: Any = None, *, field: str = "") -> None:
        super().__init__(detail)
        self.field = field


def problem(status_code: int, detail: str, type_: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_ or str(status_code)),
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": str(detail),
    }
    body.update(extra)
    if status_code == 400 and "errors" not in body:
        # The contract: every 400 names what was wrong in ``errors``. A request that
        # could not be read at all (malformed JSON, a broken multipart body) has no
        # field to name, so the one entry names the whole request (field "").
        body["errors"] = [{"field": "", "message": body["detail"], "code": type_ or "invalid"}]
    return body


def problem_response(status_code: int, detail: str, type_: str | None = None, **extra: Any) -> JsonResponse:
    """A problem+json answer for plain Django views and middleware (outside DRF)."""
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
        errors.append(
            {"field": prefix, "message": str(detail), "code": getattr(detail, "code", "invalid") or "invalid"}
        )
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
    ContentTooLarge: "content-too-large",
    Conflict: "conflict",
}


# DRF's JSONParser reports "JSON parse error - <Python's English message>"; the message
# is replaced by a translated one that keeps the position of the error.
JSON_PARSE_ERROR = "JSON parse error"
JSON_POSITION = re.compile(r"line (?P<line>\d+) column (?P<column>\d+)")


def _json_parse_detail(message: str) -> tuple[str, dict[str, int]]:
    """A translated explanation of a malformed JSON body, and where the error is (line and column)."""
    match = JSON_POSITION.search(message)
    if match is None:
        return gettext("The request body is not valid JSON."), {}
    position = {"line": int(match["line"]), "column": int(match["column"])}
    detail = (
        gettext(
            "The request body is not valid JSON: error in line %(line)d, column %(column)d. "
            "Check quotation marks, commas and brackets there."
        )
        % position
    )
    return detail, position


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error becomes problem+json, unexpected ones a logged 500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        exc = ContentTooLarge()
    response = exception_handler(exc, context)
    if response is None and database_unavailable(exc):
        return _unavailable(exc)
    if response is None:
        return _server_error(exc, context)
    type_ = next((name for cls, name in TYPES.items() if isinstance(exc, cls)), str(response.status_code))
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = gettext("The request contains invalid values.")
        extra["errors"] = _flatten(exc.detail)
    elif isinstance(exc, Conflict):
        detail = str(exc.detail)
        extra["errors"] = [{"field": exc.field, "message": detail, "code": "unique"}]
    elif isinstance(exc, exceptions.ParseError) and str(exc.detail).startswith(JSON_PARSE_ERROR):
        detail, position = _json_parse_detail(str(exc.detail))
        extra.update(position)
    elif isinstance(exc, exceptions.APIException):
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else gettext("The request failed.")
    else:  # pragma: no cover - DRF's handler only answers APIExceptions
        detail = str(exc)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        extra["retry_after"] = math.ceil(wait)
    response.data = problem(response.status_code, detail, type_, **extra)
    response.content_type = CONTENT_TYPE
    return response


# Seconds a client is asked to wait before it tries again while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot be reached or used just now (a restarting primary,
    a lost connection, a lock timeout): worth a retry (503), not a server error (500)."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable_detail() -> str:
    return gettext("The database cannot be reached just now; nothing was changed. Please try again shortly.")


def _unavailable(exc: Exception) -> Response:
    logger.warning("database unavailable: %s", exc)
    set_rollback()
    return Response(
        problem(503, database_unavailable_detail(), "unavailable"),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        content_type=CONTENT_TYPE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An unexpected error: log it with its traceback and answer a 500 problem, never an HTML page.

    Django's ``got_request_exception`` signal is sent as Django itself would, so
    error reporting (and the test client, which re-raises) still see it.
    """
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error("Unhandled error in API view", exc_info=exc)
    got_request_exception.send(sender=None, request=django_request)
    set_rollback()
    return Response(
        problem(500, gettext("An unexpected error occurred. It has been logged."), "server-error"),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content_type=CONTENT_TYPE,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF_FAILURE_VIEW: a 403 problem under /api/, Django's own page elsewhere.

    DRF's views check CSRF themselves (only for session callers); this answers
    for the rest of the API's URLs, which would otherwise get an HTML page.
    """
    if request.path.startswith(API_PREFIX):
        return problem_response(
            status.HTTP_403_FORBIDDEN, gettext("CSRF check failed: %(reason)s") % {"reason": reason}, "forbidden"
        )
    return django_csrf_failure(request, reason=reason)


@csrf_exempt  # answers 404 for any method and changes nothing, so a POST needs no CSRF token either
def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """The catch-all at the end of the API's URLs: unknown paths are a 404 problem, not an HTML page."""
    detail = gettext("No API endpoint at %(path)s.") % {"path": request.path}
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            detail += " " + gettext("Did you mean %(path)s?") % {"path": request.path + "/"}
    return problem_response(status.HTTP_404_NOT_FOUND, detail, "not-found")
