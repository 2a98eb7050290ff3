"""The landing page, a city's portal and a service page from the per-process page cache
(``dikom.lib.pagecache``, issue 21), through the whole middleware stack as visitors get them.

The CI settings switch the cache off (``DIKOM_PAGE_CACHE_SECONDS=0``); these tests switch it on
with the ``settings`` fixture, which also empties the store. "Uncached" below is a rendering
with the cache off; a "hit" is a request answered from the store, proved by a view that could
not run (its ``render`` replaced by one that fails) or by data changed in between.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from dikom.eservices.models import Adoption
from dikom.lib import pagecache
from dikom.lib.testing import english_client
from dikom.municipalities.models import Municipality
from dikom.portal.tests.conftest import release_and_adopt

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
NONCE = re.compile(r"nonce-[A-Za-z0-9+/=]{24}|nonce=\"[A-Za-z0-9+/=]{24}\"")


class Clock:
    """The store's clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(pagecache, "now", moved)
    return moved


@pytest.fixture
def cache_on(settings: Any, clock: Clock) -> Iterator[Any]:
    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    assert len(pagecache.store) == 0
    yield settings


def _normalised(text: str) -> str:
    return NONCE.sub("NONCE", TOKEN.sub("TOKEN", text))


def _german() -> Client:
    return Client()


def _pages(adoption: Adoption) -> dict[str, str]:
    city = adoption.municipality.slug
    slug = adoption.definition.slug
    return {"landing": "/", "portal": f"/portal/{city}/", "service": f"/portal/{city}/dienst/{slug}/"}


def _headers(response: Any) -> dict[str, str]:
    return {name: _normalised(value) for name, value in response.headers.items()}


def _view_must_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the view rendered; expected an answer from the store")

    monkeypatch.setattr("dikom.web.views.render", refuse)
    monkeypatch.setattr("dikom.portal.views.render", refuse)


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("page", ["landing", "portal", "service"])
def test_a_hit_is_the_uncached_page_byte_for_byte(
    adoption: Adoption, settings: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch, language: str, page: str
) -> None:
    path = _pages(adoption)[page]
    client = english_client() if language == "en" else _german()
    # Two renderings without the cache differ only in the CSRF token and the nonce.
    settings.DIKOM_PAGE_CACHE_SECONDS = 0
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.content != second.content  # a fresh masked token each time
    assert _normalised(first.content.decode()) == _normalised(second.content.decode())
    uncached = first

    settings.DIKOM_PAGE_CACHE_SECONDS = 5
    miss = client.get(path)
    assert len(pagecache.store) == 1
    _view_must_not_run(monkeypatch)
    hit = client.get(path)

    assert hit.status_code == 200
    assert _normalised(hit.content.decode()) == _normalised(uncached.content.decode())
    assert _normalised(miss.content.decode()) == _normalised(uncached.content.decode())
    assert _headers(hit) == _headers(uncached)
    assert hit["Content-Language"] == language
    # The per-request values are the request's own, not the stored ones.
    assert TOKEN.findall(hit.content.decode())
    assert set(TOKEN.findall(hit.content.decode())).isdisjoint(TOKEN.findall(miss.content.decode()))
    assert hit.cookies[django_settings.CSRF_COOKIE_NAME].value
    nonces = re.findall(r'nonce="([^"]+)"', hit.content.decode())
    if page == "landing":
        assert not nonces and "nonce-" not in hit["Content-Security-Policy"]
    else:
        assert nonces and f"'nonce-{nonces[0]}'" in hit["Content-Security-Policy"]
        assert nonces[0] not in miss.content.decode()


@pytest.mark.parametrize("form", ["start", "language"])
def test_the_csrf_token_of_a_hit_is_accepted_and_a_foreign_one_refused(
    adoption: Adoption, cache_on: Any, form: str
) -> None:
    service = _pages(adoption)["service"]
    Client().get(service)  # someone else's visit stores the page
    visitor = Client(enforce_csrf_checks=True)
    hit = visitor.get(service)
    assert hit.status_code == 200
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', hit.content.decode())
    assert len(set(token)) == 1  # one token per page, as one rendering has
    target, data = (
        (f"{service}starten/", {}) if form == "start" else ("/i18n/setlang/", {"language": "en", "next": service})
    )

    foreign = Client(enforce_csrf_checks=True)
    foreign.get(service)
    refused = foreign.post(target, {**data, "csrfmiddlewaretoken": token[0]})
    assert refused.status_code == 403

    accepted = visitor.post(target, {**data, "csrfmiddlewaretoken": token[0]})
    assert accepted.status_code == 302
    if form == "start":
        assert "/schritt/1/" in accepted["Location"] or "/anmelden/" in accepted["Location"]
    else:
        assert accepted.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_two_cities_never_get_each_others_page(adoption: Adoption, city_b: Municipality, cache_on: Any) -> None:
    city_a = adoption.municipality
    client = Client()
    first = client.get(f"/portal/{city_a.slug}/").content.decode()
    second = client.get(f"/portal/{city_b.slug}/").content.decode()
    assert city_a.name in first and city_b.name not in first
    assert city_b.name in second and city_a.name not in second
    assert "Familienzuschuss" in first and "Familienzuschuss" not in second
    # The service of city A under city B's portal does not exist there.
    assert client.get(f"/portal/{city_b.slug}/dienst/{adoption.definition.slug}/").status_code == 404
    # Answered from the store, each its own.
    assert city_a.name in client.get(f"/portal/{city_a.slug}/").content.decode()
    assert city_b.name in client.get(f"/portal/{city_b.slug}/").content.decode()
    assert len(pagecache.store) == 2


def test_another_host_is_another_entry(adoption: Adoption, cache_on: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _pages(adoption)["portal"]
    Client().get(path, HTTP_HOST="testserver")
    Client().get(path, HTTP_HOST="localhost")
    assert len(pagecache.store) == 2
    _view_must_not_run(monkeypatch)
    assert Client().get(path, HTTP_HOST="localhost").status_code == 200


def test_a_visitor_with_a_session_cookie_always_gets_the_rendering(adoption: Adoption, cache_on: Any) -> None:
    path = _pages(adoption)["portal"]
    Client().get(path)
    assert len(pagecache.store) == 1
    Adoption.objects.filter(pk=adoption.pk).update(active=False)

    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "not-a-session"
    page = client.get(path).content.decode()
    assert "Familienzuschuss" not in page  # rendered now, not the stored page
    # Still stored for visitors without a session, until it expires.
    assert "Familienzuschuss" in Client().get(path).content.decode()


def test_a_citizen_in_an_application_always_gets_the_rendering(adoption: Adoption, cache_on: Any) -> None:
    paths = _pages(adoption)
    citizen = Client()
    citizen.get(paths["service"])
    started = citizen.post(f"{paths['service']}starten/")
    assert started.status_code == 302
    assert django_settings.SESSION_COOKIE_NAME in citizen.cookies
    Adoption.objects.filter(pk=adoption.pk).update(hint_de="Neu: Termine nur vormittags.")
    assert "Neu: Termine nur vormittags." in citizen.get(paths["service"]).content.decode()
    assert "Neu: Termine nur vormittags." not in Client().get(paths["service"]).content.decode()


@pytest.mark.parametrize("page", ["landing", "portal", "service"])
def test_staff_never_get_a_stored_page(
    adoption: Adoption, owner: Any, login: Any, cache_on: Any, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _pages(adoption)[page]
    anonymous = Client().get(path).content.decode()
    assert "/start/" not in anonymous
    assert len(pagecache.store) == 1
    staff = login(Client(), owner)
    response = staff.get(path)
    html = response.content.decode()
    assert 'href="/start/"' in html  # the staff navigation
    assert "Log out" in html or "Abmelden" in html
    assert response["Cache-Control"] == "private, no-store"
    assert len(pagecache.store) == 1  # nothing stored for them either


def test_expiry_and_a_service_released_meanwhile(
    adoption: Adoption, family: dict[str, Any], cache_on: Any, clock: Clock
) -> None:
    path = _pages(adoption)["portal"]
    client = Client()
    assert "Familienzuschuss" in client.get(path).content.decode()
    other = copy.deepcopy(family)
    other["identity"]["title"] = {"de": "Hundesteuer", "en": "Dog tax"}
    release_and_adopt(other, adoption.municipality, suffix=" 2")

    clock.advance(4.9)
    assert "Hundesteuer" not in client.get(path).content.decode()  # stale for at most the setting's seconds
    clock.advance(0.2)
    page = client.get(path).content.decode()
    assert "Hundesteuer" in page and "Familienzuschuss" in page


def test_zero_seconds_switches_it_off(adoption: Adoption, settings: Any) -> None:
    settings.DIKOM_PAGE_CACHE_SECONDS = 0
    path = _pages(adoption)["portal"]
    client = Client()
    assert "Familienzuschuss" in client.get(path).content.decode()
    assert len(pagecache.store) == 0
    Adoption.objects.filter(pk=adoption.pk).update(active=False)
    assert "Familienzuschuss" not in client.get(path).content.decode()


def test_head_is_answered_and_stores_the_page(
    adoption: Adoption, cache_on: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _pages(adoption)["service"]
    head = Client().head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert len(pagecache.store) == 1
    _view_must_not_run(monkeypatch)
    again = Client().head(path)
    assert again.status_code == 200
    assert again.content == b""
    assert again["Content-Type"] == head["Content-Type"]
    assert "Familienzuschuss" in Client().get(path).content.decode()


def test_not_found_and_redirects_are_not_stored(adoption: Adoption, cache_on: Any) -> None:
    city = adoption.municipality.slug
    assert Client().get(f"/portal/{city}/dienst/gibt-es-nicht/").status_code == 404
    assert Client().get("/portal/gibt-es-nicht/").status_code == 404
    assert len(pagecache.store) == 0
    # A city page without the trailing slash is CommonMiddleware's redirect, never the view.
    assert Client().get(f"/portal/{city}").status_code == 301
    assert len(pagecache.store) == 0


def test_an_error_in_the_view_stores_nothing(
    adoption: Adoption, cache_on: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("broken template")

    monkeypatch.setattr("dikom.portal.views.render", broken)
    client = Client(raise_request_exception=False)
    assert client.get(_pages(adoption)["portal"]).status_code == 500
    assert len(pagecache.store) == 0


def test_query_strings_are_separate_entries(adoption: Adoption, cache_on: Any) -> None:
    path = _pages(adoption)["portal"]
    client = Client()
    found = client.get(path + "?q=Zuschuss").content.decode()
    nothing = client.get(path + "?q=Baugenehmigung").content.decode()
    everything = client.get(path).content.decode()
    assert "Familienzuschuss" in found and 'value="Zuschuss"' in found
    assert "Familienzuschuss" not in nothing and 'value="Baugenehmigung"' in nothing
    assert "Familienzuschuss" in everything
    assert len(pagecache.store) == 3
    assert 'value="Zuschuss"' in client.get(path + "?q=Zuschuss").content.decode()


def test_languages_are_separate_entries(adoption: Adoption, cache_on: Any) -> None:
    path = _pages(adoption)["service"]
    german = Client().get(path).content.decode()
    english = english_client().get(path).content.decode()
    assert '<html lang="de">' in german and '<html lang="en">' in english
    assert '<html lang="en">' in english_client().get(path).content.decode()
    assert '<html lang="de">' in Client().get(path).content.decode()
    assert len(pagecache.store) == 2
