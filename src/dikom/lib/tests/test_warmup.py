"""The web process's warm-up: every view imported, every template compiled, all of it frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.template import engines

from dikom.lib import warmup


@pytest.fixture
def unfreeze_after() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_every_template_compiles_on_its_own() -> None:
    loaded, failed = warmup.load_templates()
    assert failed == 0
    # the project's own templates are among them (a page, a mail text, the admin overrides)
    assert loaded > 300
    backend = engines["django"]
    for name in ("web/base.html", "portal/service.html", "admin/base_site.html"):
        assert backend.get_template(name) is not None


def test_warm_up_imports_views_and_freezes(unfreeze_after: None) -> None:
    gc.unfreeze()
    before = gc.get_freeze_count()
    assert before == 0
    result = warmup.warm_up_and_freeze(templates=False)
    assert result.url_patterns > 100
    assert result.templates == 0
    assert result.frozen_objects == gc.get_freeze_count() > 0


def test_template_names_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "page.html").write_text("x")
    (tmp_path / "a" / "mail.txt").write_text("x")
    (tmp_path / "a" / "image.png").write_bytes(b"\x89PNG")
    assert warmup._template_names(tmp_path) == ["a/mail.txt", "a/page.html"]
