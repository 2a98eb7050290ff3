"""The anonymous page cache (``dikom.lib.pagecache``) as real browsers meet it, on a phone (390 px,
without JavaScript) and on a desktop (1280 px, with JavaScript).

The test suite runs with the cache off (``conf/ci.py``); ``make run`` and production have it on. Here
it is on, as there. One visitor opens the landing page, Fulda's portal and a service page, which
stores them. The city is then renamed in the database behind the cache's back. A second visitor, in
a fresh browser with no cookies, clicks the same way from ``/``: seeing the **old** name proves the
pages came from the store. On the stored service page the second visitor starts an application (the
CSRF token in a stored page must be this visitor's own, or the POST is refused) and arrives at step 1;
on a stored page they switch the language (the language form's token likewise). After the store's
time is over, the new name shows. A signed-in citizen never gets a stored page.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from dikom.accounts.models import User
from dikom.lib import pagecache
from dikom.municipalities.models import Municipality
from dikom.portal.tests.conftest import FAMILY, release_and_adopt
from tests.browser.support import assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def cache_on(browser_settings: LazySettings, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The page cache as ``make run`` has it, with a clock the test moves (a list holding "now")."""
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    browser_settings.DIKOM_PAGE_CACHE_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(pagecache, "now", lambda: clock[0])
    return clock  # the store is emptied around every test (conftest.py)


@pytest.fixture
def service(city_a: Municipality, city_b: Municipality) -> Any:
    return release_and_adopt(dict(FAMILY), city_a)


def go(page: Any, locator: Any) -> None:
    assert locator.count() >= 1, f"nothing to click on {page.url}"
    with page.expect_navigation():
        locator.first.click()


def click_to_the_service(page: Any, city: Municipality, service: Any) -> None:
    page.goto("/")
    go(page, page.locator("main a[href='/portal/']"))
    go(page, page.locator(f"main a[href='/portal/{city.slug}/']"))
    go(page, page.locator(f"main a[href='/portal/{city.slug}/dienst/{service.definition.slug}/']"))


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_stored_pages_serve_a_second_visitor_whose_forms_work(
    device: str, new_page: Any, cache_on: list[float], service: Any
) -> None:
    viewport = VIEWPORTS[device]
    javascript = device == "desktop"
    city = service.municipality

    first = new_page(viewport=viewport, java_script_enabled=javascript)
    click_to_the_service(first, city, service)
    assert "Fulda" in first.locator("main").inner_text()
    stored = len(pagecache.store)
    assert stored >= 3, "landing page, portal index, Fulda's portal and the service page are stored"

    # Renamed behind the store's back: a page from the store still shows the old name.
    Municipality.objects.filter(pk=city.pk).update(name="Fulda-Neu")

    second = new_page(viewport=viewport, java_script_enabled=javascript)
    click_to_the_service(second, city, service)
    assert "Fulda-Neu" not in second.locator("main").inner_text(), "the service page came from the store"
    assert "Fulda" in second.locator("main").inner_text()

    # The stored page's start form carries this visitor's CSRF token: the application starts.
    go(second, second.locator("main form[action$='/starten/'] button"))
    assert second.url.endswith("/schritt/1/"), second.url
    assert "Schritt 1 von" in second.locator(".portal-progress").inner_text()

    # A third visitor switches the language on a stored page: its token is accepted as well.
    third = new_page(viewport=viewport, java_script_enabled=javascript)
    third.goto(f"/portal/{city.slug}/")
    assert "Fulda-Neu" not in third.locator("main").inner_text()
    third.select_option("#language-select", "en")
    go(third, third.locator("form.language-switcher button[type='submit']"))
    assert third.locator("html").get_attribute("lang") == "en"

    # After the store's time the new name shows.
    cache_on[0] += 6
    fourth = new_page(viewport=viewport, java_script_enabled=javascript)
    click_to_the_service(fourth, city, service)
    assert "Fulda-Neu" in fourth.locator("main").inner_text()
    for page in (first, second, third, fourth):
        assert_no_csp_violations(page)


def test_a_signed_in_citizen_never_gets_a_stored_page(
    new_page: Any, cache_on: list[float], service: Any, citizen: User, password: str
) -> None:
    city = service.municipality
    visitor = new_page(viewport=VIEWPORTS["desktop"])
    visitor.goto(f"/portal/{city.slug}/")  # stored now
    Municipality.objects.filter(pk=city.pk).update(name="Fulda-Neu")

    page = new_page(viewport=VIEWPORTS["desktop"])
    page.goto(f"/portal/{city.slug}/")
    go(page, page.locator("main a[href^='/konto/anmelden/']"))
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(citizen.username)
    form.locator("input[name='password']").fill(password)
    go(page, form.locator("button[type='submit']"))
    assert page.url.endswith(f"/portal/{city.slug}/"), page.url
    assert "Fulda-Neu" in page.locator("main").inner_text(), "signed in: the page is rendered, not stored"
    assert page.locator("header a[href='/portal/antraege/']").count() == 1
