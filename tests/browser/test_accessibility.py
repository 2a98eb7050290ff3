"""axe-core finds no serious or critical WCAG 2.1 A/AA violation on the public pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = pytest.mark.browser


def test_landing_page_is_accessible(page: Any) -> None:
    response = page.goto("/")

    assert response is not None and response.status == 200
    assert "dikom" in page.content()
    assert page.locator("html").get_attribute("lang") == "de", "German is the default language"
    assert_accessible(page)
    assert_no_csp_violations(page)


def test_login_page_is_accessible(page: Any) -> None:
    response = page.goto("/konto/anmelden/")

    assert response is not None and response.status == 200
    assert page.locator("input[name='username']").count() == 1
    assert page.locator("input[name='password']").count() == 1
    assert_accessible(page)
    assert_no_csp_violations(page)
