"""Every main page speaks one language: German by default, English when chosen.

Each role (anonymous, citizen, city A's administrator and caseworker, city B's
administrator, the platform administrator) opens the main pages of every
module and the admin's change lists; ``dikom.lib.langcheck`` flags English UI
text on the German pages and German UI text on the English ones.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from dikom.cases.tests.staff_pages import adoption, media, submit_case, unit_a  # noqa: F401  (fixtures)
from dikom.lib.langcheck import foreign_text, visible_texts
from dikom.lib.testing import english_client

MAIN_PAGES = [
    "/",
    "/start/",
    "/kommunen/",
    "/kommunen/{city}/",
    "/barrierefreiheit/",
    "/konto/",
    "/konto/anmelden/",
    "/konto/registrieren/",
    "/konto/passwort-vergessen/",
    "/konto/passwort-aendern/",
    "/konto/zwei-faktor/einrichten/",
    "/verwaltung/",
    "/verwaltung/{city}/",
    "/verwaltung/{city}/organisation/",
    "/verwaltung/{city}/personal/",
    "/verwaltung/{city}/api-schluessel/",
    "/verwaltung/{city}/api-schluessel/neu/",
    "/verwaltung/{city}/protokoll/",
    "/dienste/",
    "/dienste/meine/",
    "/dienste/neu/",
    "/dienste/importieren/",
    "/dienste/benachrichtigungen/",
    "/dienste/{service}/",
    "/portal/{city}/",
    "/portal/{city}/dienst/{service}/",
    "/portal/antraege/",
    "/analytics/",
    "/analytics/{city}/",
    "/analytics/{city}/dashboards/",
    "/vorgaenge/",
    "/vorgaenge/{city}/",
    "/vorgaenge/{city}/statistik/",
    "/automatisierung/",
    "/automatisierung/{city}/",
    "/automatisierung/{city}/neu/",
    "/automatisierung/{city}/protokoll/",
    "/uebergabe/",
    "/stadt/",
    "/stadt/{city}/",
    "/stadt/{city}/baeume/",
    "/stadt/{city}/meine-baeume/",
    "/stadt/{city}/giessprotokoll/",
    "/stadt/{city}/baustellen/",
    "/stadt/{city}/baustellen/neu/",
    "/stadt/{city}/abfallbehaelter/",
    "/stadt/{city}/sensordaten/",
    "/uebergabe/{city}/",
    "/uebergabe/{city}/ziele/",
    "/uebergabe/{city}/ziele/neu/",
    "/plattform-admin/",
]


def admin_pages() -> list[str]:
    pages = []
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        pages.append(reverse("admin:{}_{}_add".format(*info)))
    return pages


def user_data(*objects: Any) -> list[str]:
    """Names the test data brings along (a service title is whatever its author wrote)."""
    from dikom.accounts.models import User
    from dikom.portal.tests.conftest import FAMILY

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [text for item in value.values() for text in strings(item)]
        if isinstance(value, list):
            return [text for item in value for text in strings(item)]
        return []

    usernames = list(User.objects.values_list("username", flat=True))
    # The audit log keeps what was recorded, in the language of the moment it was recorded.
    recorded = ["Vorgang aus dem Online-Antrag eröffnet."]
    return [str(obj) for obj in objects] + usernames + strings(FAMILY) + recorded


def crawl(client: Client, pages: list[str], language: str, ignore: list[str]) -> dict[str, list[str]]:
    """The foreign texts per page; a page that fails with 5xx is reported too."""
    found: dict[str, list[str]] = {}
    for page in pages:
        response = client.get(page, follow=True)
        if response.status_code >= 500:
            found[page] = [f"status {response.status_code}"]
            continue
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        texts = foreign_text(response.content.decode(), language, ignore=ignore)
        if texts:
            found[page] = texts
    return found


@pytest.fixture
def case(adoption: Any) -> Any:  # noqa: F811
    return submit_case(adoption)


@pytest.fixture
def pages(case: Any, adoption: Any, city_a: Any) -> list[str]:  # noqa: F811
    slug = adoption.definition.slug
    case_page = f"/vorgaenge/{city_a.slug}/{case.uuid}/"
    return [p.format(city=city_a.slug, service=slug) for p in MAIN_PAGES] + [case_page]


ROLES = ["anonymous", "citizen", "owner", "colleague", "outsider", "platform_admin"]


def _client(request: Any, role: str, login: Any, language: str) -> Client:
    client = english_client() if language == "en" else Client()
    if role != "anonymous":
        login(client, request.getfixturevalue(role))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_german_pages_show_no_english_ui_text(
    request: Any,
    role: str,
    login: Any,
    pages: list[str],
    adoption: Any,  # noqa: F811
    city_a: Any,
) -> None:
    client = _client(request, role, login, "de")
    if role == "platform_admin":
        pages = pages + admin_pages()
    found = crawl(client, pages, "de", ignore=user_data(adoption, adoption.definition, city_a))
    assert not found, "English text on German pages:\n" + "\n".join(f"{p}: {t}" for p, t in found.items())


@pytest.mark.parametrize("role", ROLES)
def test_english_pages_show_no_german_ui_text(
    request: Any,
    role: str,
    login: Any,
    pages: list[str],
    adoption: Any,  # noqa: F811
    city_a: Any,
) -> None:
    client = _client(request, role, login, "en")
    if role == "platform_admin":
        pages = pages + admin_pages()
    found = crawl(client, pages, "en", ignore=user_data(adoption, adoption.definition, city_a))
    assert not found, "German text on English pages:\n" + "\n".join(f"{p}: {t}" for p, t in found.items())


def test_checker_flags_english_on_a_german_page() -> None:
    html = """<html><head><title>Start</title><script>var x = "Save";</script></head>
    <body><h1>Anträge</h1><button>Save</button><select><option value="">---------</option></select>
    <input type="submit" value="Cancel"><pre>Delete</pre><p hidden>Edit</p>
    <a title="Log in" href="/">x</a></body></html>"""
    assert foreign_text(html, "de") == ["Save", "---------", "Cancel", "Log in"]
    assert "Delete" not in visible_texts(html)


def test_checker_flags_catalogued_german_on_an_english_page() -> None:
    # "Log in" is translated as "Anmelden" in the catalogue.
    assert foreign_text("<p>Anmelden</p><p>Fulda</p>", "en") == ["Anmelden"]
    assert foreign_text("<p>Log in</p>", "en") == []
