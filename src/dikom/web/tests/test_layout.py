"""The one layout of the platform: landmarks, navigation per user, language switch, notices, CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def nav_html(response) -> str:
    match = re.search(r'<nav class="site-nav".*?</nav>', response.content.decode(), re.S)
    assert match, "primary navigation missing"
    return match.group(0)


def test_layout_has_landmarks_skip_link_and_footer_links(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<html lang="de">' in html
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<header class="site-header">' in html
    assert re.search(r'<nav class="site-nav" aria-label="[^"]+">', html)
    assert "<footer" in html
    assert 'href="/api/v1/docs/"' in html
    assert 'href="/barrierefreiheit/"' in html
    assert "EUPL-1.2" in html
    assert '<link rel="stylesheet" href="/static/dikom/css/dikom.css">' in html


def test_language_switch_is_a_form_without_javascript(client: Client) -> None:
    html = client.get("/kommunen/").content.decode()
    assert re.search(r'<form class="language-switcher" action="/i18n/setlang/" method="post">', html)
    assert '<input type="hidden" name="next" value="/kommunen/">' in html
    assert '<option value="en" lang="en"' in html
    assert "csrfmiddlewaretoken" in html


def test_switching_to_english_changes_the_page_language(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert '<option value="en" lang="en" selected>' in html


def test_anonymous_navigation(client: Client) -> None:
    nav = nav_html(client.get("/"))
    assert 'href="/konto/anmelden/"' in nav
    assert 'href="/kommunen/"' in nav
    assert "/konto/abmelden/" not in nav


def test_citizen_navigation_has_account_and_post_logout(client: Client, citizen, login) -> None:
    login(client, citizen)
    nav = nav_html(client.get("/"))
    assert re.search(r'<a href="/konto/"[^>]*>Mein Konto</a>', nav)
    assert re.search(r'<form class="inline-form" action="/konto/abmelden/" method="post">', nav)
    assert '<button class="button button--link" type="submit">' in nav
    assert "/verwaltung/" not in nav
    assert "/plattform-admin/" not in nav


def test_staff_navigation_links_account_and_service_library(client: Client, colleague, login) -> None:
    login(client, colleague)
    nav = nav_html(client.get("/"))
    assert re.search(r'<a href="/konto/"[^>]*>Mein Konto</a>', nav)
    assert re.search(r'<a href="/dienste/"[^>]*>Online-Dienste</a>', nav)


def test_admin_link_only_for_municipality_admin_of_that_city(client: Client, owner, colleague, outsider, login) -> None:
    login(client, owner)
    assert 'href="/verwaltung/fulda/"' in nav_html(client.get("/"))

    colleague_client = login(Client(), colleague)
    nav = nav_html(colleague_client.get("/"))
    assert "/verwaltung/" not in nav
    assert 'href="/start/"' in nav  # staff get the workspace

    outsider_client = login(Client(), outsider)
    nav = nav_html(outsider_client.get("/"))
    assert 'href="/verwaltung/giessen/"' in nav
    assert "/verwaltung/fulda/" not in nav


def test_platform_admin_sees_platform_administration(client: Client, platform_admin, login) -> None:
    login(client, platform_admin)
    assert 'href="/plattform-admin/"' in nav_html(client.get("/"))


def test_navigation_costs_few_queries(client: Client, owner, login, django_assert_max_num_queries) -> None:
    login(client, owner)
    with django_assert_max_num_queries(6):  # session, user, OTP device, 2 for the navigation, + slack
        response = client.get("/")
    assert response.status_code == 200


def test_demo_banner_only_in_demo(client: Client, settings) -> None:
    assert "notice--banner" not in client.get("/").content.decode()
    settings.DIKOM_DEMO = True
    html = client.get("/").content.decode()
    assert '<p class="notice notice--warning notice--banner">Demo-Installation: Alle Daten sind fiktiv.</p>' in html


def test_relaxed_two_factor_notice_for_staff_only(client: Client, settings, colleague, citizen, login) -> None:
    settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    notice = "Die Zwei-Faktor-Anmeldung ist in dieser Demo nicht verpflichtend."
    login(client, colleague)
    assert notice in client.get("/").content.decode()
    citizen_client = login(Client(), citizen)
    assert notice not in citizen_client.get("/").content.decode()
    assert notice not in Client().get("/").content.decode()


def test_two_factor_notice_absent_when_enforced(client: Client, colleague, login) -> None:
    login(client, colleague)
    assert "in dieser Demo nicht verpflichtend" not in client.get("/").content.decode()


def test_csp_forbids_inline_scripts(client: Client) -> None:
    header = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in header.split(";") if d.strip())
    assert "script-src" in directives
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives.get("style-src", "")


def test_pages_have_no_inline_scripts_or_style_attributes(client: Client, city_a) -> None:
    for url in ["/", "/kommunen/", "/kommunen/fulda/", "/dienste/", "/barrierefreiheit/"]:
        html = client.get(url).content.decode()
        assert "<script" not in html, url
        assert " style=" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url
