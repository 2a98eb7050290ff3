"""Sessions read by ``dikom.lib.sessions`` (one prepared statement) behave as Django's database sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dikom.lib.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_platform_uses_this_store() -> None:
    assert settings.SESSION_ENGINE == "dikom.lib.sessions"


def test_a_saved_session_is_read_back_with_one_statement() -> None:
    store = SessionStore()
    store["portal_applications"] = ["a-uuid"]
    store["text"] = "Grüße"
    store.save()
    key = store.session_key

    again = SessionStore(key)
    with CaptureQueriesContext(connection) as captured:
        assert again["portal_applications"] == ["a-uuid"]
        assert again["text"] == "Grüße"
    assert len(captured.captured_queries) == 1
    assert again.session_key == key
    # Django's own backend reads the same data from the same row.
    assert DjangoStore(key)["text"] == "Grüße"


def test_an_expired_session_is_empty_and_its_key_dropped() -> None:
    store = SessionStore()
    store["x"] = 1
    store.save()
    key = store.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    expired = SessionStore(key)
    assert expired.get("x") is None
    assert expired.session_key is None  # a new key is made on the next save, as with Django's backend
    expired["y"] = 2
    expired.save()
    assert expired.session_key not in (None, key)


def test_unknown_and_invalid_keys_give_an_empty_session() -> None:
    assert SessionStore("a" * 32).load() == {}
    assert SessionStore("short").load() == {}  # not a valid key: no query, empty
    unknown = SessionStore("b" * 32)
    assert dict(unknown.items()) == {}
    assert unknown.session_key is None


def test_a_session_that_expires_later_is_still_read() -> None:
    store = SessionStore()
    store["z"] = "kept"
    store.save()
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    assert SessionStore(store.session_key)["z"] == "kept"


def test_a_signed_in_page_keeps_working(client) -> None:
    from dikom.accounts.tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    assert client.session.session_key
    response = client.get("/konto/")
    assert response.status_code == 200
    assert response.wsgi_request.user == user
