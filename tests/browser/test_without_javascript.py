"""The landing page works without JavaScript, and keyboard users can skip to the content."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_landing_page_without_javascript_has_skip_link_first(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)

    response = page.goto("/")

    assert response is not None and response.status == 200
    assert page.locator("main#main").is_visible()
    assert page.locator("h1").first.is_visible()
    assert page.locator("a[href='/konto/anmelden/']").count() >= 1, "no link to the login page"

    # The first Tab from the top of the page lands on the skip link to the main content
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert focused.count() == 1, "Tab focused nothing"
    assert focused.get_attribute("href") == "#main"
    assert focused.is_visible(), "the skip link must become visible when focused"
