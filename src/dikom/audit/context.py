"""Where the current state change comes from (web, API, system), for the audit log.

A middleware sets it per request, so actions need not pass the request down
just to label their audit events; outside requests (commands, tasks) it is
``system``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

current_source: ContextVar[str | None] = ContextVar("dikom_audit_source", default=None)


def source_for_path(path: str) -> str:
    return "api" if path.startswith("/api/") or path.startswith("/matomo.php") else "web"


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_source.set(source_for_path(request.path))
        try:
            return self.get_response(request)
        finally:
            current_source.reset(token)
