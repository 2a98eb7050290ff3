"""The one HTML-to-PDF renderer: only the platform's own static files, nothing from files, the network or data:."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.templatetags.static import static

from dikom.lib import pdf
from dikom.lib.tests import hostile
from dikom.lib.tests.hostile import SECRET, hostile_markup, pdf_text

loopback, secret_file = hostile.loopback, hostile.secret_file  # the fixtures

pytestmark = pytest.mark.django_db


def test_no_file_url_data_or_redirect_is_fetched(loopback: tuple[str, list[str]], secret_file: Path) -> None:
    base, hits = loopback
    rendered = pdf.render("<html><body>" + hostile_markup(base, secret_file) + "</body></html>")

    assert hits == []  # not one request reached the loopback server
    assert SECRET not in pdf_text(rendered.pdf)
    assert "Inhalt" in pdf_text(rendered.pdf)
    assert rendered.served == ()
    refused = set(rendered.refused)
    assert secret_file.as_uri() in refused and f"{base}/redirect" in refused and f"{base}/svg.png" in refused
    assert any(url.startswith("data:") for url in refused)


def test_the_platforms_own_static_files_still_load() -> None:
    css, logo = static("dikom/css/dikom.css"), static("dikom/img/dikom-mark.svg")
    rendered = pdf.render(f'<link rel="stylesheet" href="{css}"><p><img src="{logo}" width="40"></p>')
    assert rendered.served == (f"{pdf.INTERNAL_ORIGIN}{css}", f"{pdf.INTERNAL_ORIGIN}{logo}")
    assert rendered.refused == ()


@pytest.mark.parametrize(
    "url",
    [
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/dikom/..%2f..%2fsettings.py",
        "/static/dikom/css/dikom.css?x=1",
        "/static/",
        "/static//etc/passwd",
        "https://dikom.invalid.evil.example/static/dikom/css/dikom.css",
        "file:///static/dikom/css/dikom.css",
    ],
)
def test_paths_out_of_the_static_folders_are_refused(url: str) -> None:
    rendered = pdf.render(f'<link rel="stylesheet" href="{url}"><p>x</p>')
    assert rendered.served == ()


def test_resolving_stays_inside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "a.css").write_text("p{}")
    (tmp_path / "outside.txt").write_text(SECRET)
    (tmp_path / "inside" / "link.txt").symlink_to(tmp_path / "outside.txt")
    roots = (("", str(tmp_path / "inside")),)
    prefixes = ("https://dikom.invalid/static/",)
    assert pdf.resolve_static("https://dikom.invalid/static/a.css", prefixes, roots) == str(tmp_path / "inside/a.css")
    assert pdf.resolve_static("https://dikom.invalid/static/../outside.txt", prefixes, roots) is None
    assert pdf.resolve_static("https://dikom.invalid/static/link.txt", prefixes, roots) is None
    assert pdf.resolve_static("https://dikom.invalid/other/a.css", prefixes, roots) is None


def test_a_render_over_its_time_is_stopped_with_an_error() -> None:
    # A budget no real render fits in: the renderer process is killed and the caller gets an error, not a hang.
    with pytest.raises(pdf.PdfFailed, match="took longer"):
        pdf.render("<p>" + "Wort " * 20000 + "</p>", timeout=0.001)


def test_an_oversized_document_is_refused_before_rendering() -> None:
    with pytest.raises(pdf.PdfFailed, match="characters"):
        pdf.render("x" * (pdf.MAX_HTML_CHARS + 1))


def test_only_the_renderer_uses_weasyprint() -> None:
    # Every PDF, including later ones, goes through dikom.lib.pdf and its fetcher; nothing calls WeasyPrint itself.
    from django.conf import settings

    source = Path(settings.BASE_DIR) / "src" / "dikom"
    users = {
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if "tests" not in path.parts and re.search(r"^\s*(from|import) weasyprint", path.read_text(), re.MULTILINE)
    }
    assert users <= {"lib/pdf.py", "lib/pdf_preload.py"}, users
