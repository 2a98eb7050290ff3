from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.browser.support import log_in


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The tree list keeps its map overview a minute in the cache; no test sees another test's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def open_page(browser: Any, live_server: Any, settings: Any, tmp_path: Any, password: str) -> Iterator[Callable]:
    """For the browser tests: ``open_page(viewport, javascript=True, user=None)`` opens a page on the live
    server in a fresh German browser context, which collects what the CSP blocked (``page.csp_violations``,
    for ``assert_no_csp_violations``); with ``user`` that person logs in through the form first. Staff need
    no second factor (as in the demo); uploads are stored in the test's temporary folder."""
    settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    settings.MEDIA_ROOT = str(tmp_path)
    contexts = []

    def make(viewport: dict[str, int], javascript: bool = True, user: str | None = None) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            locale="de-DE",
            viewport=viewport,
            java_script_enabled=javascript,
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_violations = []

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                page.csp_violations.append(message.text)

        page.on("console", on_console)
        if user is not None:
            log_in(page, user, password)
        return page

    yield make
    for context in contexts:
        context.close()
