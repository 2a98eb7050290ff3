"""Marburg's demo caseworker, as a new user meets the demo: from ``/`` by clicking to the sign-in,
the inbox, an open Marburg case, and the decision — on a desktop (1280 px) and a phone (390 px).

The demo is loaded with its own loaders (cooperation, services, applications, worked cases),
as ``make setup`` does. Screenshots of the case page and the decided case go to /tmp.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from dikom.cases.demo import load_demo_cases
from dikom.cases.models import Case
from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.portal.demo import load_demo_applications
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-Passwort-123"
#: Screenshots to look at (the temporary directory, /tmp on Debian).
SHOTS = Path(tempfile.gettempdir())


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    if width > viewport:
        # Name the widest elements outside a scrollable wrapper, so a failure says what to fix.
        culprits = page.evaluate(
            """(limit) => [...document.querySelectorAll('body, body *')]
                .filter(e => e.scrollWidth > limit + 1 && getComputedStyle(e).overflowX === 'visible')
                .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.scrollWidth + '/' + e.clientWidth)""",
            viewport,
        )
        raise AssertionError(f"{page.url} is {width}px wide in a {viewport}px window: {culprits}")


@pytest.mark.parametrize("width", [1280, 390])
def test_marburgs_demo_caseworker_decides_a_case_by_clicking(
    new_page: Any, browser_settings: LazySettings, tmp_path: Any, width: int
) -> None:
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # as in the demo set-up
    browser_settings.MEDIA_ROOT = str(tmp_path / "media")
    load_demo_cooperation(password=PASSWORD)
    load_demo_services()
    load_demo_applications()
    load_demo_cases()
    open_case = Case.objects.get(municipality__slug="marburg", status="open")

    page = new_page(viewport={"width": width, "height": 900})
    # From the landing page to the sign-in, by clicking
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^(Anmelden|Log in)$")).first.click()
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill("marburg-caseworker")
    form.locator("input[name='password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type='submit']").first.click()
    assert page.url.endswith("/start/"), f"landed on {page.url}"

    # To the inbox: Marburg's open case is a task of the caseworker's unit
    page.get_by_role("link", name=re.compile(r"^(Vorgänge|Cases)$")).first.click()
    page.wait_for_url(re.compile(r"/vorgaenge/marburg/"))
    page.get_by_role("link", name=re.compile(r"^(Aufgaben meiner Organisationseinheit|Tasks of my unit)")).click()
    page.wait_for_url(re.compile(r"tab=unit"))
    _no_horizontal_overflow(page)
    page.get_by_role("link", name=open_case.reference).first.click()
    page.wait_for_url(re.compile(str(open_case.uuid)))

    # The case page: the application data first, the decision beside (desktop) or below (phone)
    assert page.locator("#data").is_visible()
    data_box = page.locator("#data").bounding_box()
    decision_box = page.locator("#decision").bounding_box()
    if width >= 1024:
        assert decision_box["x"] > data_box["x"] + data_box["width"] / 2, "the decision is not beside the data"
        assert decision_box["y"] < 2000, "the decision is far down the page"
    else:
        assert decision_box["y"] > data_box["y"], "on a phone the actions follow the data"
    _no_horizontal_overflow(page)
    assert_accessible(page)
    page.screenshot(path=str(SHOTS / f"casework-case-{width}.png"), full_page=True)

    # The decision
    page.locator("input[name='decision-outcome'][value='approved']").check()
    page.locator("textarea[name='decision-reasons']").fill("Alle Voraussetzungen liegen vor.")
    with page.expect_navigation():
        page.locator("form[action$='/entscheidung/'] button[type='submit']").click()
    body = page.locator("body").inner_text()
    assert "Entscheidung gespeichert" in body or "Decision recorded" in body
    open_case.refresh_from_db()
    assert (open_case.status, open_case.outcome, open_case.decided_by.username) == (
        "decided",
        "approved",
        "marburg-caseworker",
    )
    # and the case can be closed by the same caseworker
    assert page.locator("form[action$='/abschluss/'] button[type='submit']").is_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / f"casework-decided-{width}.png"), full_page=True)
    assert_no_csp_violations(page)
