"""A caseworker and a citizen log in through the real form and reach their start page."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from dikom.accounts.models import User
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = pytest.mark.browser


def test_caseworker_of_fulda_logs_in_and_sees_an_accessible_staff_page(
    page: Any, browser_settings: LazySettings, colleague: User, password: str
) -> None:
    # Given a caseworker of Fulda, and 2FA enforcement relaxed as in the demo set-up
    # (the 2FA journey itself is tested through HTTP in the accounts app)
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False

    # When they log in through the form
    log_in(page, colleague.username, password)

    # Then they land on their start page, which shows their city and passes axe
    assert page.url.endswith("/start/"), f"landed on {page.url}"
    assert "Fulda" in page.locator("body").inner_text()
    assert_accessible(page)
    assert_no_csp_violations(page)


def test_citizen_logs_in_without_second_factor(page: Any, citizen: User, password: str) -> None:
    # Given a citizen (no role in any municipality) and 2FA enforced for staff (the CI default)
    # When they log in through the form
    log_in(page, citizen.username, password)

    # Then they reach the start page without being asked for a second factor
    assert page.url.endswith("/start/"), f"landed on {page.url}"
    assert page.locator("main").is_visible()
    assert_no_csp_violations(page)
