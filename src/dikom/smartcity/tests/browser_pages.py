"""What this folder's browser tests share: the two viewports and the check that a page fits the screen.

The pages themselves come from the ``open_page`` fixture (``conftest.py``)."""

from __future__ import annotations

from typing import Any

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def assert_fits_width(page: Any) -> None:
    """The page does not scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url
