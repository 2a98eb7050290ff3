"""The main journey in a real browser with JavaScript switched off, and axe-core on a step page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from dikom.portal.tests.conftest import VALID_IBAN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[4]


def test_journey_without_javascript_and_accessible_step(browser: Any, live_server: Any, adoption: Any) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.browser.support import assert_accessible

    context = browser.new_context(base_url=live_server.url, locale="de-DE", java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"/portal/{adoption.municipality.slug}/")
        page.get_by_role("link", name="Familienzuschuss").click()
        page.locator("form[action$='/starten/'] button").click()
        page.fill("#id-f-name", "Erika Muster")
        page.fill("#id-f-email", "nicht-gueltig")
        page.fill("#id-f-plz", "36037")
        page.check("#id-f-hat_kinder-yes")
        page.locator("button[value=next]").click()
        assert page.locator("#error-summary").is_visible()
        with_js = browser.new_context(base_url=live_server.url, locale="de-DE")
        try:  # axe needs JavaScript in its own context; same page state via the same session cookie
            with_js.add_cookies(context.cookies())
            checked = with_js.new_page()
            checked.goto(page.url)
            assert_accessible(checked)
        finally:
            with_js.close()
        page.fill("#id-f-email", "erika@example.org")
        page.locator("button[value=next]").click()
        page.locator("button[value='add:liste']").click()
        page.fill("#id-f-liste-0-vorname", "Ben")
        page.locator("button[value=next]").click()
        page.fill("#id-f-iban", VALID_IBAN)
        page.locator("button[value=next]").click()
        assert "Ben" in page.content()
        page.locator("button[value=submit]").click()
        assert "/bestaetigung/" in page.url
        assert page.locator("strong").filter(has_text="FU-").count() == 1
    finally:
        context.close()
