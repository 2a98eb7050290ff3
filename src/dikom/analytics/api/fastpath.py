"""The fast path of ``POST /api/v1/analytics/events``: plain WSGI in front of Django.

The ingestion endpoint is the one hot path of the platform: form systems send
an event per page view. Through Django's full stack a request costs about
4.4 ms of CPU before the database is asked anything (15 middlewares, URL
resolving, DRF's request cycle; measured, ``docs/benchmarks.md``), while the
work itself (check the key, validate, store) needs a fraction of that.

``IngestFastPath`` wraps the platform's WSGI application. It answers a request
itself only when everything about it is plainly in order: a POST without a
query string, with a JSON body within the size limit, a valid API key with
the ``analytics:ingest`` scope, budget left, and every event valid. It checks each by the endpoint's
rules (the key with ``grant_of_api_key``, which applies the rules of
``authenticate_api_key`` without building models; the budget and the events
with the endpoint's own code) and stores through the group commit
(``dikom.analytics.groupcommit``), so concurrent single events share one
transaction. Anything else, every error included, goes to Django unchanged
(the body it has read is handed on), so every error answer comes from one
place and is exactly what the endpoint documents.

The answer carries the same headers Django's stack adds to this endpoint's
answers (``test_ingest_fastpath.py`` compares them). Switch it off with
``DIKOM_ANALYTICS_FAST_PATH=false``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import translation
from django.utils.translation import gettext

from dikom.accounts.service import grant_of_api_key
from dikom.analytics import groupcommit, ingest
from dikom.analytics.api.ingest_support import IngestThrottle, take_from_budget
from dikom.analytics.models import EventSource
from dikom.analytics.scopes import ANALYTICS_INGEST
from dikom.api.authentication import KEYWORDS
from dikom.api.problems import CONTENT_TYPE, problem

PATH = "/api/v1/analytics/events"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# What Django's middlewares add to this endpoint's answers (security headers, API cache policy).
STATIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("Allow", "POST, OPTIONS"),
    ("X-Frame-Options", "DENY"),
    ("Vary", "Accept-Language, Cookie"),
    ("Cache-Control", "private, no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
DERIVED_HEADERS = frozenset({"Content-Security-Policy", "Permissions-Policy", "Cross-Origin-Resource-Policy"})


@lru_cache(maxsize=64)
def _language(accept_language: str) -> str:
    """The answer's language as Django's LocaleMiddleware negotiates it for the API (no cookie, no URL prefix)."""
    from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

    for code, _quality in parse_accept_lang_header(accept_language):
        if code == "*":
            break
        try:
            return str(get_supported_language_variant(code))
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)


def _ingest_rate() -> tuple[int, int] | None:
    """The ingest budget as the endpoint's throttle reads it (its class's ``THROTTLE_RATES``)."""
    rate = IngestThrottle.THROTTLE_RATES.get(IngestThrottle.scope)
    limit, duration = IngestThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    if limit is None or duration is None:
        return None
    return limit, duration


class _Answer(NamedTuple):
    status: str
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]  # besides Content-Type, -Length, -Language and STATIC_HEADERS


class IngestFastPath:
    """WSGI middleware: plainly valid ingestion requests are answered here, everything else by ``app``."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._django: dict[tuple[Any, ...], list[tuple[str, str]] | None] = {}

    def django_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]] | None:
        """The headers Django's stack adds to this endpoint's answers for this host and scheme, or
        None if Django would not serve the request at all (a host outside ``ALLOWED_HOSTS``, plain
        HTTP under ``SECURE_SSL_REDIRECT``).

        Taken from a real answer of Django's stack to an ``OPTIONS`` request without a key
        (401, no database needed), once per (host, scheme) and process: Content-Security-Policy,
        Permissions-Policy, Cross-Origin-Resource-Policy and, on HTTPS, Strict-Transport-Security
        come from settings.
        """
        proxy = settings.SECURE_PROXY_SSL_HEADER
        proxy_value = environ.get(proxy[0], "") if proxy else ""
        key = (
            environ.get("HTTP_HOST", ""),
            environ.get("SERVER_NAME", ""),
            environ.get("wsgi.url_scheme"),
            proxy_value,
        )
        cached = self._django.get(key, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        captured: list[tuple[str, str]] = []
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            statuses.append(status)
            captured.extend(headers)

        probe: dict[str, Any] = {
            name: environ[name]
            for name in ("HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "wsgi.version", "wsgi.errors")
            if name in environ
        }
        if proxy and proxy_value:
            probe[proxy[0]] = proxy_value
        probe.update(
            {
                "REQUEST_METHOD": "OPTIONS",
                "PATH_INFO": PATH,
                "SCRIPT_NAME": environ.get("SCRIPT_NAME", ""),
                "wsgi.input": io.BytesIO(b""),
                "wsgi.multithread": True,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
            }
        )
        probe.setdefault("wsgi.errors", io.StringIO())
        answer = self.app(probe, capture)
        try:
            for _chunk in answer:
                pass
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        headers = (
            [(name, value) for name, value in captured if name in DERIVED_HEADERS]
            if statuses and statuses[0].startswith("401")
            else None
        )
        if len(self._django) > 100:  # hosts come from clients: keep the memory bounded
            self._django.clear()
        self._django[key] = headers
        return headers

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        answer = self._handle(environ)
        if answer is None:
            return self.app(environ, start_response)
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            ("Content-Language", _language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))),
            *STATIC_HEADERS,
            *answer.headers,
        ]
        start_response(answer.status, headers)
        return [answer.body]

    def _handle(self, environ: dict[str, Any]) -> _Answer | None:
        """The answer, or None to let Django answer (then ``wsgi.input`` still holds the whole body)."""
        if not settings.DIKOM_ANALYTICS_FAST_PATH:
            return None
        if environ.get("QUERY_STRING"):
            # The endpoint takes no query parameters; one such as ?municipality= is Django's to
            # judge (an API key naming another city gets 403 there), never silently ignored here.
            return None
        django_headers = self.django_headers(environ)
        if django_headers is None:
            return None
        if settings.LANGUAGE_COOKIE_NAME in environ.get("HTTP_COOKIE", ""):
            return None  # language chosen by cookie: Django negotiates
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.partition(";")[0].strip().lower() != "application/json" or (
            "charset" in content_type.lower() and "utf-8" not in content_type.lower()
        ):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length <= 0 or (limit is not None and length > limit):
            return None
        keyword, _sep, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if keyword.lower() not in KEYWORDS or not token:
            return None

        stream = environ["wsgi.input"]
        body = stream.read(length)
        # From here on, Django gets the body we have read.
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != length:
            return None

        try:
            grant = grant_of_api_key(token)
        except DatabaseError:
            # This thread's connection broke (database restarted): Django answers with a fresh one.
            connection.close()
            return None
        if grant is None or ANALYTICS_INGEST not in grant.scopes:
            return None
        rate = _ingest_rate()
        if rate is not None:
            # The key the endpoint's throttle counts under (DRF's cache_format), in its cache.
            ident = IngestThrottle.cache_format % {"scope": IngestThrottle.scope, "ident": grant.prefix}
            if take_from_budget(IngestThrottle.cache, ident, rate[0], rate[1], time.time()) is not None:
                return None  # Django answers 429 with Retry-After (and counts nothing either)

        # Not ``dikom.lib.jsonparse.loads_limited``: its depth scan would double
        # the cost of decoding here. orjson itself refuses nesting beyond 1 024
        # levels without recursing; Django then answers (400 for the depth),
        # and the event check below accepts no nested values at all.
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if type(data) is not dict:
            return None
        single = "events" not in data
        if single:
            items: list[Any] = [data]
        else:
            items = data["events"]
            if len(data) != 1 or type(items) is not list or not items:
                return None
            if len(items) > settings.DIKOM_ANALYTICS_MAX_BATCH:
                return None

        batch = ingest.check_events(grant.municipality_id, items, source=EventSource.API, api_key_prefix=grant.prefix)
        if batch.result.rejected:
            return None  # Django names every rejected event in the request's language
        if batch.events:
            try:
                groupcommit.committer().store(batch)
            except groupcommit.StoreFailed:
                return self._unavailable(environ, django_headers)
        result = batch.result
        status = "201 Created" if single and result.accepted else "200 OK"
        return _Answer(status, orjson.dumps(result.as_dict()), "application/json", django_headers)

    @staticmethod
    def _unavailable(environ: dict[str, Any], django_headers: list[tuple[str, str]]) -> _Answer:
        with translation.override(_language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))):
            body = problem(
                503,
                gettext("The events could not be stored just now; nothing was stored. Send them again shortly."),
                "unavailable",
            )
        return _Answer(
            "503 Service Unavailable", orjson.dumps(body), CONTENT_TYPE, [*django_headers, ("Retry-After", "5")]
        )
