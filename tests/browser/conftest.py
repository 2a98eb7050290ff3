"""Browser tests: Playwright (Python, sync API) driving Debian's chromium.

Never downloads a browser (no ``playwright install``): the tests launch
``/usr/bin/chromium`` from Debian's ``chromium`` package and skip with a reason
when it is missing, or fail when ``DIKOM_REQUIRE_SERVICES=1`` (CI).

Every page is served by pytest-django's ``live_server`` (a real HTTP server in
a thread of this process, on a transactional test database), in German
(``de-DE``, as the platform's default language).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser_settings(settings: LazySettings) -> LazySettings:
    """Settings of the live server the browser talks to (tests adjust them, e.g. 2FA)."""
    return settings


@pytest.fixture
def new_page(
    browser: Any, live_server: Any, browser_settings: LazySettings, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A factory for pages in fresh browser contexts (no cookies shared between tests).

    Collects Content-Security-Policy violations reported on the console (see
    ``assert_no_csp_violations``) and saves a screenshot of every page to
    ``test-results/`` when the test fails.
    """
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(**context_options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, locale="de-DE", **context_options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_violations = []  # type: ignore[attr-defined]

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                page.csp_violations.append(message.text)

        page.on("console", on_console)
        pages.append(page)
        return page

    yield make

    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        results = Path(request.config.rootpath) / "test-results"
        results.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for number, page in enumerate(pages):
            target = results / f"{name}-{number}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
                print(f"screenshot of {page.url}: {target}")
            except Exception as exc:  # a screenshot must never hide the real failure
                print(f"no screenshot of page {number}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    """One page with JavaScript on, in German."""
    return new_page()
