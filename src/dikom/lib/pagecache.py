"""Whole citizen pages kept per process for a few seconds, for visitors without a session (issue 21).

A "micro-cache" as operators put in front of Django with nginx, inside dikom so that ``make run``
has it too. ``@anonymous_page_cache`` on a view (the landing page, a city's portal, a service
page) stores the view's response for ``DIKOM_PAGE_CACHE_SECONDS`` (default 5, 0: off) and
answers the next requests for the same page from memory, without running the view.

What it promises:

- **Only visitors without a session see stored pages.** A request is eligible only if it is a
  GET or HEAD without a session cookie, messages cookie, the replica's "read your own write"
  cookie or an ``Authorization`` header. Everybody else (a citizen in the middle of an
  application, staff) gets the normal rendering, always. The language cookie is part of the key;
  the CSRF cookie is used, not stored (below). Cookies that no server code reads do not matter.
- **Only pages that are the same for every such visitor are stored**: status 200, no cookie set by
  the view, no ``Cache-Control: private/no-store/no-cache`` and no ``Vary`` from the view, no
  per-response CSP or frame options, an anonymous user, a session still empty and unmodified
  after rendering (reading the empty session is fine and happens on every page: the navigation
  asks who the user is), no message queued. The CSRF secret itself must not appear in the body.
- **Per-request values stay per request.** Every masked CSRF token of the rendering (any
  64-character run that unmasks to the request's secret) and the CSP nonce are replaced by
  placeholders in the stored body; a hit calls ``get_token(request)`` (so that Django's CSRF
  middleware sets the cookie as it would) and takes ``request.csp_nonce`` (so that the CSP
  middleware puts that nonce into the header), only when the rendering used them.
- **The key** is the scheme, the host, the full path with query string and the active language;
  the settings (demo banner, 2FA notice) are the same for the whole process, and a settings
  change (tests) empties the store. Nothing else the three pages show depends on the request:
  ``portal/tests/test_page_cache.py`` renders each page twice without the store and compares the
  bytes (CSRF token and nonce aside), in German and English.
- **Staleness is bounded by time**, not by invalidation: a change (a newly released service, an
  edited city page) shows to visitors without a session after at most ``DIKOM_PAGE_CACHE_SECONDS``
  plus the time of one rendering (while one request renders an expired page anew, the others of
  that process are answered from the expired copy instead of rendering it as well). Visitors with
  a session see it at once. The processes share nothing; each has its own store.
- **Bounded memory**: at most ``MAX_ENTRIES`` pages and ``MAX_BYTES`` of bodies per process,
  least recently used out first; a body over ``MAX_ENTRY_BYTES`` is not stored.

Outer middleware runs for hits as for any response (security headers, ``Content-Language``,
CSRF and session cookies, ``Vary: Cookie``, the CSP header, ``Content-Length``), so a hit's
headers are the ones the page gets without the store.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware import csrf as django_csrf
from django.middleware.csrf import get_token
from django.utils.cache import get_max_age
from django.utils.translation import get_language

from dikom.lib.replicas import STICKY_COOKIE

MAX_ENTRIES = 512
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024

# NUL never occurs in a page dikom renders (a body that has one is not stored).
_CSRF_PLACEHOLDER = b"\x00csrf\x00"
_NONCE_PLACEHOLDER = b"\x00nonce\x00"
# A masked CSRF token: 64 letters and digits (django.middleware.csrf.CSRF_TOKEN_LENGTH).
_TOKEN_LIKE = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
_PRIVATE = ("private", "no-store", "no-cache")
# Set by view decorators for one response; such a response is not the plain page.
_RESPONSE_MARKS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
    "xframe_options_exempt",
)

#: The clock of the store; tests move it instead of sleeping.
now: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class Entry:
    expires: float
    headers: tuple[tuple[str, str], ...]
    body: bytes  # with placeholders for the CSRF token and the nonce
    uses_csrf: bool
    uses_nonce: bool


class Store:
    """Pages by key, least recently used first out, bounded by count and bytes; thread-safe."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._bytes = 0
        self._refreshing: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()

    def lookup(self, key: tuple[str, ...], at: float) -> Entry | None:
        """The entry to answer with, or None: then the caller renders and must call ``done(key)``.

        An expired entry is still returned while another thread renders the page anew."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry.expires > at or key in self._refreshing):
                self._entries.move_to_end(key)
                return entry
            self._refreshing.add(key)
            return None

    def done(self, key: tuple[str, ...], entry: Entry | None) -> None:
        """The rendering for ``key`` ended: store ``entry``, or drop what was there (not storable)."""
        with self._lock:
            self._refreshing.discard(key)
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            if entry is None or len(entry.body) > MAX_ENTRY_BYTES:
                return
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while len(self._entries) > MAX_ENTRIES or self._bytes > MAX_BYTES:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._refreshing.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes


store = Store()


def _on_setting_changed(**_kwargs: object) -> None:
    store.clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="dikom.lib.pagecache")


def eligible(request: HttpRequest) -> bool:
    """Whether ``request`` may be answered from the store: a GET or HEAD of a visitor without a
    session, messages, a recent write of their own or credentials."""
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    if cookies and (
        settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies or STICKY_COOKIE in cookies
    ):
        return False
    return "HTTP_AUTHORIZATION" not in request.META


def _key(request: HttpRequest) -> tuple[str, ...] | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # the view's own handling answers it
    return (request.scheme or "", host, request.get_full_path(), get_language() or "")


def anonymous_page_cache(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Answer visitors without a session from the per-process store (see the module docstring)."""

    @wraps(view)
    def cached_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        seconds = settings.DIKOM_PAGE_CACHE_SECONDS
        if seconds <= 0 or not eligible(request):
            return view(request, *args, **kwargs)
        key = _key(request)
        if key is None:
            return view(request, *args, **kwargs)
        entry = store.lookup(key, now())
        if entry is not None:
            return _answer(request, entry)
        stored: Entry | None = None
        try:
            response = view(request, *args, **kwargs)
            stored = _entry_for(request, response, now() + seconds)
        finally:
            store.done(key, stored)
        return response

    return cached_view


def _answer(request: HttpRequest, entry: Entry) -> HttpResponse:
    body = entry.body
    if entry.uses_csrf:
        body = body.replace(_CSRF_PLACEHOLDER, get_token(request).encode("ascii"))
    if entry.uses_nonce:
        body = body.replace(_NONCE_PLACEHOLDER, str(request.csp_nonce).encode("ascii"))  # type: ignore[attr-defined]
    return HttpResponse(body, headers=dict(entry.headers))


def _entry_for(request: HttpRequest, response: HttpResponseBase, expires: float) -> Entry | None:
    """What to store of ``response``, or None when it is not the same page for every visitor
    without a session."""
    if response.status_code != 200 or response.streaming or not isinstance(response, HttpResponse):
        return None
    if response.cookies or response.has_header("Vary"):
        return None
    cache_control = response.get("Cache-Control", "").lower()
    if any(word in cache_control for word in _PRIVATE) or get_max_age(response) == 0:
        return None
    if any(getattr(response, mark, None) not in (None, False) for mark in _RESPONSE_MARKS):
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return None
    session = getattr(request, "session", None)
    if session is not None and (session.modified or not session.is_empty()):
        return None
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", None)
    if queued:
        return None
    body = response.content
    if b"\x00" in body:
        return None
    uses_csrf = bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
    if uses_csrf:
        secret = request.META.get("CSRF_COOKIE", "")
        if not secret or secret.encode("ascii") in body:
            return None
        body = _TOKEN_LIKE.sub(lambda found: _placeholder_if_token(found.group(0), secret), body)
    nonce = getattr(request, "_csp_nonce", None)
    uses_nonce = isinstance(nonce, str)
    if isinstance(nonce, str):
        body = body.replace(nonce.encode("ascii"), _NONCE_PLACEHOLDER)
    headers = tuple((name, value) for name, value in response.headers.items())
    return Entry(expires=expires, headers=headers, body=body, uses_csrf=uses_csrf, uses_nonce=uses_nonce)


def _placeholder_if_token(candidate: bytes, secret: str) -> bytes:
    # Django's own unmasking (no public name for it): the token is this request's if it unmasks to its secret.
    if django_csrf._unmask_cipher_token(candidate.decode("ascii")) == secret:  # type: ignore[attr-defined]
        return _CSRF_PLACEHOLDER
    return candidate
