from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The tree list keeps its map overview a minute in the cache; no test sees another test's."""
    cache.clear()
    yield
    cache.clear()
