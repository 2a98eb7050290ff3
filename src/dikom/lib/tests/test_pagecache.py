"""The per-process page store (``dikom.lib.pagecache``): bounds, expiry, who is eligible, what is
stored. The pages themselves through the middleware: ``dikom/portal/tests/test_page_cache.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import RequestFactory

from dikom.lib import pagecache
from dikom.lib.pagecache import Entry, Store, anonymous_page_cache, eligible
from dikom.lib.replicas import STICKY_COOKIE

SRC = Path(__file__).resolve().parents[2]


def _entry(size: int, expires: float = 100.0) -> Entry:
    return Entry(expires=expires, headers=(), body=b"x" * size, uses_csrf=False, uses_nonce=False)


def _store(store: Store, key: str, entry: Entry) -> None:
    assert store.lookup((key,), 0.0) is None
    store.done((key,), entry)


def test_the_store_is_bounded_by_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagecache, "MAX_ENTRIES", 3)
    store = Store()
    for name in "abcd":
        _store(store, name, _entry(10))
    assert len(store) == 3
    assert store.lookup(("a",), 0.0) is None  # the oldest went first
    store.done(("a",), None)
    assert store.lookup(("b",), 0.0) is not None
    _store(store, "e", _entry(10))
    # b was used after c: c went
    assert store.lookup(("c",), 0.0) is None
    assert store.lookup(("b",), 0.0) is not None


def test_the_store_is_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagecache, "MAX_BYTES", 250)
    monkeypatch.setattr(pagecache, "MAX_ENTRY_BYTES", 200)
    store = Store()
    for name in "abc":
        _store(store, name, _entry(100))
    assert len(store) == 2
    assert store.bytes == 200
    _store(store, "big", _entry(201))  # over the limit of one entry: not stored, nothing evicted
    assert len(store) == 2
    assert store.bytes == 200
    assert store.lookup(("b",), 200.0) is None  # expired: rendered anew, smaller
    store.done(("b",), _entry(50))
    assert store.bytes == 150


def test_an_expired_entry_is_rendered_anew_once_while_others_get_the_old_one() -> None:
    store = Store()
    _store(store, "page", _entry(10, expires=5.0))
    assert store.lookup(("page",), 4.9) is not None
    assert store.lookup(("page",), 5.0) is None  # this caller renders
    assert store.lookup(("page",), 5.1) is not None  # meanwhile: the expired copy
    store.done(("page",), _entry(20, expires=10.0))
    found = store.lookup(("page",), 5.2)
    assert found is not None and len(found.body) == 20


def test_a_rendering_that_cannot_be_stored_drops_the_old_copy() -> None:
    store = Store()
    _store(store, "page", _entry(10, expires=5.0))
    assert store.lookup(("page",), 6.0) is None
    store.done(("page",), None)  # e.g. the service was withdrawn: 404
    assert len(store) == 0
    assert store.lookup(("page",), 6.0) is None


@pytest.mark.parametrize(
    ("method", "cookies", "meta", "expected"),
    [
        ("GET", {}, {}, True),
        ("HEAD", {}, {}, True),
        ("GET", {"csrftoken": "x" * 32, "django_language": "en", "_pk_id": "tracker"}, {}, True),
        ("POST", {}, {}, False),
        ("OPTIONS", {}, {}, False),
        ("GET", {"sessionid": "abc"}, {}, False),
        ("GET", {CookieStorage.cookie_name: "abc"}, {}, False),
        ("GET", {STICKY_COOKIE: "9999999999"}, {}, False),
        ("GET", {}, {"HTTP_AUTHORIZATION": "Bearer abc"}, False),
    ],
)
def test_who_is_eligible(method: str, cookies: dict[str, str], meta: dict[str, str], expected: bool) -> None:
    request = RequestFactory().generic(method, "/", **meta)
    request.COOKIES.update(cookies)
    assert django_settings.SESSION_COOKIE_NAME == "sessionid"
    assert eligible(request) is expected


def _view_answering(response: HttpResponse, calls: list[int]) -> Any:
    def view(request: Any) -> HttpResponse:
        calls.append(1)
        return response

    return anonymous_page_cache(view)


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse("private", headers={"Cache-Control": "private"}),
        HttpResponse("no-store", headers={"Cache-Control": "no-store"}),
        HttpResponse("max-age 0", headers={"Cache-Control": "max-age=0"}),
        HttpResponse("vary", headers={"Vary": "Accept-Language"}),
        HttpResponse("created", status=201),
        HttpResponse("nul \x00 inside"),
    ],
    ids=["private", "no-store", "max-age-0", "vary", "201", "nul"],
)
def test_responses_that_are_not_for_everybody_are_not_stored(settings: Any, response: HttpResponse) -> None:
    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    calls: list[int] = []
    view = _view_answering(response, calls)
    view(RequestFactory().get("/"))
    view(RequestFactory().get("/"))
    assert calls == [1, 1]
    assert len(pagecache.store) == 0


def test_a_response_with_a_cookie_is_not_stored(settings: Any) -> None:
    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    response = HttpResponse("hello")
    response.set_cookie("chosen", "1")
    calls: list[int] = []
    view = _view_answering(response, calls)
    view(RequestFactory().get("/"))
    view(RequestFactory().get("/"))
    assert calls == [1, 1]


def test_a_plain_response_is_stored_and_answered(settings: Any) -> None:
    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    calls: list[int] = []
    view = _view_answering(HttpResponse("hello", headers={"X-Page": "1"}), calls)
    first = view(RequestFactory().get("/"))
    second = view(RequestFactory().get("/"))
    assert calls == [1]
    assert second.content == first.content == b"hello"
    assert second["X-Page"] == "1"
    assert second["Content-Type"] == first["Content-Type"]


@pytest.mark.django_db
def test_a_message_queued_during_the_rendering_is_not_stored(settings: Any, rf: Any) -> None:
    from django.contrib import messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    settings.DIKOM_PAGE_CACHE_SECONDS = 5

    def view(request: Any) -> HttpResponse:
        messages.info(request, "Saved.")
        return HttpResponse("page with a message")

    cached = anonymous_page_cache(view)
    request = rf.get("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    cached(request)
    assert len(pagecache.store) == 0


@pytest.mark.django_db
def test_a_session_written_during_the_rendering_is_not_stored(settings: Any, rf: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    settings.DIKOM_PAGE_CACHE_SECONDS = 5

    def view(request: Any) -> HttpResponse:
        request.session["seen"] = True
        return HttpResponse("page that remembers the visitor")

    request = rf.get("/")
    request.session = SessionStore()
    anonymous_page_cache(view)(request)
    assert len(pagecache.store) == 0


def test_a_settings_change_empties_the_store(settings: Any) -> None:
    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    _view_answering(HttpResponse("hello"), [])(RequestFactory().get("/"))
    assert len(pagecache.store) == 1
    settings.DIKOM_DEMO = not django_settings.DIKOM_DEMO
    assert len(pagecache.store) == 0


# Files that read request cookies, and the cookies they read. ``eligible`` refuses the session,
# messages and replica cookies; the language cookie is in the key; the login throttle's device
# cookie only matters on the sign-in form, which is not cached. A new reader must be looked at:
# if a cached page could show something that depends on it, ``eligible`` must refuse it.
COOKIE_READERS = {
    "dikom/web/middleware.py",
    "dikom/lib/replicas.py",
    "dikom/accounts/throttling.py",
}


def test_every_server_side_cookie_reader_is_known() -> None:
    readers = set()
    for path in SRC.rglob("*.py"):
        if "/tests/" in str(path) or "/migrations/" in str(path):
            continue
        if re.search(r"\.COOKIES\b", path.read_text(encoding="utf-8")):
            readers.add(str(path.relative_to(SRC.parent)))
    readers.discard("dikom/lib/pagecache.py")
    assert readers == COOKIE_READERS
