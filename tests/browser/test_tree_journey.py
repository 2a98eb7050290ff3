"""A citizen walks the smart-city app: from ``/`` to the city's street trees, adopts a tree and logs a
watering — on a phone (390 px, without JavaScript) and on a desktop (1280 px, with JavaScript).

On every page: no horizontal scrolling and no serious or critical axe-core finding (checked in a twin page
with JavaScript where the journey runs without). Screenshots go to ``dikom-tree-journey/`` in /tmp.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dikom.accounts.models import User
from dikom.municipalities.models import Municipality
from dikom.smartcity.models import Adoption, Watering
from dikom.smartcity.tests.factories import make_tree, probe_thing
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(tempfile.gettempdir()) / "dikom-tree-journey"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def go(page: Any, locator: Any) -> None:
    assert locator.count() >= 1, f"nothing to click on {page.url}"
    with page.expect_navigation():
        locator.first.click()


def check(page: Any, browser: Any, base_url: str, viewport: dict[str, int], name: str) -> None:
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
        wide = twin.evaluate(
            "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > "
            "window.innerWidth).map(e => e.tagName + '.' + e.className).slice(0, 8)"
        )
        assert overflow <= 0, f"{page.url} is {overflow} px wider than the {viewport['width']} px viewport: {wide}"
        assert_accessible(twin)
    finally:
        context.close()


@pytest.fixture
def trees(city_a: Municipality) -> list[Any]:
    now = timezone.now()
    thing = probe_thing(city_a, [(now - dt.timedelta(hours=h), 95.0 - h) for h in range(0, 48, 6)])
    dry = make_tree(city_a, "S-001", species="Winterlinde", street="Lindenallee", sensor_thing_id=thing)
    others = [
        make_tree(
            city_a, f"B-{n:04d}", species=s, longitude=9.67 + n / 1000, latitude=50.55 + n / 2000, planting_year=y
        )
        for n, (s, y) in enumerate([("Spitzahorn", 1970), ("Platane", 2022), ("Stieleiche", 1990)], start=1)
    ]
    return [dry, *others]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_citizen_adopts_and_waters_a_tree(
    device: str, new_page: Any, browser: Any, live_server: Any, trees: list[Any], citizen: User, password: str
) -> None:
    viewport = VIEWPORTS[device]
    page = new_page(viewport=viewport, java_script_enabled=device == "desktop")
    tree = trees[0]

    # From the landing page to the smart-city overview, and from Fulda's city page to its app
    page.goto("/")
    check(page, browser, live_server.url, viewport, "1-landing")
    go(page, page.locator("main a[href='/stadt/']"))
    check(page, browser, live_server.url, viewport, "2-cities")
    page.goto("/kommunen/fulda/")
    go(page, page.locator("main a[href='/stadt/fulda/']"))
    assert "Smart City Fulda" in page.locator("h1").inner_text()
    check(page, browser, live_server.url, viewport, "3-city")

    # The tree list: the dry tree with a probe comes first, with its need in words
    go(page, page.locator("main a[href='/stadt/fulda/baeume/']").last)
    first = page.locator(".tree-list__item").first
    assert "Winterlinde S-001" in first.inner_text() and "braucht jetzt Wasser" in first.inner_text()
    check(page, browser, live_server.url, viewport, "4-trees")
    go(page, first.locator("a"))
    assert "Saugspannung 30 cm" in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "5-tree-anonymous")

    # Sign in from the tree page and come back to it
    go(page, page.locator("main a[href^='/konto/anmelden/']"))
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(citizen.username)
    form.locator("input[name='password']").fill(password)
    go(page, form.locator("button[type='submit']"))
    assert page.url.endswith(f"/stadt/fulda/baeume/{tree.uuid}/"), page.url

    # Adopt the tree
    go(page, page.get_by_role("button", name="Baum adoptieren"))
    assert "Sie sind jetzt Patin oder Pate" in page.locator("main").inner_text()
    assert Adoption.objects.filter(tree=tree, user=citizen).exists()
    check(page, browser, live_server.url, viewport, "6-adopted")

    # Log a watering of 30 litres (time: the form's default, now)
    page.get_by_label("Liter").fill("30")
    go(page, page.get_by_role("button", name="Gießen eintragen"))
    assert "Ihr Gießen wurde eingetragen" in page.locator("main").inner_text()
    assert list(Watering.objects.filter(tree=tree).values_list("litres", flat=True)) == [30]
    assert "30 Liter" in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "7-watered")

    # The public log lists the watering without the person; "my trees" lists the tree
    go(page, page.locator("main a[href='/stadt/fulda/giessprotokoll/']"))
    assert "Winterlinde S-001" in page.locator("main").inner_text()
    assert citizen.username not in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "8-log")
    go(page, page.locator("main a[href='/stadt/fulda/meine-baeume/']"))
    assert "Winterlinde S-001" in page.locator("main").inner_text()
    check(page, browser, live_server.url, viewport, "9-my-trees")
    assert_no_csp_violations(page)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_sites_bins_and_staff_pages_fit_and_pass_axe(
    device: str,
    new_page: Any,
    browser: Any,
    live_server: Any,
    browser_settings: Any,
    trees: list[Any],
    city_a: Municipality,
    password: str,
) -> None:
    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory
    from dikom.smartcity.models import ConstructionSite
    from dikom.smartcity.tests.factories import bin_with_reading
    from tests.browser.support import log_in

    today = timezone.localdate()
    ConstructionSite.objects.create(
        municipality=city_a,
        title="Kanalerneuerung mit einem sehr langen Titel für schmale Bildschirme",
        street="Bahnhofstraße",
        restriction="Vollsperrung zwischen Nr. 10 und 24",
        detour="Umleitung über die Ringstraße und den Heinrich-von-Bibra-Platz",
        starts_on=today,
        ends_on=today + dt.timedelta(days=20),
        longitude=9.68,
        latitude=50.55,
    )
    bin_with_reading(city_a, 15, "cm")
    bin_with_reading(city_a, 40, "%")
    viewport = VIEWPORTS[device]
    page = new_page(viewport=viewport, java_script_enabled=device == "desktop")
    for name, path in (("sites", "/stadt/fulda/baustellen/"), ("bins", "/stadt/fulda/abfallbehaelter/")):
        page.goto(path)
        check(page, browser, live_server.url, viewport, f"10-{name}")
    assert "88 %" in page.locator("main").inner_text()  # (120 − 15) / 120
    publisher = MembershipFactory(municipality=city_a, role=Role.DATA_PUBLISHER).user
    publisher.set_password(password)
    publisher.save()
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    log_in(page, publisher.username, password)
    for name, path in (("site-form", "/stadt/fulda/baustellen/neu/"), ("publication", "/stadt/fulda/sensordaten/")):
        page.goto(path)
        assert page.url.endswith(path), page.url
        check(page, browser, live_server.url, viewport, f"11-{name}")
