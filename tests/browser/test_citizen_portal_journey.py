"""A citizen finds the city's portal by clicking from ``/``, signs in with the citizen account, applies,
pays on the demo platform and arrives at "Meine Anträge" — on a phone (390 px, without JavaScript) and on
a desktop (1280 px, with JavaScript).

On every page: no horizontal scrolling, no serious or critical axe-core finding (checked in a twin
page with JavaScript where the journey runs without). Screenshots of each page go to
``dikom-citizen-journey/`` in the temporary directory (``/tmp``) for a look by eye.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from dikom.accounts.models import User
from dikom.municipalities.models import Municipality
from dikom.portal.models import Application
from dikom.portal.tests.conftest import FAMILY, release_and_adopt
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(tempfile.gettempdir()) / "dikom-citizen-journey"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def portal_settings(browser_settings: LazySettings) -> LazySettings:
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    browser_settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    return browser_settings


@pytest.fixture
def service(city_a: Municipality, city_b: Municipality) -> Any:
    """Fulda offers a paid service that needs no identity check beyond the citizen account."""
    city_a.brand_colour = "#8a1538"
    city_a.website = "https://www.fulda.example/"
    city_a.save()
    content = {**FAMILY, "payment_required": True, "processing": {"processing_days": 10}}
    content["fees"] = [{"key": "gebuehr", "label": {"de": "Gebühr", "en": "Fee"}, "amount_cents": 2500}]
    return release_and_adopt(content, city_a)


def go(page: Any, locator: Any) -> None:
    """Click a link or button and wait for the page it leads to."""
    assert locator.count() >= 1, f"nothing to click on {page.url}"
    with page.expect_navigation():
        locator.first.click()


def check(page: Any, browser: Any, base_url: str, viewport: dict[str, int], name: str) -> None:
    """No horizontal overflow, no serious axe finding, a screenshot; in a JavaScript twin if needed."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{viewport['width']}-{name}.png"), full_page=True)
    context = browser.new_context(base_url=base_url, locale="de-DE", viewport=viewport)
    try:
        context.set_default_timeout(15_000)
        context.add_cookies(page.context.cookies())
        twin = context.new_page()
        response = twin.goto(page.url)
        assert response is not None and response.status == 200, page.url
        overflow = twin.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} is {overflow} px wider than the {viewport['width']} px viewport"
        assert_accessible(twin)
    finally:
        context.close()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_citizen_clicks_from_the_landing_page_to_my_applications(
    device: str,
    new_page: Any,
    browser: Any,
    live_server: Any,
    portal_settings: LazySettings,
    service: Any,
    citizen: User,
    password: str,
) -> None:
    viewport = VIEWPORTS[device]
    javascript = device == "desktop"
    page = new_page(viewport=viewport, java_script_enabled=javascript)
    city = service.municipality

    # From the landing page over the member cities to Fulda's page, whose "Online-Dienste" open its portal
    page.goto("/")
    check(page, browser, live_server.url, viewport, "1-landing")
    go(page, page.locator("main a[href='/portal/']"))
    assert page.url.endswith("/portal/"), page.url
    check(page, browser, live_server.url, viewport, "2-portal-index")
    page.goto("/")
    go(page, page.locator("header a[href='/kommunen/']"))
    go(page, page.locator(f"main a[href='/kommunen/{city.slug}/']"))
    go(page, page.locator(f"main a[href='/portal/{city.slug}/']"))
    assert page.url.endswith(f"/portal/{city.slug}/"), page.url
    assert city.name in page.locator(".portal-city").inner_text()
    check(page, browser, live_server.url, viewport, "3-finder-anonymous")

    # Sign in with the citizen account from the portal and come back to it
    go(page, page.locator("main a[href^='/konto/anmelden/']"))
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(citizen.username)
    form.locator("input[name='password']").fill(password)
    go(page, form.locator("button[type='submit']"))
    assert page.url.endswith(f"/portal/{city.slug}/"), page.url
    assert page.locator("header a[href='/portal/antraege/']").count() == 1, "Meine Anträge in the header"

    # The service, its steps with the step indicator
    go(page, page.locator(f"main a[href='/portal/{city.slug}/dienst/{service.definition.slug}/']"))
    check(page, browser, live_server.url, viewport, "4-service")
    go(page, page.locator("main form[action$='/starten/'] button"))
    assert page.url.endswith("/schritt/1/"), page.url
    assert "Schritt 1 von 3" in page.locator(".portal-progress").inner_text()
    assert page.locator(".portal-progress [aria-current='step']").count() == 1
    check(page, browser, live_server.url, viewport, "5-step-1")
    page.fill("#id-f-name", "Erika Mustermann")
    page.fill("#id-f-email", "erika@example.org")
    page.fill("#id-f-plz", "36037")
    page.check("#id-f-hat_kinder-no")
    go(page, page.locator("button[name='action'][value='next']"))
    assert page.url.endswith("/schritt/3/"), page.url
    assert "Schritt 2 von 3" in page.locator(".portal-progress").inner_text()
    page.fill("#id-f-iban", "DE89370400440532013000")
    go(page, page.locator("button[name='action'][value='next']"))
    assert page.url.endswith("/zusammenfassung/"), page.url
    assert "Schritt 3 von 3" in page.locator(".portal-progress").inner_text()
    check(page, browser, live_server.url, viewport, "6-summary")

    # Payment: a readable reference, and afterwards: not yet submitted, back to the summary
    go(page, page.locator("button[name='action'][value='pay']"))
    assert re.search(r"ZA-\d{4}-\d{6}", page.locator("main").inner_text()), "a readable payment reference"
    check(page, browser, live_server.url, viewport, "7-payment")
    go(page, page.locator("main form[action*='/zahlung/'] button[type='submit']"))
    go(page, page.locator("main form:has(input[name='status'][value='paid']) button[type='submit']"))
    assert "noch nicht abgeschickt" in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "8-paid")
    go(page, page.locator("main a[href*='/zusammenfassung/']"))
    go(page, page.locator("button[name='action'][value='submit']"))
    assert page.url.endswith("/bestaetigung/"), page.url
    application = Application.objects.get(citizen=citizen)
    assert application.reference and application.reference in page.locator("main strong").inner_text()
    assert "Wie es weitergeht" in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "9-confirmation")

    # … and on to "Meine Anträge", where the application is listed
    go(page, page.locator("main a[href='/portal/antraege/']"))
    assert application.reference in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "10-my-applications")
    assert_no_csp_violations(page)
