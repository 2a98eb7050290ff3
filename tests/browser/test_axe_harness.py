"""The axe-core harness itself: it must find violations where there are some, or a green run means nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import assert_accessible, run_axe

pytestmark = pytest.mark.browser


def test_axe_reports_a_known_violation(page: Any) -> None:
    page.set_content('<!DOCTYPE html><html lang="de"><title>x</title><main><img src="data:,"></main></html>')

    violations = run_axe(page)

    assert "image-alt" in {violation["id"] for violation in violations}
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
