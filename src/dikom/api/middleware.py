"""Request size limit for the API.

DRF parses JSON by reading the request stream directly, so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` check (which only guards ``request.body`` and
form parsing) never runs for API requests. This middleware refuses a body whose
declared length exceeds the limit before any view reads it, with a 413 problem.
A body without ``Content-Length`` cannot be read past the declared length by
Django's WSGI handler, so checking the header is enough.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from dikom.api.problems import problem_response

API_PREFIX = "/api/"


class ApiRequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith(API_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return problem_response(400, gettext("The Content-Length header is not a number."), "malformed-request")
            if length > limit:
                return problem_response(
                    413,
                    gettext("The request body has %(length)d bytes; at most %(limit)d are accepted.")
                    % {"length": length, "limit": limit},
                    "content-too-large",
                    max_bytes=limit,
                )
        return self.get_response(request)
