from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set."""

    PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(self), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            # Pages of signed-in users hold personal or internal data: no shared caches.
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response


class GermanByDefaultLocaleMiddleware:
    """Pages are German unless the visitor chose another language with the switcher.

    Browsers send ``Accept-Language`` from their own settings; for a German
    municipal service that must not turn the site English behind the citizen's
    back. Only the language cookie (set by the language switcher) changes it.
    The API keeps content negotiation by ``Accept-Language`` for machine clients.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.middleware.locale import LocaleMiddleware

        self.get_response = get_response
        self.negotiating = LocaleMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.negotiating(request)  # type: ignore[return-value]  # sync stack only
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RefuseNulMiddleware:
    """A request with NUL in its path, query string or form body gets 400 before any view runs.

    PostgreSQL cannot store or even compare text with NUL: a search for
    ``%00`` would end in a database error (500). Django's form fields and DRF's
    text fields refuse NUL already, and JSON bodies are checked by
    ``dikom.lib.jsonparse``; this covers query parameters read directly and
    form posts of views without a form. Multipart bodies are left alone (files
    may hold NUL; their text fields go through form fields).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            from django.utils.translation import gettext

            from dikom.api.problems import problem_response

            detail = gettext("The request contains a NUL character, which is not allowed.")
            if request.path.startswith("/sta/"):
                # SensorThings clients read ``code`` and ``message`` beside the problem fields.
                return problem_response(400, detail, "malformed-request", code=400, message=detail)
            if request.path.startswith("/api/") or request.path == "/matomo.php":
                return problem_response(400, detail, "malformed-request")
            return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        from django.core.exceptions import RequestDataTooBig

        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                return b"%00" in request.body or b"\x00" in request.body
            except RequestDataTooBig:
                return False  # the view's own reading answers 413
        return False
